using System.Buffers.Binary;
using System.Buffers.Text;

namespace NerService.Api.Documents;

/// <summary>
/// Where a page ended: the (created_at, id) of its last document, in the order pages are read. Opaque to
/// clients (base64url of 16 bytes) so that the encoding can change without breaking their code.
/// PostgreSQL keeps microseconds, which is what the cursor holds, so it compares exactly.
/// </summary>
public readonly record struct DocumentCursor(DateTime CreatedAtUtc, long Id)
{
    public string Encode()
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteInt64BigEndian(bytes, (CreatedAtUtc.Ticks - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerMicrosecond);
        BinaryPrimitives.WriteInt64BigEndian(bytes[8..], Id);
        return Base64Url.EncodeToString(bytes);
    }

    public static bool TryDecode(string value, out DocumentCursor cursor)
    {
        cursor = default;
        Span<byte> bytes = stackalloc byte[18];
        if (value.Length != 22 || !Base64Url.TryDecodeFromChars(value, bytes, out var written) || written != 16)
            return false;
        var microseconds = BinaryPrimitives.ReadInt64BigEndian(bytes);
        if (microseconds < 0 || microseconds > (DateTime.MaxValue.Ticks - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerMicrosecond)
            return false;
        cursor = new DocumentCursor(new DateTime(DateTime.UnixEpoch.Ticks + microseconds * TimeSpan.TicksPerMicrosecond, DateTimeKind.Utc), BinaryPrimitives.ReadInt64BigEndian(bytes[8..]));
        return true;
    }
}

/// <summary>
/// Where a page in least-confident order ended: the (lowest_entity_score, id) of its last document, ascending.
/// Opaque like <see cref="DocumentCursor"/> but 12 bytes (16 characters), so neither order's cursor decodes as
/// the other's. The score is the float's exact bits (+Infinity included), so it compares exactly with the column.
/// </summary>
public readonly record struct ConfidenceCursor(float LowestEntityScore, long Id)
{
    public string Encode()
    {
        Span<byte> bytes = stackalloc byte[12];
        BinaryPrimitives.WriteSingleBigEndian(bytes, LowestEntityScore);
        BinaryPrimitives.WriteInt64BigEndian(bytes[4..], Id);
        return Base64Url.EncodeToString(bytes);
    }

    public static bool TryDecode(string value, out ConfidenceCursor cursor)
    {
        cursor = default;
        Span<byte> bytes = stackalloc byte[14];
        if (value.Length != 16 || !Base64Url.TryDecodeFromChars(value, bytes, out var written) || written != 12)
            return false;
        var score = BinaryPrimitives.ReadSingleBigEndian(bytes);
        if (float.IsNaN(score))
            return false;
        cursor = new ConfidenceCursor(score, BinaryPrimitives.ReadInt64BigEndian(bytes[4..]));
        return true;
    }
}
