using System.Globalization;
using ScottPlot;

namespace NerService.Training.Calibration;

/// <summary>
/// A reliability diagram as a PNG. Left: each bin's mean entity probability against the share of its entities
/// that were right, beside the diagonal a calibrated model follows. Right: the same two numbers bin by bin, with
/// each bin's entity count, since equal-mass bins of a confident model crowd together near 1 on the left.
/// </summary>
public static class ReliabilityDiagram
{
    public static void Write(string path, CalibrationMetrics metrics, string title)
    {
        var bins = metrics.Bins;
        var lowest = bins.Count == 0 ? 0 : bins.Min(b => Math.Min(b.MeanProbability, b.Precision));
        var floor = Math.Max(0, Math.Floor((lowest - 0.05) * 10) / 10);
        var means = bins.Select(b => b.MeanProbability).ToArray();
        var precisions = bins.Select(b => b.Precision).ToArray();

        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();

        var diagram = multiplot.GetPlot(0);
        var diagonal = diagram.Add.Line(floor, floor, 1, 1);
        diagonal.LinePattern = LinePattern.Dashed;
        diagonal.LegendText = "calibrated";
        var points = diagram.Add.ScatterPoints(means, precisions);
        points.MarkerSize = 9;
        points.LegendText = "bin: mean probability, precision";
        diagram.Axes.SetLimits(floor, 1.0, floor, 1.0);
        diagram.Axes.Bottom.Label.Text = "mean entity probability in bin";
        diagram.Axes.Left.Label.Text = "precision in bin (exact span and label)";
        diagram.Title(string.Create(CultureInfo.InvariantCulture, $"{title}: ECE {metrics.ExpectedCalibrationError:F4}, Brier {metrics.BrierScore:F4}"), size: 13);
        diagram.ShowLegend(Alignment.LowerRight);

        var byBin = multiplot.GetPlot(1);
        var positions = Enumerable.Range(1, bins.Count).Select(i => (double)i).ToArray();
        var meanSeries = byBin.Add.ScatterPoints(positions, means);
        meanSeries.MarkerSize = 9;
        meanSeries.MarkerShape = MarkerShape.OpenCircle;
        meanSeries.LegendText = "mean probability";
        var precisionSeries = byBin.Add.ScatterPoints(positions, precisions);
        precisionSeries.MarkerSize = 9;
        precisionSeries.LegendText = "precision";
        for (var i = 0; i < bins.Count; i++)
        {
            var label = byBin.Add.Text(string.Create(CultureInfo.InvariantCulture, $"n={bins[i].Count}"), positions[i], floor + 0.01 * (1 - floor));
            label.LabelFontSize = 11;
            label.LabelAlignment = Alignment.LowerCenter;
        }
        byBin.Axes.SetLimits(0.5, bins.Count + 0.5, floor, 1.0);
        byBin.Axes.Bottom.SetTicks(positions, positions.Select(p => p.ToString(CultureInfo.InvariantCulture)).ToArray());
        byBin.Axes.Bottom.Label.Text = "bin (equal numbers of entities, by probability)";
        byBin.Axes.Left.Label.Text = "probability / precision";
        byBin.Title(string.Create(CultureInfo.InvariantCulture, $"{metrics.Entities} entities in {bins.Count} bins"), size: 13);
        byBin.ShowLegend(Alignment.MiddleRight);

        multiplot.SavePng(path, 1400, 650);
    }
}
