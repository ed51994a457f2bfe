namespace NerService.Training.Calibration;

/// <summary>A predicted entity's probability and whether it was right (same span and label as a gold entity).</summary>
public readonly record struct ScoredEntity(double Probability, bool Correct);

/// <summary>One bin of a reliability diagram: its entities' mean probability against the share of them that were right.</summary>
public sealed record ReliabilityBin(int Count, double MinProbability, double MaxProbability, double MeanProbability, double Precision)
{
    public double Gap => Math.Abs(MeanProbability - Precision);
}

/// <summary>Precision of the entities a user keeps by asking for at least a score.</summary>
/// <param name="Threshold">The least score kept (<c>minScore</c>).</param>
/// <param name="Kept">Predicted entities at or above the threshold.</param>
/// <param name="Precision">The share of those that are right (0 when none is kept).</param>
/// <param name="Recall">Right entities kept over all gold entities (0 when the gold count is unknown).</param>
public sealed record ThresholdPrecision(double Threshold, int Kept, double Precision, double Recall);

/// <summary>
/// How well entity probabilities match how often entities are right. Bins hold equal numbers of entities (in order
/// of probability), so every bin's precision is measured on as many entities as any other, where equal-width bins
/// would leave most bins nearly empty for a confident model.
/// </summary>
public sealed record CalibrationMetrics(
    int Entities,
    double ExpectedCalibrationError,
    double BrierScore,
    double NegativeLogLikelihood,
    double MeanProbability,
    double Precision,
    IReadOnlyList<ReliabilityBin> Bins,
    IReadOnlyList<ThresholdPrecision> Thresholds)
{
    /// <summary>The thresholds reports list: where users are likely to cut.</summary>
    public static IReadOnlyList<double> ReportedThresholds { get; } = [0.5, 0.8, 0.9, 0.95];

    /// <summary>Bins with fewer entities than this are too noisy to hold to the 0.05 target.</summary>
    public const int LargeBin = 100;

    /// <summary>The largest gap between mean probability and precision among bins of at least <see cref="LargeBin"/> entities.</summary>
    public double LargestGapInLargeBins => Bins.Where(b => b.Count >= LargeBin).Select(b => b.Gap).DefaultIfEmpty(0).Max();

    /// <param name="entities">Every predicted entity with its probability and whether it was right.</param>
    /// <param name="bins">Equal-mass bins for the expected calibration error and the diagram.</param>
    /// <param name="goldCount">Gold entities, for the recall at each threshold; 0 leaves recall at 0.</param>
    public static CalibrationMetrics Compute(IReadOnlyList<ScoredEntity> entities, int bins = 10, int goldCount = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bins, 1);
        var n = entities.Count;
        var sorted = entities.OrderBy(e => e.Probability).ToArray();
        var binList = new List<ReliabilityBin>();
        var ece = 0.0;
        for (var b = 0; b < bins; b++)
        {
            // Bin b holds entities [n·b/B, n·(b+1)/B): sizes differ by at most one.
            var (from, to) = ((int)((long)n * b / bins), (int)((long)n * (b + 1) / bins));
            if (to == from)
                continue;
            var members = sorted.AsSpan(from, to - from);
            var mean = 0.0;
            var right = 0;
            foreach (var entity in members)
            {
                mean += entity.Probability;
                right += entity.Correct ? 1 : 0;
            }
            mean /= members.Length;
            var bin = new ReliabilityBin(members.Length, members[0].Probability, members[^1].Probability, mean, (double)right / members.Length);
            binList.Add(bin);
            ece += (double)members.Length / n * bin.Gap;
        }

        var brier = 0.0;
        var nll = 0.0;
        foreach (var entity in entities)
        {
            var outcome = entity.Correct ? 1.0 : 0.0;
            brier += (entity.Probability - outcome) * (entity.Probability - outcome);
            // Probabilities of exactly 0 or 1 would make one wrong entity cost infinitely much; 1e-12 bounds it.
            var p = Math.Clamp(entity.Probability, 1e-12, 1 - 1e-12);
            nll -= entity.Correct ? Math.Log(p) : Math.Log(1 - p);
        }

        var thresholds = ReportedThresholds.Select(threshold =>
        {
            var kept = entities.Where(e => e.Probability >= threshold).ToList();
            var right = kept.Count(e => e.Correct);
            return new ThresholdPrecision(threshold, kept.Count, kept.Count == 0 ? 0 : (double)right / kept.Count,
                goldCount == 0 ? 0 : (double)right / goldCount);
        }).ToList();

        return new CalibrationMetrics(
            n,
            n == 0 ? 0 : ece,
            n == 0 ? 0 : brier / n,
            n == 0 ? 0 : nll / n,
            n == 0 ? 0 : entities.Average(e => e.Probability),
            n == 0 ? 0 : (double)entities.Count(e => e.Correct) / n,
            binList,
            thresholds);
    }
}
