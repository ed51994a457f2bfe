using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace NerService.Model.Corpus;

/// <summary>Chunk counts of one entity type (or of all), and the scores they give, as fractions in [0, 1].</summary>
/// <param name="TruePositives">Predicted chunks with the same start, end and type as a gold chunk.</param>
/// <param name="GoldCount">Chunks in the gold tags.</param>
/// <param name="PredictedCount">Chunks in the predicted tags.</param>
public readonly record struct ChunkScores(int TruePositives, int GoldCount, int PredictedCount)
{
    /// <summary>0 when nothing was predicted, as conlleval reports it.</summary>
    public double Precision => PredictedCount == 0 ? 0 : (double)TruePositives / PredictedCount;

    /// <summary>0 when there is nothing to find, as conlleval reports it.</summary>
    public double Recall => GoldCount == 0 ? 0 : (double)TruePositives / GoldCount;

    public double F1 => Precision + Recall == 0 ? 0 : 2 * Precision * Recall / (Precision + Recall);
}

/// <summary>
/// Entity-level scores with conlleval's semantics: chunks found by conlleval's rules (see
/// <see cref="TagSequence"/>), a chunk correct when start, end and type all match, micro-averaged
/// precision, recall and F1, and token accuracy over whole tags.
/// </summary>
public sealed class EntityMetrics
{
    private EntityMetrics(ChunkScores overall, IReadOnlyDictionary<string, ChunkScores> byType, int tokenCount, int correctTokenCount)
    {
        Overall = overall;
        ByType = byType;
        TokenCount = tokenCount;
        CorrectTokenCount = correctTokenCount;
    }

    /// <summary>Micro-averaged over all chunks.</summary>
    public ChunkScores Overall { get; }

    /// <summary>Every type seen in gold or predicted tags, in ordinal order (conlleval's order).</summary>
    public IReadOnlyDictionary<string, ChunkScores> ByType { get; }

    public int TokenCount { get; }

    /// <summary>Tokens whose predicted tag equals the gold tag exactly (prefix and type).</summary>
    public int CorrectTokenCount { get; }

    public double TokenAccuracy => TokenCount == 0 ? 0 : (double)CorrectTokenCount / TokenCount;

    public double Precision => Overall.Precision;

    public double Recall => Overall.Recall;

    public double F1 => Overall.F1;

    /// <summary>Scores predicted tags against gold tags, sentence by sentence.</summary>
    /// <param name="sentences">Gold and predicted tags of each sentence, of equal length.</param>
    /// <param name="scheme">The scheme of both; conlleval's rules read all schemes alike.</param>
    /// <exception cref="ArgumentException">Lengths differ or a tag is not O, B-X, I-X, E-X or S-X.</exception>
    public static EntityMetrics Compute(
        IEnumerable<(IReadOnlyList<string> Gold, IReadOnlyList<string> Predicted)> sentences, TaggingScheme scheme)
    {
        ArgumentNullException.ThrowIfNull(sentences);
        if (!Enum.IsDefined(scheme))
        {
            throw new ArgumentOutOfRangeException(nameof(scheme), scheme, "Unknown tagging scheme.");
        }

        var labels = new TagStringCache();
        var goldSpans = new List<LabeledSpan>();
        var predictedSpans = new List<LabeledSpan>();
        var counts = new Dictionary<string, Counts>(StringComparer.Ordinal);
        int tokenCount = 0, correctTokenCount = 0, sentenceIndex = 0;
        foreach (var (gold, predicted) in sentences)
        {
            if (gold.Count != predicted.Count)
            {
                throw new ArgumentException(
                    $"Sentence {sentenceIndex} has {gold.Count} gold tags but {predicted.Count} predicted ones.", nameof(sentences));
            }

            for (var i = 0; i < gold.Count; i++)
            {
                if (string.Equals(gold[i], predicted[i], StringComparison.Ordinal))
                {
                    correctTokenCount++;
                }
            }

            tokenCount += gold.Count;
            goldSpans.Clear();
            predictedSpans.Clear();
            TagSequence.AppendSpans(gold, goldSpans, labels);
            TagSequence.AppendSpans(predicted, predictedSpans, labels);
            foreach (var span in goldSpans)
            {
                CollectionsMarshal.GetValueRefOrAddDefault(counts, span.Label, out _).Gold++;
            }

            foreach (var span in predictedSpans)
            {
                CollectionsMarshal.GetValueRefOrAddDefault(counts, span.Label, out _).Predicted++;
            }

            // Spans of one sentence are ordered and disjoint, so each start occurs at most once per list.
            for (int g = 0, p = 0; g < goldSpans.Count && p < predictedSpans.Count;)
            {
                var (goldSpan, predictedSpan) = (goldSpans[g], predictedSpans[p]);
                if (goldSpan.Start == predictedSpan.Start)
                {
                    if (goldSpan.End == predictedSpan.End && goldSpan.Label == predictedSpan.Label)
                    {
                        CollectionsMarshal.GetValueRefOrAddDefault(counts, goldSpan.Label, out _).TruePositives++;
                    }

                    g++;
                    p++;
                }
                else if (goldSpan.Start < predictedSpan.Start)
                {
                    g++;
                }
                else
                {
                    p++;
                }
            }

            sentenceIndex++;
        }

        var byType = new SortedDictionary<string, ChunkScores>(StringComparer.Ordinal);
        int truePositives = 0, goldCount = 0, predictedCount = 0;
        foreach (var (label, count) in counts)
        {
            byType.Add(label, new ChunkScores(count.TruePositives, count.Gold, count.Predicted));
            truePositives += count.TruePositives;
            goldCount += count.Gold;
            predictedCount += count.Predicted;
        }

        return new EntityMetrics(new ChunkScores(truePositives, goldCount, predictedCount), byType, tokenCount, correctTokenCount);
    }

    /// <summary>The scores laid out as the conlleval perl script prints them (percentages, two decimals).</summary>
    public string ToConllevalReport()
    {
        var culture = CultureInfo.InvariantCulture;
        var report = new StringBuilder();
        report.Append(culture, $"processed {TokenCount} tokens with {Overall.GoldCount} phrases; ")
            .Append(culture, $"found: {Overall.PredictedCount} phrases; correct: {Overall.TruePositives}.\n");
        if (TokenCount > 0)
        {
            report.Append(culture, $"accuracy: {100 * TokenAccuracy,6:F2}%; ")
                .Append(culture, $"precision: {100 * Precision,6:F2}%; recall: {100 * Recall,6:F2}%; FB1: {100 * F1,6:F2}\n");
        }

        foreach (var (label, scores) in ByType)
        {
            report.Append(culture, $"{label,17}: precision: {100 * scores.Precision,6:F2}%; ")
                .Append(culture, $"recall: {100 * scores.Recall,6:F2}%; FB1: {100 * scores.F1,6:F2}  {scores.PredictedCount}\n");
        }

        return report.ToString();
    }

    private struct Counts
    {
        public int TruePositives;
        public int Gold;
        public int Predicted;
    }
}
