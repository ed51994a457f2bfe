using System.Globalization;
using ScottPlot;

namespace NerService.Training.Calibration;

/// <summary>
/// Plots each bin's mean entity probability against the share of its entities that were right, beside the
/// diagonal a calibrated model follows, with the number of entities in each bin written over its point.
/// </summary>
public static class ReliabilityDiagram
{
    public static void Write(string path, CalibrationMetrics metrics, string title)
    {
        var plot = new Plot();
        var bins = metrics.Bins;
        // Equal-mass bins of a confident model crowd near 1; the axes start a little below the lowest point so they stay apart.
        var lowest = bins.Count == 0 ? 0 : bins.Min(b => Math.Min(b.MeanProbability, b.Precision));
        var floor = Math.Max(0, Math.Floor((lowest - 0.05) * 10) / 10);

        var diagonal = plot.Add.Line(floor, floor, 1, 1);
        diagonal.LinePattern = LinePattern.Dashed;
        diagonal.LegendText = "calibrated";
        var points = plot.Add.Scatter(bins.Select(b => b.MeanProbability).ToArray(), bins.Select(b => b.Precision).ToArray());
        points.MarkerSize = 9;
        points.LegendText = "bins of equal count: mean probability vs precision";
        foreach (var bin in bins)
        {
            var label = plot.Add.Text(bin.Count.ToString(CultureInfo.InvariantCulture), bin.MeanProbability, bin.Precision);
            label.LabelFontSize = 11;
            label.LabelAlignment = Alignment.LowerRight;
        }

        plot.Axes.SetLimits(floor, 1.0, floor, 1.0);
        plot.Axes.Bottom.Label.Text = "mean entity probability in bin";
        plot.Axes.Left.Label.Text = "precision in bin (exact span and label)";
        plot.Title(string.Create(CultureInfo.InvariantCulture,
            $"{title}: {metrics.Entities} entities, ECE {metrics.ExpectedCalibrationError:F4}, Brier {metrics.BrierScore:F4}"));
        plot.ShowLegend(Alignment.LowerRight);
        plot.SavePng(path, 800, 700);
    }
}
