using NerService.Model.Corpus;
using NerService.Model.Decoding;
using NerService.Model.Inference;

namespace NerService.Training.Calibration;

/// <summary>
/// A model's decoded entities on gold sentences, each marked right (same span and label as a gold entity) or
/// wrong, and scorable at any temperature without another forward pass or another decoding: the tags are decoded
/// once from the network's own probabilities, so the temperature moves only the probabilities.
/// </summary>
public sealed class ScoredPredictions
{
    private readonly TagSet tags;
    private readonly IReadOnlyList<float[]> logProbabilities;
    private readonly int[][] paths;
    private readonly List<TokenSpan>[] spans;
    private readonly bool[][] correct;

    private ScoredPredictions(TagSet tags, IReadOnlyList<float[]> logProbabilities, int[][] paths, List<TokenSpan>[] spans, bool[][] correct, int goldCount)
    {
        this.tags = tags;
        this.logProbabilities = logProbabilities;
        this.paths = paths;
        this.spans = spans;
        this.correct = correct;
        GoldCount = goldCount;
    }

    /// <summary>Entities in the gold tags.</summary>
    public int GoldCount { get; }

    /// <summary>Decodes each sentence of <paramref name="logProbabilities"/> (the network's output, e.g. <c>Evaluator.Result.LogProbabilities</c>) and marks its entities against the gold tags.</summary>
    public static ScoredPredictions From(NerModel model, IReadOnlyList<ConllSentence> sentences, IReadOnlyList<float[]> logProbabilities, Decoding decoding)
    {
        var paths = new int[sentences.Count][];
        var spans = new List<TokenSpan>[sentences.Count];
        var correct = new bool[sentences.Count][];
        var goldCount = 0;
        for (var s = 0; s < sentences.Count; s++)
        {
            paths[s] = model.Decode(logProbabilities[s], decoding);
            spans[s] = TagDecoder.Spans(paths[s], model.TagSet);
            var gold = TagSequence.Spans(sentences[s].Tags, model.TagSet.Scheme).Select(g => new TokenSpan(g.Label, g.Start, g.End)).ToHashSet();
            goldCount += gold.Count;
            correct[s] = spans[s].Select(gold.Contains).ToArray();
        }
        return new ScoredPredictions(model.TagSet, logProbabilities, paths, spans, correct, goldCount);
    }

    /// <summary>Every predicted entity with its lattice probability at <paramref name="temperature"/>.</summary>
    public IReadOnlyList<ScoredEntity> AtTemperature(double temperature)
    {
        var scored = new List<ScoredEntity>();
        for (var s = 0; s < paths.Length; s++)
        {
            if (spans[s].Count == 0)
                continue;
            var lattice = TagLattice.Build(logProbabilities[s], tags, temperature);
            for (var e = 0; e < spans[s].Count; e++)
            {
                var span = spans[s][e];
                scored.Add(new ScoredEntity(lattice.SpanProbability(span.Label, span.Start, span.End), correct[s][e]));
            }
        }
        return scored;
    }

    /// <summary>
    /// Every predicted entity scored as the service did before lattice probabilities: the geometric mean of its
    /// tokens' chosen-tag probabilities. Kept to compare against.
    /// </summary>
    public IReadOnlyList<ScoredEntity> GeometricMean()
    {
        var scored = new List<ScoredEntity>();
        var k = tags.Count;
        for (var s = 0; s < paths.Length; s++)
        {
            for (var e = 0; e < spans[s].Count; e++)
            {
                var span = spans[s][e];
                var sum = 0.0;
                for (var t = span.Start; t < span.End; t++)
                    sum += logProbabilities[s][t * k + paths[s][t]];
                scored.Add(new ScoredEntity(Math.Exp(sum / (span.End - span.Start)), correct[s][e]));
            }
        }
        return scored;
    }
}
