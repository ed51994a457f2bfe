namespace NerService.Model.Decoding;

/// <summary>
/// Makes one text's entities agree with each other: a name the model tags with high confidence somewhere in a text
/// decides the other mentions of the same string in that text ("Smith" after "John Smith", a team in every row of a
/// results table), which a sentence-level tagger sees one sentence at a time.
/// </summary>
/// <remarks>
/// Two rules, applied to the decoded paths of a text's sentences:
/// <list type="number">
/// <item>A surface form (the exact tokens, ordinal comparison) whose confident mentions all carry one label gives
/// that label to its other, less confident mentions (the span stays, the label changes).</item>
/// <item>Runs of outside tokens that spell such a form are tagged with its label; a confident person name also
/// lends its first and last words alone (unless they are another form's, or lowercase).</item>
/// </list>
/// Both only rewrite whole entities or whole runs of <c>O</c>, so a valid path stays valid in BIOES and IOB2.
/// </remarks>
public static class DocumentConsistency
{
    /// <summary>
    /// Rewrites <paramref name="paths"/> in place. <paramref name="logProbabilities"/> are the sentences' per-token
    /// scores (row-major [tokens, tags]); an entity is confident when every one of its tokens' chosen tags has at
    /// least <paramref name="minConfidence"/> probability.
    /// </summary>
    public static void Apply(IReadOnlyList<IReadOnlyList<string>> sentences, IReadOnlyList<int[]> paths,
        IReadOnlyList<float[]> logProbabilities, TagSet tags, double minConfidence = 0.9)
    {
        var logThreshold = Math.Log(minConfidence);
        var labels = new Dictionary<string, string?>(StringComparer.Ordinal);
        var personParts = new Dictionary<string, string>(StringComparer.Ordinal);
        var entities = new List<(int Sentence, TokenSpan Span, string Form)>();
        for (var s = 0; s < sentences.Count; s++)
        {
            foreach (var span in TagDecoder.Spans(paths[s], tags))
            {
                var form = Form(sentences[s], span.Start, span.End);
                entities.Add((s, span, form));
                if (!Confident(paths[s], logProbabilities[s], tags.Count, span, logThreshold))
                    continue;
                // A form confidently tagged with two labels is ambiguous (a country and its team): it decides nothing.
                labels[form] = labels.TryGetValue(form, out var known) && known != span.Label ? null : span.Label;
                if (span.Label == "PER" && span.End - span.Start > 1)
                {
                    foreach (var part in new[] { sentences[s][span.Start], sentences[s][span.End - 1] })
                    {
                        if (part.Length > 1 && char.IsLetter(part[0]) && !char.IsLower(part[0]))
                            personParts[part] = "PER";
                    }
                }
            }
        }
        foreach (var (part, label) in personParts)
            labels.TryAdd(part, label);
        var decided = labels.Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value!, StringComparer.Ordinal);
        if (decided.Count == 0)
            return;

        foreach (var (s, span, form) in entities)
        {
            if (decided.TryGetValue(form, out var label) && label != span.Label)
                Write(paths[s], span.Start, span.End, label, tags);
        }

        var longest = decided.Keys.Max(k => k.Count(c => c == ' ') + 1);
        for (var s = 0; s < sentences.Count; s++)
        {
            var path = paths[s];
            var t = 0;
            while (t < path.Length)
            {
                if (tags.Prefixes[path[t]] != 'O')
                {
                    t++;
                    continue;
                }
                var runEnd = t;
                while (runEnd < path.Length && tags.Prefixes[path[runEnd]] == 'O')
                    runEnd++;
                // Longest form first at each position, left to right within the run of outside tokens.
                var matched = 0;
                for (var length = Math.Min(longest, runEnd - t); length > 0 && matched == 0; length--)
                {
                    if (decided.TryGetValue(Form(sentences[s], t, t + length), out var label))
                    {
                        Write(path, t, t + length, label, tags);
                        matched = length;
                    }
                }
                t += Math.Max(matched, 1);
            }
        }
    }

    private static string Form(IReadOnlyList<string> tokens, int start, int end) =>
        end - start == 1 ? tokens[start] : string.Join(' ', Enumerable.Range(start, end - start).Select(i => tokens[i]));

    private static bool Confident(int[] path, float[] logProbabilities, int tagCount, TokenSpan span, double logThreshold)
    {
        for (var t = span.Start; t < span.End; t++)
        {
            if (logProbabilities[t * tagCount + path[t]] < logThreshold)
                return false;
        }
        return true;
    }

    /// <summary>Tags tokens [start, end) as one entity of <paramref name="label"/> in the tag set's scheme.</summary>
    private static void Write(int[] path, int start, int end, string label, TagSet tags)
    {
        var bioes = tags.Scheme == Corpus.TaggingScheme.Bioes;
        for (var t = start; t < end; t++)
        {
            var prefix = !bioes ? (t == start ? "B" : "I")
                : end - start == 1 ? "S"
                : t == start ? "B" : t == end - 1 ? "E" : "I";
            path[t] = tags.IndexOf($"{prefix}-{label}");
        }
    }
}
