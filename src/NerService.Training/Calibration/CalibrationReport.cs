using System.Globalization;
using NerService.Model.Corpus;
using NerService.Model.Inference;

namespace NerService.Training.Calibration;

/// <summary>
/// What <c>evaluate</c> reports about entity probabilities: the served ones (lattice probabilities at the bundle's
/// temperature), the same at temperature 1, and the geometric-mean scores the service gave before, side by side.
/// </summary>
public sealed record CalibrationReport(double Temperature, int GoldCount, CalibrationMetrics Served, CalibrationMetrics Uncalibrated, CalibrationMetrics GeometricMean)
{
    public static CalibrationReport Measure(NerModel model, IReadOnlyList<ConllSentence> sentences, IReadOnlyList<float[]> logProbabilities, Decoding decoding, int bins)
    {
        var predictions = ScoredPredictions.From(model, sentences, logProbabilities, decoding);
        return new CalibrationReport(
            model.Temperature,
            predictions.GoldCount,
            CalibrationMetrics.Compute(predictions.AtTemperature(model.Temperature), bins, predictions.GoldCount),
            CalibrationMetrics.Compute(predictions.AtTemperature(1), bins, predictions.GoldCount),
            CalibrationMetrics.Compute(predictions.GeometricMean(), bins, predictions.GoldCount));
    }

    public string Table()
    {
        var c = CultureInfo.InvariantCulture;
        var lines = new List<string>
        {
            Rows([
                (string.Create(c, $"served (T={Temperature:F3})"), Served),
                ("lattice, T=1", Uncalibrated),
                ("geometric mean", GeometricMean),
            ]),
            "",
            string.Create(c, $"reliability of the served probabilities ({Served.Bins.Count} bins of equal count):"),
            string.Create(c, $"{"bin",4} {"entities",9} {"from",7} {"to",7} {"mean p",7} {"precision",9} {"gap",7}"),
        };
        for (var i = 0; i < Served.Bins.Count; i++)
        {
            var bin = Served.Bins[i];
            lines.Add(string.Create(c, $"{i + 1,4} {bin.Count,9} {bin.MinProbability,7:F4} {bin.MaxProbability,7:F4} {bin.MeanProbability,7:F4} {bin.Precision,9:F4} {bin.Gap,7:F4}"));
        }
        lines.Add("");
        lines.Add(string.Create(c, $"{"minScore",8} {"kept",7} {"precision",9} {"recall",7}"));
        foreach (var row in Served.Thresholds)
            lines.Add(string.Create(c, $"{row.Threshold,8:F2} {row.Kept,7} {row.Precision,9:F4} {row.Recall,7:F4}"));
        return string.Join(Environment.NewLine, lines);
    }

    /// <summary>One line per set of scores: ECE, Brier, NLL, mean probability against precision, largest gap of a large bin.</summary>
    public static string Rows(IReadOnlyList<(string Name, CalibrationMetrics Metrics)> rows)
    {
        var c = CultureInfo.InvariantCulture;
        var lines = new List<string> { string.Create(c, $"{"entity probabilities",-22} {"entities",8} {"ECE",7} {"Brier",7} {"NLL",7} {"mean p",7} {"precision",9} {"max gap*",8}") };
        foreach (var (name, m) in rows)
        {
            lines.Add(string.Create(c,
                $"{name,-22} {m.Entities,8} {m.ExpectedCalibrationError,7:F4} {m.BrierScore,7:F4} {m.NegativeLogLikelihood,7:F4} {m.MeanProbability,7:F4} {m.Precision,9:F4} {m.LargestGapInLargeBins,8:F4}"));
        }
        lines.Add(string.Create(c, $"* largest |mean p - precision| over bins of at least {CalibrationMetrics.LargeBin} entities"));
        return string.Join(Environment.NewLine, lines);
    }

    public object ToJson() => new
    {
        temperature = Temperature,
        goldEntities = GoldCount,
        served = Json(Served),
        uncalibrated = Json(Uncalibrated),
        geometricMean = Json(GeometricMean),
    };

    private static object Json(CalibrationMetrics m) => new
    {
        entities = m.Entities,
        ece = m.ExpectedCalibrationError,
        brier = m.BrierScore,
        nll = m.NegativeLogLikelihood,
        meanProbability = m.MeanProbability,
        precision = m.Precision,
        largestGapInLargeBins = m.LargestGapInLargeBins,
        bins = m.Bins.Select(b => new { count = b.Count, from = b.MinProbability, to = b.MaxProbability, meanProbability = b.MeanProbability, precision = b.Precision }),
        thresholds = m.Thresholds.Select(t => new { minScore = t.Threshold, kept = t.Kept, precision = t.Precision, recall = t.Recall }),
    };
}
