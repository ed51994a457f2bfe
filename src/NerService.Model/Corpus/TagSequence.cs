namespace NerService.Model.Corpus;

/// <summary>
/// Entity spans of tag sequences (<c>O</c>, <c>B-X</c>, <c>I-X</c>, <c>E-X</c>, <c>S-X</c>), conversions
/// between tagging schemes and scheme detection.
/// </summary>
/// <remarks>
/// Chunks are found with conlleval's rules, extended to S-/E- the way the Python ports of conlleval do,
/// so that scores here equal the ones the CoNLL shared tasks reported. A chunk starts at B-/S-, at I-/E-
/// after O, E- or S-, and at any tag whose type differs from the previous one; it ends before B-/S-/O,
/// after E-/S-, and where the type changes. These rules read IOB1, IOB2 and BIOES alike, which is why
/// ill-formed input (I-X after O in IOB2, B-X with no E-X in BIOES) still yields sensible spans.
/// </remarks>
public static class TagSequence
{
    public const string Outside = "O";

    /// <summary>Whether <paramref name="tag"/> is <c>O</c> or a B/I/E/S prefix, a dash and a non-empty label.</summary>
    public static bool IsValidTag(string tag) => Problem(tag) is null;

    /// <summary>The entities of one sentence, in order, following conlleval's chunk boundaries.</summary>
    /// <param name="tags">One tag per token.</param>
    /// <param name="scheme">
    /// The scheme the tags are in. conlleval's rules read every scheme the same way, so a sequence in
    /// another scheme (or an ill-formed one) still yields its spans.
    /// </param>
    /// <exception cref="ArgumentException">A tag is not O, B-X, I-X, E-X or S-X.</exception>
    public static IReadOnlyList<LabeledSpan> Spans(IReadOnlyList<string> tags, TaggingScheme scheme)
    {
        ArgumentNullException.ThrowIfNull(tags);
        ThrowIfUndefined(scheme);
        var spans = new List<LabeledSpan>();
        AppendSpans(tags, spans, labels: null);
        return spans;
    }

    /// <summary>Tags for <paramref name="length"/> tokens carrying <paramref name="spans"/>.</summary>
    /// <param name="spans">Ordered by start, not overlapping, inside <c>[0, length)</c>.</param>
    /// <param name="length">Number of tokens.</param>
    /// <param name="scheme">The scheme to write the tags in.</param>
    public static string[] ToTags(IReadOnlyList<LabeledSpan> spans, int length, TaggingScheme scheme)
    {
        ArgumentNullException.ThrowIfNull(spans);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ThrowIfUndefined(scheme);
        var tags = new string[length];
        WriteTags(spans, tags, scheme, new TagStringCache());
        return tags;
    }

    /// <summary>Rewrites a tag sequence in another scheme; ill-formed input is read as conlleval would.</summary>
    public static string[] Convert(IReadOnlyList<string> tags, TaggingScheme from, TaggingScheme to) =>
        ToTags(Spans(tags, from), tags.Count, to);

    /// <summary>
    /// Decides the scheme of a file from all its tag sequences: any S- or E- tag means BIOES; an entity
    /// that begins with B- (after O, at a sentence start or after another type) means IOB2, since IOB1
    /// uses B- only between two adjacent entities of one type; otherwise an entity that begins with I-
    /// means IOB1. Without evidence either way (no entities) the answer is IOB2.
    /// </summary>
    /// <exception cref="ArgumentException">A tag is not O, B-X, I-X, E-X or S-X.</exception>
    public static TaggingScheme DetectScheme(IEnumerable<IReadOnlyList<string>> sequences)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        var entityBeginsWithB = false;
        var entityBeginsWithI = false;
        foreach (var tags in sequences)
        {
            string? previous = null;
            foreach (var tag in tags)
            {
                ThrowIfInvalid(tag);
                var prefix = tag[0];
                if (prefix is 'S' or 'E')
                {
                    return TaggingScheme.Bioes;
                }

                if (prefix != 'O' && (previous is null || previous.Length == 1 || !SameLabel(previous, tag)))
                {
                    entityBeginsWithB |= prefix == 'B';
                    entityBeginsWithI |= prefix == 'I';
                }

                previous = tag;
            }
        }

        return entityBeginsWithI && !entityBeginsWithB ? TaggingScheme.Iob1 : TaggingScheme.Iob2;
    }

    /// <summary>Why <paramref name="tag"/> is not a valid tag, or null when it is.</summary>
    internal static string? Problem(string tag)
    {
        if (tag == Outside)
        {
            return null;
        }

        if (tag.Length < 2 || tag[1] != '-' || tag[0] is not ('B' or 'I' or 'E' or 'S'))
        {
            return $"tag '{tag}' is not O, B-X, I-X, E-X or S-X";
        }

        return tag.Length == 2 ? $"tag '{tag}' has an empty label" : null;
    }

    /// <summary>Appends the spans of <paramref name="tags"/> to <paramref name="spans"/> (conlleval's rules).</summary>
    internal static void AppendSpans(IReadOnlyList<string> tags, List<LabeledSpan> spans, TagStringCache? labels)
    {
        var previous = Outside;
        var chunkStart = -1;
        for (var i = 0; i <= tags.Count; i++)
        {
            // A trailing O closes the last chunk, as conlleval's sentence boundary does.
            var tag = i < tags.Count ? tags[i] : Outside;
            if (i < tags.Count)
            {
                ThrowIfInvalid(tag);
            }

            if (chunkStart >= 0 && EndsChunk(previous, tag))
            {
                var label = labels is null ? previous[2..] : labels.Intern(previous.AsSpan(2));
                spans.Add(new LabeledSpan(label, chunkStart, i));
                chunkStart = -1;
            }

            if (StartsChunk(previous, tag))
            {
                chunkStart = i;
            }

            previous = tag;
        }
    }

    /// <summary>Writes <paramref name="spans"/> into <paramref name="tags"/> (one slot per token).</summary>
    internal static void WriteTags(IReadOnlyList<LabeledSpan> spans, string[] tags, TaggingScheme scheme, TagStringCache cache)
    {
        Array.Fill(tags, Outside);
        var previousEnd = 0;
        LabeledSpan? previousSpan = null;
        foreach (var span in spans)
        {
            if (string.IsNullOrEmpty(span.Label) || span.Start < previousEnd || span.End <= span.Start || span.End > tags.Length)
            {
                throw new ArgumentException(
                    $"Span {span} is empty, overlaps the previous one, is out of order or lies outside the {tags.Length} tokens.",
                    nameof(spans));
            }

            var inside = cache.Tag('I', span.Label);
            for (var i = span.Start; i < span.End; i++)
            {
                tags[i] = inside;
            }

            switch (scheme)
            {
                case TaggingScheme.Iob1:
                    // IOB1 needs B- only where an I- would otherwise merge this entity into the previous one.
                    if (previousSpan is { } before && before.End == span.Start && before.Label == span.Label)
                    {
                        tags[span.Start] = cache.Tag('B', span.Label);
                    }

                    break;
                case TaggingScheme.Iob2:
                    tags[span.Start] = cache.Tag('B', span.Label);
                    break;
                case TaggingScheme.Bioes when span.Length == 1:
                    tags[span.Start] = cache.Tag('S', span.Label);
                    break;
                case TaggingScheme.Bioes:
                    tags[span.Start] = cache.Tag('B', span.Label);
                    tags[span.End - 1] = cache.Tag('E', span.Label);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(scheme), scheme, null);
            }

            previousEnd = span.End;
            previousSpan = span;
        }
    }

    /// <summary>Rewrites <paramref name="tags"/> in <paramref name="scheme"/> without allocating a new array.</summary>
    internal static void ConvertInPlace(string[] tags, TaggingScheme scheme, TagStringCache cache, List<LabeledSpan> scratch)
    {
        scratch.Clear();
        AppendSpans(tags, scratch, cache);
        WriteTags(scratch, tags, scheme, cache);
    }

    // conlleval's endOfChunk and startOfChunk, with S- and E- handled as its Python ports do.
    private static bool EndsChunk(string previous, string tag)
    {
        var before = previous[0];
        var now = tag[0];
        return before switch
        {
            'O' => false,
            'E' or 'S' => true,
            _ => now is 'B' or 'S' or 'O' || !SameLabel(previous, tag),
        };
    }

    private static bool StartsChunk(string previous, string tag)
    {
        var before = previous[0];
        return tag[0] switch
        {
            'O' => false,
            'B' or 'S' => true,
            _ => before is 'O' or 'E' or 'S' || !SameLabel(previous, tag),
        };
    }

    /// <summary>Both are non-O tags of one type.</summary>
    private static bool SameLabel(string previous, string tag) =>
        previous.Length > 2 && tag.Length > 2 && previous.AsSpan(2).SequenceEqual(tag.AsSpan(2));

    private static void ThrowIfInvalid(string tag)
    {
        if (tag is null)
        {
            throw new ArgumentException("A tag is null.");
        }

        if (Problem(tag) is { } problem)
        {
            throw new ArgumentException($"The {problem}.");
        }
    }

    private static void ThrowIfUndefined(TaggingScheme scheme)
    {
        if (!Enum.IsDefined(scheme))
        {
            throw new ArgumentOutOfRangeException(nameof(scheme), scheme, "Unknown tagging scheme.");
        }
    }
}
