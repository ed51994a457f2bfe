using NerService.Training.Calibration;

namespace NerService.Training.Tests;

public sealed class CalibrationMetricsTests
{
    [Fact]
    public void ExpectedCalibrationErrorAndBrierScoreOfAHandExample()
    {
        // Sorted by probability: [0.2 wrong, 0.6 right] [0.9 right, 0.9 wrong]. Bin 1: mean 0.4, precision 0.5;
        // bin 2: mean 0.9, precision 0.5. ECE = ½·0.1 + ½·0.4; Brier = (0.01 + 0.81 + 0.16 + 0.04) / 4.
        ScoredEntity[] entities = [new(0.9, true), new(0.9, false), new(0.6, true), new(0.2, false)];

        var metrics = CalibrationMetrics.Compute(entities, bins: 2, goldCount: 5);

        Assert.Equal(0.25, metrics.ExpectedCalibrationError, 12);
        Assert.Equal(0.255, metrics.BrierScore, 12);
        Assert.Equal(-(Math.Log(0.9) + Math.Log(0.1) + Math.Log(0.6) + Math.Log(0.8)) / 4, metrics.NegativeLogLikelihood, 12);
        Assert.Equal([(2, 0.4, 0.5), (2, 0.9, 0.5)], metrics.Bins.Select(b => (b.Count, Math.Round(b.MeanProbability, 12), b.Precision)));
        Assert.Equal(0, metrics.LargestGapInLargeBins); // no bin reaches 100 entities
        Assert.Equal([0.5, 0.8, 0.9, 0.95], metrics.Thresholds.Select(t => t.Threshold));
        Assert.Equal([3, 2, 2, 0], metrics.Thresholds.Select(t => t.Kept));
        Assert.Equal([2 / 3.0, 0.5, 0.5, 0], metrics.Thresholds.Select(t => t.Precision));
        Assert.Equal([0.4, 0.2, 0.2, 0], metrics.Thresholds.Select(t => t.Recall));
    }

    [Fact]
    public void EqualMassBinsDifferInSizeByAtMostOneAndCoverEveryEntity()
    {
        var entities = Enumerable.Range(0, 23).Select(i => new ScoredEntity(i / 23.0, i % 3 == 0)).ToArray();

        var metrics = CalibrationMetrics.Compute(entities, bins: 5);

        Assert.Equal(23, metrics.Bins.Sum(b => b.Count));
        Assert.InRange(metrics.Bins.Max(b => b.Count) - metrics.Bins.Min(b => b.Count), 0, 1);
        for (var b = 1; b < metrics.Bins.Count; b++)
            Assert.True(metrics.Bins[b - 1].MaxProbability <= metrics.Bins[b].MinProbability);
    }

    [Fact]
    public void ProbabilitiesThatMatchTheirBinsPrecisionHaveNoCalibrationError()
    {
        // 100 entities at 0.3 of which 30 right, 100 at 0.8 of which 80 right.
        var entities = Enumerable.Range(0, 100).Select(i => new ScoredEntity(0.3, i < 30))
            .Concat(Enumerable.Range(0, 100).Select(i => new ScoredEntity(0.8, i < 80)))
            .ToArray();

        var metrics = CalibrationMetrics.Compute(entities, bins: 2);

        Assert.Equal(0, metrics.ExpectedCalibrationError, 12);
        Assert.Equal(0, metrics.LargestGapInLargeBins, 12);
        Assert.Equal((30 * 0.49 + 70 * 0.09 + 80 * 0.04 + 20 * 0.64) / 200, metrics.BrierScore, 12);
    }

    [Fact]
    public void NoEntitiesGiveZerosRatherThanNaN()
    {
        var metrics = CalibrationMetrics.Compute([], bins: 10);

        Assert.Equal((0, 0.0, 0.0), (metrics.Entities, metrics.ExpectedCalibrationError, metrics.BrierScore));
        Assert.Empty(metrics.Bins);
        Assert.All(metrics.Thresholds, t => Assert.Equal(0, t.Kept));
    }
}
