namespace NerService.Model.Corpus;

/// <summary>How a text's letters are cased: as written, or normalised the way chat, queries, transcripts and headlines often are.</summary>
public enum TextCasing
{
    Original,
    Lower,
    Upper,
    Title,
}

/// <summary>
/// Re-cases tokens without moving anything: every mapping is the invariant culture's one-to-one mapping of UTF-16
/// code units, so a token keeps its length and every character offset stays valid. Gold tags never change.
/// </summary>
public static class Recasing
{
    /// <summary>The casings a model is measured on, in the order reports list them.</summary>
    public static IReadOnlyList<TextCasing> All { get; } = [TextCasing.Original, TextCasing.Lower, TextCasing.Upper, TextCasing.Title];

    public static string Apply(string token, TextCasing casing) => casing switch
    {
        TextCasing.Original => token,
        TextCasing.Lower => token.ToLowerInvariant(),
        TextCasing.Upper => token.ToUpperInvariant(),
        TextCasing.Title => Title(token),
        _ => throw new ArgumentOutOfRangeException(nameof(casing), casing, null),
    };

    public static ConllSentence Apply(ConllSentence sentence, TextCasing casing) =>
        casing == TextCasing.Original ? sentence : sentence with { Tokens = [.. sentence.Tokens.Select(t => Apply(t, casing))] };

    public static IReadOnlyList<ConllSentence> Apply(IReadOnlyList<ConllSentence> sentences, TextCasing casing) =>
        casing == TextCasing.Original ? sentences : [.. sentences.Select(s => Apply(s, casing))];

    // "Every Word Capitalised": a token's first character upper when it is a letter, the rest lower
    // ("McDonald" -> "Mcdonald", "U.S." -> "U.s.", "'s" unchanged), as naive title-casing of headlines does.
    private static string Title(string token) =>
        string.Create(token.Length, token, static (span, source) =>
        {
            source.AsSpan().ToLowerInvariant(span);
            if (span.Length > 0 && char.IsLetter(span[0]))
                span[0] = char.ToUpperInvariant(span[0]);
        });
}
