using NerService.Model.Bundles;
using NerService.Model.Decoding;
using NerService.Model.Features;
using NerService.Model.Network;
using NerService.Model.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace NerService.Model.Inference;

/// <summary>A text split into sentences of tokens, ready for the tagger.</summary>
public sealed record PreparedText(string Text, IReadOnlyList<IReadOnlyList<TextToken>> Sentences)
{
    public int TokenCount { get; } = Sentences.Sum(s => s.Count);
}

/// <summary>
/// A text to tag and what to return besides its entities: each token's tag (<paramref name="IncludeTokens"/>) and
/// other readings of each entity and of uncertain stretches (<paramref name="IncludeAlternatives"/>).
/// </summary>
public sealed record TextToTag(PreparedText Text, bool IncludeTokens = false, bool IncludeAlternatives = false);

/// <summary>
/// A loaded model bundle on a device. Safe for concurrent callers: prediction only reads the weights, every
/// tensor of a call lives in that call's own dispose scope (scopes belong to the calling thread), and the batch
/// builder and tokenizer keep no state. <see cref="BatchingTagger"/> runs one forward pass per inference thread.
/// The network is put in evaluation mode once, here; a trainer sharing it switches it back and forth itself.
/// </summary>
public sealed class NerModel : IDisposable
{
    private readonly ModelBundle bundle;
    private readonly BatchBuilder batches;
    private readonly NerTokenizer tokenizer = NerTokenizer.Default;
    private readonly CpuLstmTagger? cpuTagger;

    /// <param name="bundle">The bundle, owned by the model from now on.</param>
    /// <param name="device">Where the network runs.</param>
    /// <param name="cpuKernel">
    /// Tag with <see cref="CpuLstmTagger"/> where it applies (a single-layer LSTM on the CPU): it copies the
    /// weights once, so only for weights that no longer change (a trainer evaluating between updates passes false).
    /// </param>
    public NerModel(ModelBundle bundle, Device device, bool cpuKernel = false)
    {
        this.bundle = bundle;
        Device = device;
        bundle.Network.to(device);
        bundle.Network.eval();
        batches = new BatchBuilder(bundle.Words, bundle.Characters, bundle.Network.Config);
        cpuTagger = cpuKernel ? CpuLstmTagger.TryCreate(bundle.Network, bundle.Words, bundle.Characters, device) : null;
        var manifest = bundle.Manifest;
        Temperature = manifest.Calibration?.Temperature ?? 1;
        Info = new ModelInfo(
            manifest.Name,
            manifest.Version,
            bundle.TagSet.EntityTypes,
            manifest.Scheme.ToString().ToUpperInvariant(),
            manifest.Tags,
            manifest.Training.ValidationMetrics,
            manifest.Training.DataChecksums,
            manifest.Training.CreatedAt,
            manifest.Training.SourceCommit);
    }

    /// <summary>
    /// Loads a bundle to serve. <paramref name="device"/> is <c>cpu</c>, <c>cuda</c>, <c>cuda:N</c> or <c>auto</c>;
    /// <paramref name="cpuKernel"/> false keeps libtorch's own LSTM on the CPU (to compare the two).
    /// </summary>
    public static NerModel Load(string bundlePath, string device = "cpu", string? libTorchDirectory = null, bool cpuKernel = true)
    {
        var target = TorchRuntime.Resolve(device, libTorchDirectory);
        return new NerModel(ModelBundle.Load(bundlePath), target, cpuKernel);
    }

    public ModelInfo Info { get; }

    /// <summary>Whether the forward pass runs in <see cref="CpuLstmTagger"/> rather than libtorch's LSTM.</summary>
    public bool UsesCpuKernel => cpuTagger is not null;

    /// <summary>
    /// Threads one forward pass runs on: libtorch's count for its LSTM, one in the C# CPU kernel, which is
    /// single-threaded whatever libtorch's setting.
    /// </summary>
    public int ThreadsPerPass => UsesCpuKernel ? 1 : TorchSharp.torch.get_num_threads();

    /// <summary>The C# forward pass, where it applies: for the profiler.</summary>
    internal CpuLstmTagger? CpuKernel => cpuTagger;

    public Device Device { get; }

    public TagSet TagSet => bundle.TagSet;

    /// <summary>
    /// The calibration temperature entity probabilities are computed at (the bundle's, 1 when it has none).
    /// Decoding never uses it: the tags are those of the network's own probabilities.
    /// </summary>
    public double Temperature { get; init; } = 1;

    /// <summary>Alternatives less probable than this are left out.</summary>
    public const double MinAlternativeProbability = 0.01;

    /// <summary>A token outside every entity whose probability of being inside one reaches this marks an uncertain stretch.</summary>
    public const double UncertainTokenProbability = 0.1;

    /// <summary>The longest entity, in tokens, considered as an alternative with other boundaries.</summary>
    public const int MaxAlternativeTokens = 10;

    /// <summary>How many other labels of an entity's span are listed at most.</summary>
    public const int MaxOtherLabels = 3;

    /// <summary>Sentences longer than this are tagged in overlapping windows of this many tokens.</summary>
    public int MaxSentenceTokens { get; init; } = 200;

    /// <summary>Tokens each window shares with its neighbour; every token is read from the window where it has the most context.</summary>
    public int WindowOverlap { get; init; } = 50;

    /// <summary>Sentences per forward pass when <see cref="Tag(IReadOnlyList{string}, bool, Decoding)"/> batches by itself.</summary>
    public int MaxBatchSentences { get; init; } = 64;

    /// <summary>
    /// When set, a text's confidently tagged names decide its other mentions of the same strings
    /// (<see cref="DocumentConsistency"/>): an entity counts as confident when each of its tokens' tags has at
    /// least this probability. Null (the default) tags every sentence on its own. Set it before the first call.
    /// </summary>
    public double? ConsistencyConfidence { get; set; }

    public PreparedText Prepare(string text) => new(text, tokenizer.SplitSentences(text));

    public IReadOnlyList<TaggedText> Tag(IReadOnlyList<string> texts, bool includeTokens = false, Decoding decoding = Decoding.Constrained)
        => Tag(texts.Select(t => new TextToTag(Prepare(t), includeTokens)).ToList(), decoding);

    public IReadOnlyList<TaggedText> Tag(IReadOnlyList<TextToTag> requests, Decoding decoding)
    {
        var texts = requests.Select(r => r.Text).ToList();
        var sentences = new List<IReadOnlyList<string>>();
        foreach (var text in texts)
        {
            foreach (var sentence in text.Sentences)
                sentences.Add(sentence.Select(t => t.Text).ToArray());
        }
        var logProbabilities = PredictLogProbabilities(sentences);

        var results = new TaggedText[texts.Count];
        var next = 0;
        for (var i = 0; i < texts.Count; i++)
        {
            var text = texts[i];
            var entities = new List<EntitySpan>();
            var tokens = requests[i].IncludeTokens ? new List<TokenPrediction>(text.TokenCount) : null;
            var first = next;
            // The token strings were gathered for the forward pass above: the same lists, not new copies.
            var paths = DecodeText(sentences.GetRange(first, text.Sentences.Count),
                logProbabilities[first..(first + text.Sentences.Count)], decoding);
            var possible = requests[i].IncludeAlternatives ? new List<EntityAlternative>() : null;
            foreach (var sentence in text.Sentences)
            {
                var path = paths[next - first];
                var scores = logProbabilities[next++];
                // Tags from the network's own probabilities, probabilities from the calibrated lattice.
                var lattice = TagLattice.Build(scores, TagSet, Temperature);
                var spans = TagDecoder.Spans(path, TagSet);
                foreach (var span in spans)
                {
                    var (start, end) = (sentence[span.Start].Start, sentence[span.End - 1].End);
                    var probability = (float)lattice.SpanProbability(span.Label, span.Start, span.End);
                    entities.Add(new EntitySpan(span.Label, start, end, text.Text[start..end], probability)
                    {
                        Alternatives = possible is null ? null : Alternatives(lattice, span, sentence, text.Text),
                    });
                }
                if (possible is not null)
                    possible.AddRange(PossibleEntities(lattice, spans, sentence, text.Text));
                if (tokens is null)
                    continue;
                for (var t = 0; t < sentence.Count; t++)
                {
                    var token = sentence[t];
                    var probability = MathF.Exp(scores[t * TagSet.Count + path[t]]);
                    tokens.Add(new TokenPrediction(token.Text, token.Start, token.End, TagSet.Tags[path[t]], probability));
                }
            }
            results[i] = new TaggedText(entities, tokens, text.Sentences.Count, text.TokenCount) { PossibleEntities = possible };
        }
        return results;
    }

    /// <summary>
    /// The calibrated probability of each entity of a decoded path (what <see cref="EntitySpan.Score"/> holds), at
    /// this model's <see cref="Temperature"/> unless another is given.
    /// </summary>
    public IReadOnlyList<SpanProbability> ScoreEntities(float[] logProbabilities, int[] path, double? temperature = null)
    {
        var lattice = TagLattice.Build(logProbabilities, TagSet, temperature ?? Temperature);
        return TagDecoder.Spans(path, TagSet)
            .Select(s => new SpanProbability(s.Label, s.Start, s.End, lattice.SpanProbability(s.Label, s.Start, s.End)))
            .ToList();
    }

    // The same tokens with other labels, then the most probable entity with other boundaries over them.
    private static List<EntityAlternative> Alternatives(TagLattice lattice, TokenSpan span, IReadOnlyList<TextToken> sentence, string text)
    {
        var readings = lattice.Labels(span.Start, span.End, MinAlternativeProbability, MaxOtherLabels, except: span.Label);
        if (lattice.BestOverlapping(span.Start, span.End, Math.Max(MaxAlternativeTokens, span.End - span.Start), MinAlternativeProbability) is { } other)
            readings.Add(other);
        return readings.OrderByDescending(r => r.Probability).Select(r => Alternative(r, sentence, text)).ToList();
    }

    // Stretches of tokens outside every chosen entity that the model still gives a fair chance of being in one:
    // for each, the most probable entity over it that overlaps no chosen entity.
    private static IEnumerable<EntityAlternative> PossibleEntities(
        TagLattice lattice, List<TokenSpan> chosen, IReadOnlyList<TextToken> sentence, string text)
    {
        var taken = new bool[sentence.Count];
        foreach (var span in chosen)
            taken.AsSpan(span.Start, span.End - span.Start).Fill(true);
        bool Free(int start, int end) => !taken.AsSpan(start, end - start).Contains(true);
        for (var t = 0; t < sentence.Count; t++)
        {
            if (taken[t] || lattice.EntityProbability(t) < UncertainTokenProbability)
                continue;
            var end = t + 1;
            while (end < sentence.Count && !taken[end] && lattice.EntityProbability(end) >= UncertainTokenProbability)
                end++;
            // Any span over the stretch, its own exact boundaries included.
            var best = lattice.BestOverlapping(t, end, MaxAlternativeTokens, MinAlternativeProbability, Free);
            var exact = lattice.Labels(t, end, MinAlternativeProbability, 1);
            if (end - t <= MaxAlternativeTokens && exact.Count > 0 && (best is null || exact[0].Probability > best.Value.Probability))
                best = exact[0];
            if (best is { } found)
                yield return Alternative(found, sentence, text);
            t = end;
        }
    }

    private static EntityAlternative Alternative(SpanProbability span, IReadOnlyList<TextToken> sentence, string text)
    {
        var (start, end) = (sentence[span.Start].Start, sentence[span.End - 1].End);
        return new EntityAlternative(span.Label, start, end, text[start..end], (float)span.Probability);
    }

    /// <summary>Tags already-tokenized sentences; used by evaluation, where the tokens come from the data set.</summary>
    public IReadOnlyList<string[]> TagTokens(IReadOnlyList<IReadOnlyList<string>> sentences, Decoding decoding = Decoding.Constrained)
    {
        var logProbabilities = PredictLogProbabilities(sentences);
        return logProbabilities.Select(scores => Decode(scores, decoding).Select(k => TagSet.Tags[k]).ToArray()).ToArray();
    }

    /// <summary>Decodes the sentences of one text, then applies document consistency when it is on.</summary>
    public int[][] DecodeText(IReadOnlyList<IReadOnlyList<string>> sentences, IReadOnlyList<float[]> logProbabilities, Decoding decoding)
    {
        var paths = logProbabilities.Select(scores => Decode(scores, decoding)).ToArray();
        if (ConsistencyConfidence is { } confidence)
            DocumentConsistency.Apply(sentences, paths, logProbabilities, TagSet, confidence);
        return paths;
    }

    public int[] Decode(float[] logProbabilities, Decoding decoding) => decoding == Decoding.Greedy
        ? TagDecoder.Greedy(logProbabilities, TagSet.Count)
        : TagDecoder.Constrained(logProbabilities, TagSet);

    /// <summary>
    /// Per-token tag log-probabilities for each sentence, row-major [tokens, tags]. Sentences are sorted by
    /// length into batches so that little is padded; long ones are cut into overlapping windows.
    /// </summary>
    public float[][] PredictLogProbabilities(IReadOnlyList<IReadOnlyList<string>> sentences)
    {
        var pieces = new List<(int Sentence, int Offset, IReadOnlyList<string> Words)>();
        for (var s = 0; s < sentences.Count; s++)
        {
            foreach (var offset in WindowStarts(sentences[s].Count))
            {
                var length = Math.Min(MaxSentenceTokens, sentences[s].Count - offset);
                var words = offset == 0 && length == sentences[s].Count ? sentences[s] : Slice(sentences[s], offset, length);
                pieces.Add((s, offset, words));
            }
        }

        var order = Enumerable.Range(0, pieces.Count).OrderBy(p => pieces[p].Words.Count).ToArray();
        var pieceScores = new float[pieces.Count][];
        var k = TagSet.Count;
        // Inference mode skips autograd bookkeeping entirely (no version counters); only arrays leave this block.
        using (inference_mode())
        {
            for (var first = 0; first < order.Length; first += MaxBatchSentences)
            {
                var members = order.AsSpan(first, Math.Min(MaxBatchSentences, order.Length - first)).ToArray();
                if (cpuTagger is not null)
                {
                    var scored = cpuTagger.LogProbabilities(members.Select(p => pieces[p].Words).ToArray());
                    for (var m = 0; m < members.Length; m++)
                        pieceScores[members[m]] = scored[m];
                    continue;
                }
                using var scope = NewDisposeScope();
                using var batch = batches.Build(members.Select(p => pieces[p].Words).ToArray(), Device);
                // [tokens, tags], sentence after sentence: only real tokens leave the network.
                var scores = bundle.Network.TokenLogProbabilities(batch).cpu();
                var flat = scores.data<float>().ToArray();
                var start = 0;
                foreach (var member in members)
                {
                    var length = pieces[member].Words.Count * k;
                    pieceScores[member] = flat.AsSpan(start, length).ToArray();
                    start += length;
                }
            }
        }

        var result = new float[sentences.Count][];
        for (var p = 0; p < pieces.Count; p++)
        {
            var (s, offset, words) = pieces[p];
            if (offset == 0 && words.Count == sentences[s].Count)
            {
                result[s] = pieceScores[p];
                continue;
            }
            result[s] ??= new float[sentences[s].Count * k];
            var owned = OwnedRange(sentences[s].Count, offset, words.Count);
            Array.Copy(pieceScores[p], (owned.Start - offset) * k, result[s], owned.Start * k, (owned.End - owned.Start) * k);
        }
        return result;
    }

    public void Dispose()
    {
        bundle.Dispose();
    }

    private IEnumerable<int> WindowStarts(int length)
    {
        yield return 0;
        var stride = MaxSentenceTokens - WindowOverlap;
        for (var start = stride; start + WindowOverlap < length; start += stride)
            yield return start;
    }

    // The tokens a window speaks for: from the middle of its overlap with the previous window to the middle of
    // its overlap with the next, so every token is read with context on both sides where there is any.
    private (int Start, int End) OwnedRange(int sentenceLength, int offset, int length)
    {
        var half = WindowOverlap / 2;
        var start = offset == 0 ? 0 : offset + half;
        var end = offset + length >= sentenceLength ? sentenceLength : offset + length - (WindowOverlap - half);
        return (start, end);
    }

    private static string[] Slice(IReadOnlyList<string> words, int offset, int length)
    {
        var slice = new string[length];
        for (var i = 0; i < length; i++)
            slice[i] = words[offset + i];
        return slice;
    }
}
