namespace NerService.Model.Decoding;

/// <summary>A labelled span of tokens <c>[Start, End)</c> and its probability under a <see cref="TagLattice"/>.</summary>
public readonly record struct SpanProbability(string Label, int Start, int End, double Probability);

/// <summary>
/// The constrained tag lattice of one sentence, summed by forward-backward: every tag path the scheme allows
/// (the paths constrained Viterbi chooses among), each weighted by the product of its tags' per-token
/// probabilities and normalised over all allowed paths. The probability of an entity is then the share of that
/// mass on paths that tag exactly that span with that label (<c>B-X I-X … E-X</c> or <c>S-X</c> in BIOES;
/// <c>B-X I-X …</c> followed by a tag that does not continue it in IOB2). Everything is kept as natural logs in
/// double precision; one lattice costs O(tokens · tags²), and each span query O(tags) after that.
/// </summary>
public sealed class TagLattice
{
    // Log-probabilities this far below a row's best are as good as zero; the floor keeps the prefix sums finite.
    private const double Floor = -1000;

    private readonly TagSet tags;
    private readonly int k;
    private readonly double[] unary;
    private readonly double[] alpha;
    private readonly double[] beta;
    // closedAfter[e]: log of the mass of all path suffixes from position e on that start fresh (O, B-, S-), or
    // 0 at the end of the sentence; what follows an entity that ends just before e.
    private readonly double[] closedAfter;
    // insidePrefix[x][t]: sum of the I- tag's log-probabilities of entity type x over positions before t.
    private readonly double[][] insidePrefix;

    private TagLattice(TagSet tags, int length, double[] unary)
    {
        this.tags = tags;
        k = tags.Count;
        Length = length;
        this.unary = unary;
        alpha = new double[length * k];
        beta = new double[length * k];
        closedAfter = new double[length + 1];
        insidePrefix = new double[tags.EntityTypes.Count][];
        for (var x = 0; x < insidePrefix.Length; x++)
        {
            var prefix = insidePrefix[x] = new double[length + 1];
            var inside = tags.InsideTags[x];
            for (var t = 0; t < length; t++)
                prefix[t + 1] = prefix[t] + (inside < 0 ? Floor : unary[t * k + inside]);
        }
        Forward();
        Backward();
    }

    /// <summary>Tokens in the sentence.</summary>
    public int Length { get; }

    /// <summary>Natural log of the total weight of all allowed paths (0 for an empty sentence).</summary>
    public double LogPartition { get; private set; }

    /// <summary>
    /// Builds the lattice of one sentence from the network's per-token log-probabilities (row-major
    /// [tokens, tags]). A <paramref name="temperature"/> other than 1 first rescales each token's distribution to
    /// <c>softmax(logits / temperature)</c>, the calibrated distribution; 1 uses the network's own.
    /// </summary>
    public static TagLattice Build(ReadOnlySpan<float> logProbabilities, TagSet tags, double temperature = 1)
    {
        if (!(temperature > 0) || double.IsPositiveInfinity(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "A temperature must be a positive finite number.");
        var k = tags.Count;
        if (logProbabilities.Length % k != 0)
            throw new ArgumentException($"{logProbabilities.Length} scores do not make rows of {k} tags.", nameof(logProbabilities));
        var length = logProbabilities.Length / k;
        var unary = new double[logProbabilities.Length];
        for (var t = 0; t < length; t++)
        {
            var row = logProbabilities.Slice(t * k, k);
            var target = unary.AsSpan(t * k, k);
            // log softmax(z / T) equals log softmax(log softmax(z) / T): the network's normaliser cancels.
            var max = double.NegativeInfinity;
            for (var j = 0; j < k; j++)
            {
                target[j] = row[j] / temperature;
                max = Math.Max(max, target[j]);
            }
            var sum = 0.0;
            for (var j = 0; j < k; j++)
                sum += Math.Exp(target[j] - max);
            var normaliser = max + Math.Log(sum);
            for (var j = 0; j < k; j++)
                target[j] = Math.Max(Floor, target[j] - normaliser);
        }
        return new TagLattice(tags, length, unary);
    }

    /// <summary>The probability that the tag at <paramref name="position"/> is <paramref name="tag"/>.</summary>
    public double TagProbability(int position, int tag) =>
        Math.Exp(alpha[position * k + tag] + beta[position * k + tag] - LogPartition);

    /// <summary>The probability that a token lies inside some entity (its tag is not O).</summary>
    public double EntityProbability(int position) => 1 - TagProbability(position, tags.OutsideTag);

    /// <summary>The probability that tokens <c>[start, end)</c> form exactly one entity of type <paramref name="label"/>.</summary>
    public double SpanProbability(string label, int start, int end)
    {
        for (var x = 0; x < tags.EntityTypes.Count; x++)
        {
            if (tags.EntityTypes[x] == label)
                return Math.Exp(LogSpanProbability(x, start, end));
        }
        throw new ArgumentException($"'{label}' is not one of the model's entity types.", nameof(label));
    }

    /// <summary>
    /// The labels of the span <c>[start, end)</c> but <paramref name="except"/>, most probable first: those with at
    /// least <paramref name="minProbability"/>, at most <paramref name="count"/>.
    /// </summary>
    public List<SpanProbability> Labels(int start, int end, double minProbability, int count, string? except = null)
    {
        var others = new List<SpanProbability>();
        for (var x = 0; x < tags.EntityTypes.Count; x++)
        {
            if (tags.EntityTypes[x] == except)
                continue;
            var probability = Math.Exp(LogSpanProbability(x, start, end));
            if (probability >= minProbability)
                others.Add(new SpanProbability(tags.EntityTypes[x], start, end, probability));
        }
        others.Sort((a, b) => b.Probability.CompareTo(a.Probability));
        return others.Count > count ? others[..count] : others;
    }

    /// <summary>
    /// The most probable entity of any label, at most <paramref name="maxTokens"/> long, that shares a token with
    /// <c>[start, end)</c> but not both boundaries, and that <paramref name="allowed"/> accepts; null when none has
    /// at least <paramref name="minProbability"/>.
    /// </summary>
    public SpanProbability? BestOverlapping(int start, int end, int maxTokens, double minProbability, Func<int, int, bool>? allowed = null)
    {
        SpanProbability? best = null;
        var bestLog = Math.Log(minProbability);
        for (var from = Math.Max(0, start - maxTokens + 1); from < end; from++)
        {
            for (var to = Math.Max(from + 1, start + 1); to <= Math.Min(Length, from + maxTokens); to++)
            {
                if (from == start && to == end || allowed is not null && !allowed(from, to))
                    continue;
                for (var x = 0; x < tags.EntityTypes.Count; x++)
                {
                    var log = LogSpanProbability(x, from, to);
                    if (log >= bestLog)
                    {
                        bestLog = log;
                        best = new SpanProbability(tags.EntityTypes[x], from, to, Math.Exp(log));
                    }
                }
            }
        }
        return best;
    }

    /// <summary>Natural log of the probability that <c>[start, end)</c> is exactly one entity of type index <paramref name="type"/>.</summary>
    internal double LogSpanProbability(int type, int start, int end)
    {
        if (start < 0 || end > Length || start >= end)
            throw new ArgumentOutOfRangeException(nameof(end), $"[{start}, {end}) is not a span of a {Length}-token sentence.");
        var single = end - start == 1;
        var bioes = tags.Scheme == Corpus.TaggingScheme.Bioes;
        var first = single && bioes ? tags.SingleTags[type] : tags.BeginTags[type];
        if (first < 0)
            return double.NegativeInfinity;
        var log = alpha[start * k + first];
        if (!single)
        {
            var prefix = insidePrefix[type];
            if (bioes)
            {
                var last = tags.EndTags[type];
                if (last < 0)
                    return double.NegativeInfinity;
                log += prefix[end - 1] - prefix[start + 1] + unary[(end - 1) * k + last];
            }
            else
                log += prefix[end] - prefix[start + 1];
        }
        return log + closedAfter[end] - LogPartition;
    }

    private void Forward()
    {
        if (Length == 0)
            return;
        for (var j = 0; j < k; j++)
            alpha[j] = tags.CanStart[j] ? unary[j] : double.NegativeInfinity;
        var shifted = new double[k];
        for (var t = 1; t < Length; t++)
        {
            var previous = alpha.AsSpan((t - 1) * k, k);
            var max = Max(previous);
            for (var i = 0; i < k; i++)
                shifted[i] = Math.Exp(previous[i] - max);
            for (var j = 0; j < k; j++)
            {
                var sum = 0.0;
                foreach (var i in tags.Predecessors[j])
                    sum += shifted[i];
                // A sum that underflows relative to the row's best is recomputed exactly.
                var total = sum > 0 ? max + Math.Log(sum) : LogSumExp(previous, tags.Predecessors[j]);
                alpha[t * k + j] = total + unary[t * k + j];
            }
        }
        var lastRow = alpha.AsSpan((Length - 1) * k, k);
        LogPartition = LogSumExp(lastRow, tags.EndingTags);
    }

    private void Backward()
    {
        closedAfter[Length] = 0;
        if (Length == 0)
            return;
        for (var j = 0; j < k; j++)
            beta[(Length - 1) * k + j] = tags.CanEnd[j] ? 0 : double.NegativeInfinity;
        var next = new double[k];
        var shifted = new double[k];
        for (var t = Length - 2; t >= 0; t--)
        {
            for (var j = 0; j < k; j++)
                next[j] = unary[(t + 1) * k + j] + beta[(t + 1) * k + j];
            var max = Max(next);
            for (var j = 0; j < k; j++)
                shifted[j] = Math.Exp(next[j] - max);
            for (var i = 0; i < k; i++)
            {
                var sum = 0.0;
                foreach (var j in tags.Successors[i])
                    sum += shifted[j];
                beta[t * k + i] = sum > 0 ? max + Math.Log(sum) : LogSumExp(next, tags.Successors[i]);
            }
        }
        var row = new double[k];
        for (var t = 0; t < Length; t++)
        {
            for (var j = 0; j < k; j++)
                row[j] = unary[t * k + j] + beta[t * k + j];
            closedAfter[t] = LogSumExp(row, tags.OpeningTags);
        }
    }

    private static double Max(ReadOnlySpan<double> values)
    {
        var max = double.NegativeInfinity;
        foreach (var value in values)
            max = Math.Max(max, value);
        // A row with no allowed tag at all keeps the shift finite; every entry then stays -infinity.
        return double.IsNegativeInfinity(max) ? 0 : max;
    }

    private static double LogSumExp(ReadOnlySpan<double> values, int[] indexes)
    {
        var max = double.NegativeInfinity;
        foreach (var i in indexes)
            max = Math.Max(max, values[i]);
        if (double.IsNegativeInfinity(max))
            return double.NegativeInfinity;
        var sum = 0.0;
        foreach (var i in indexes)
            sum += Math.Exp(values[i] - max);
        return max + Math.Log(sum);
    }
}
