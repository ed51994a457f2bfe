using System.Text;
using NerService.Model.Text;

namespace NerService.Model.Corpus;

/// <summary>
/// CoNLL documents written back as the running text a user would send the service (no space before closing
/// punctuation or after opening brackets, quotes paired), and that text cut again the way the service cuts it.
/// </summary>
public static class RunningText
{
    // Case-insensitive, so that a re-cased document ("'S", "N'T", "us$") is written back with the same spacing.
    private static readonly HashSet<string> NoSpaceBefore = new([",", ".", ":", ";", "!", "?", ")", "]", "}", "%", "'s", "n't", "'re", "'ve", "'ll", "'d", "'m", "..."], StringComparer.OrdinalIgnoreCase);
    private static readonly HashSet<string> NoSpaceAfter = new(["(", "[", "{", "$", "US$"], StringComparer.OrdinalIgnoreCase);

    /// <summary>The document as text, sentences joined by <paramref name="separator"/>, and each token's character span.</summary>
    public static (string Text, List<(int Start, int End)[]> Offsets) Detokenize(IReadOnlyList<ConllSentence> document, string separator)
    {
        var text = new StringBuilder();
        var offsets = new List<(int, int)[]>();
        foreach (var sentence in document)
        {
            if (text.Length > 0)
                text.Append(separator);
            var spans = new (int, int)[sentence.Tokens.Count];
            var quoteOpen = false;
            var glueNext = true;
            for (var t = 0; t < sentence.Tokens.Count; t++)
            {
                var token = sentence.Tokens[t];
                var glue = glueNext || NoSpaceBefore.Contains(token) || (token == "\"" && quoteOpen);
                if (!glue)
                    text.Append(' ');
                spans[t] = (text.Length, text.Length + token.Length);
                text.Append(token);
                glueNext = NoSpaceAfter.Contains(token) || (token == "\"" && !quoteOpen);
                if (token == "\"")
                    quoteOpen = !quoteOpen;
            }
            offsets.Add(spans);
        }
        return (text.ToString(), offsets);
    }

    /// <summary>
    /// The document written as running text and cut into sentences and tokens by the service's tokenizer, each
    /// token tagged from the gold entities it overlaps: what the model is given when a user sends this document.
    /// Headlines, bylines and datelines without closing punctuation run into the next sentence.
    /// </summary>
    public static IReadOnlyList<ConllSentence> AsTheServiceSplitsIt(IReadOnlyList<ConllSentence> document, string separator, TaggingScheme scheme)
    {
        var (text, offsets) = Detokenize(document, separator);
        var entities = new List<(string Label, int Start, int End)>();
        for (var s = 0; s < document.Count; s++)
        {
            foreach (var span in TagSequence.Spans(document[s].Tags, scheme))
                entities.Add((span.Label, offsets[s][span.Start].Start, offsets[s][span.End - 1].End));
        }
        var result = new List<ConllSentence>();
        foreach (var sentence in NerTokenizer.Default.SplitSentences(text))
        {
            var tokens = sentence.Select(t => (t.Start, End: t.Start + t.Length)).ToArray();
            result.Add(new ConllSentence(sentence.Select(t => t.Text).ToArray(), TagsFromSpans(tokens, entities, scheme)));
        }
        return result;
    }

    /// <summary>Tags for tokens at the given character spans: each entity covers the tokens it overlaps; the first of two overlapping entities wins.</summary>
    public static string[] TagsFromSpans((int Start, int End)[] tokens, IEnumerable<(string Label, int Start, int End)> entities, TaggingScheme scheme)
    {
        var spans = new List<LabeledSpan>();
        foreach (var (label, start, end) in entities.OrderBy(e => e.Start))
        {
            var first = Array.FindIndex(tokens, t => t.End > start && t.Start < end);
            if (first < 0)
                continue;
            var last = Array.FindLastIndex(tokens, t => t.End > start && t.Start < end);
            if (spans.Count > 0 && spans[^1].End > first)
                continue;
            spans.Add(new LabeledSpan(label, first, last + 1));
        }
        return TagSequence.ToTags(spans, tokens.Length, scheme);
    }
}
