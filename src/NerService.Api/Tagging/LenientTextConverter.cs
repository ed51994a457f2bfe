using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace NerService.Api.Tagging;

/// <summary>
/// Reads a JSON string that may escape lone surrogates (<c>"\ud800"</c>, which Python's json module writes for
/// such strings). System.Text.Json refuses those; here each lone surrogate becomes U+FFFD instead. One UTF-16
/// unit replaces one, so every offset the service returns still indexes the caller's own string.
/// Invalid UTF-8 is still an error.
/// </summary>
internal sealed class LenientTextConverter : JsonConverter<string>
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public override bool HandleNull => false;

    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
            throw new JsonException($"The JSON value could not be converted to {typeof(string)}.");
        var raw = reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan;
        try
        {
            return ReplaceLoneSurrogates(reader.ValueIsEscaped ? Unescape(raw) : StrictUtf8.GetString(raw));
        }
        catch (DecoderFallbackException)
        {
            throw new JsonException("The string is not valid UTF-8.");
        }
    }

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);

    private static string Unescape(ReadOnlySpan<byte> raw)
    {
        var text = new StringBuilder(raw.Length);
        var i = 0;
        while (i < raw.Length)
        {
            var backslash = raw[i..].IndexOf((byte)'\\');
            if (backslash < 0)
            {
                text.Append(StrictUtf8.GetString(raw[i..]));
                break;
            }
            text.Append(StrictUtf8.GetString(raw.Slice(i, backslash)));
            i += backslash + 1;
            // The reader has already checked the escapes' syntax, so only their meaning is needed here.
            switch ((char)raw[i])
            {
                case 'u':
                    text.Append((char)int.Parse(Encoding.ASCII.GetString(raw.Slice(i + 1, 4)), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    i += 5;
                    continue;
                case 'b': text.Append('\b'); break;
                case 'f': text.Append('\f'); break;
                case 'n': text.Append('\n'); break;
                case 'r': text.Append('\r'); break;
                case 't': text.Append('\t'); break;
                default: text.Append((char)raw[i]); break;
            }
            i++;
        }
        return text.ToString();
    }

    private static string ReplaceLoneSurrogates(string text)
    {
        char[]? repaired = null;
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
                continue;
            }
            if (char.IsSurrogate(text[i]))
            {
                repaired ??= text.ToCharArray();
                repaired[i] = '\uFFFD';
            }
        }
        return repaired is null ? text : new string(repaired);
    }
}
