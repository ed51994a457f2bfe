namespace NerService.Api.Documents;

/// <summary>
/// Checks on what is about to be stored. Each method returns the first problem as a sentence a client can act
/// on, or null when there is none.
/// </summary>
public static class DocumentValidation
{
    /// <summary>Idempotency keys longer than this are refused: a key names a request, it does not carry data.</summary>
    public const int MaxIdempotencyKeyLength = 200;

    /// <summary>
    /// PostgreSQL text cannot hold U+0000. Storing such a text would need a lossy replacement that breaks the
    /// entity offsets or the promise that the stored text is the text sent, so a document containing NUL is
    /// refused (400) when it is to be stored; tagging it without storing still works.
    /// </summary>
    public static string? FindNulProblem(string value, string field) =>
        value.Contains('\0') ? $"The {field} contains a NUL character (U+0000), which cannot be stored; send it with \"store\": false or remove the character." : null;

    /// <summary>Most entities one correction may list (a document's text would allow as many as it has characters).</summary>
    public const int MaxCorrectedEntities = 10_000;

    /// <summary>
    /// A lone surrogate (half of a pair) has no UTF-8 encoding, so PostgreSQL could not store the text.
    /// The tagging endpoints' JSON reader already replaces them; this guards every other way in.
    /// </summary>
    public static string? FindLoneSurrogateProblem(string value, string field)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
                i++;
            else if (char.IsSurrogate(value[i]))
                return $"The {field} contains a lone surrogate (U+{(int)value[i]:X4}) at offset {i}, which is not valid Unicode text.";
        }
        return null;
    }

    /// <summary>Problems of a document from the tagger: NUL characters, spans that do not fit the text.</summary>
    public static string? FindProblem(NewDocument document)
    {
        return FindNulProblem(document.Text, "text")
            ?? FindLoneSurrogateProblem(document.Text, "text")
            ?? FindNulProblem(document.ModelName, "model name")
            ?? FindNulProblem(document.ModelVersion, "model version")
            ?? FindIdempotencyKeyProblem(document.IdempotencyKey)
            ?? FindSpanProblem(document.Text, document.Entities.Select(e => new DocumentEntity(e.Label, e.Start, e.End, e.Text, e.Score)).ToList(), knownLabels: null);
    }

    public static string? FindIdempotencyKeyProblem(string? key) => key switch
    {
        null => null,
        { Length: 0 } => "The idempotency key is empty.",
        { Length: > MaxIdempotencyKeyLength } => $"The idempotency key is longer than {MaxIdempotencyKeyLength} characters.",
        _ => FindNulProblem(key, "idempotency key"),
    };

    /// <summary>
    /// Problems of a set of entities for a text: a span outside the text or empty, a label not in
    /// <paramref name="knownLabels"/> (when given), an entity text other than the span's substring, overlaps.
    /// </summary>
    public static string? FindSpanProblem(string text, IReadOnlyList<DocumentEntity> entities, IReadOnlySet<string>? knownLabels)
    {
        for (var i = 0; i < entities.Count; i++)
        {
            var entity = entities[i];
            if (string.IsNullOrEmpty(entity.Label))
                return $"entities[{i}]: the label is missing.";
            if (knownLabels is not null && !knownLabels.Contains(entity.Label))
                return $"entities[{i}]: unknown label '{entity.Label}'; known labels: {string.Join(", ", knownLabels.Order(StringComparer.Ordinal))}.";
            if (entity.Label.Contains('\0'))
                return $"entities[{i}]: the label contains a NUL character.";
            if (entity.Start < 0 || entity.End > text.Length || entity.Start >= entity.End)
                return $"entities[{i}]: span {entity.Start}..{entity.End} is not a non-empty range inside the text (length {text.Length}).";
            // Offsets count UTF-16 code units; a boundary between the two halves of a pair would cut a character in two.
            if (SplitsSurrogatePair(text, entity.Start) || SplitsSurrogatePair(text, entity.End))
                return $"entities[{i}]: span {entity.Start}..{entity.End} splits a character made of two UTF-16 code units (a surrogate pair, such as an emoji); offsets count UTF-16 code units.";
            if (string.CompareOrdinal(text, entity.Start, entity.Text, 0, Math.Max(entity.Text.Length, entity.End - entity.Start)) != 0
                || entity.Text.Length != entity.End - entity.Start)
                return $"entities[{i}]: text '{entity.Text}' is not the text at {entity.Start}..{entity.End} ('{text[entity.Start..entity.End]}').";
        }
        var byStart = Enumerable.Range(0, entities.Count).OrderBy(i => entities[i].Start).ToList();
        for (var k = 1; k < byStart.Count; k++)
        {
            var previous = entities[byStart[k - 1]];
            var current = entities[byStart[k]];
            if (current.Start < previous.End)
                return $"entities[{byStart[k]}] ({current.Start}..{current.End}) overlaps entities[{byStart[k - 1]}] ({previous.Start}..{previous.End}).";
        }
        return null;
    }

    private static bool SplitsSurrogatePair(string text, int offset) =>
        offset > 0 && offset < text.Length && char.IsHighSurrogate(text[offset - 1]) && char.IsLowSurrogate(text[offset]);
}
