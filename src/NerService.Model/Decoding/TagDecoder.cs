namespace NerService.Model.Decoding;

/// <summary>An entity over token positions <c>[Start, End)</c>.</summary>
public readonly record struct TokenSpan(string Label, int Start, int End);

/// <summary>Turns per-token log-probabilities into tags and entity spans.</summary>
public static class TagDecoder
{
    /// <summary>The most probable tag at each token, ignoring transitions.</summary>
    public static int[] Greedy(ReadOnlySpan<float> logProbabilities, int tagCount)
    {
        var length = logProbabilities.Length / tagCount;
        var path = new int[length];
        for (var t = 0; t < length; t++)
        {
            var row = logProbabilities.Slice(t * tagCount, tagCount);
            var best = 0;
            for (var k = 1; k < tagCount; k++)
            {
                if (row[k] > row[best])
                    best = k;
            }
            path[t] = best;
        }
        return path;
    }

    /// <summary>
    /// The most probable tag sequence among those the scheme allows: Viterbi over the per-token
    /// log-probabilities (row-major [tokens, tags]) with disallowed transitions removed.
    /// </summary>
    public static int[] Constrained(ReadOnlySpan<float> logProbabilities, TagSet tags)
    {
        var k = tags.Count;
        var length = logProbabilities.Length / k;
        var path = new int[length];
        if (length == 0)
            return path;
        var score = new float[k];
        var next = new float[k];
        var back = new int[length * k];
        for (var j = 0; j < k; j++)
            score[j] = tags.CanStart[j] ? logProbabilities[j] : float.NegativeInfinity;
        for (var t = 1; t < length; t++)
        {
            var row = logProbabilities.Slice(t * k, k);
            for (var to = 0; to < k; to++)
            {
                var best = float.NegativeInfinity;
                var from = 0;
                for (var j = 0; j < k; j++)
                {
                    if (tags.Allowed[j, to] && score[j] > best)
                    {
                        best = score[j];
                        from = j;
                    }
                }
                next[to] = best + row[to];
                back[t * k + to] = from;
            }
            (score, next) = (next, score);
        }
        var last = 0;
        var bestFinal = float.NegativeInfinity;
        for (var j = 0; j < k; j++)
        {
            if (tags.CanEnd[j] && score[j] > bestFinal)
            {
                bestFinal = score[j];
                last = j;
            }
        }
        path[length - 1] = last;
        for (var t = length - 1; t > 0; t--)
            path[t - 1] = back[t * k + path[t]];
        return path;
    }

    /// <summary>
    /// Entity spans in a tag path. Tolerates paths that break the scheme (from greedy decoding) the way
    /// conlleval reads them: an I- or E- that does not continue an entity of its type starts a new one.
    /// Their probabilities come from the sentence's <see cref="TagLattice"/>.
    /// </summary>
    public static List<TokenSpan> Spans(int[] path, TagSet tags)
    {
        var spans = new List<TokenSpan>();
        string? openType = null;
        var openStart = 0;

        void Close(int end, List<TokenSpan> into)
        {
            if (openType is null)
                return;
            into.Add(new TokenSpan(openType, openStart, end));
            openType = null;
        }

        for (var t = 0; t < path.Length; t++)
        {
            var tag = path[t];
            var prefix = tags.Prefixes[tag];
            var type = tags.Types[tag];
            var continues = openType is not null && type == openType && prefix is 'I' or 'E';
            if (!continues)
            {
                Close(t, spans);
                if (prefix == 'O')
                    continue;
                openType = type;
                openStart = t;
            }
            if (prefix is 'E' or 'S')
                Close(t + 1, spans);
        }
        Close(path.Length, spans);
        return spans;
    }
}
