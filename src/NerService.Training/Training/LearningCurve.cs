using ScottPlot;

namespace NerService.Training.Training;

/// <summary>Plots validation F1 and training loss per epoch as a PNG beside the bundle.</summary>
public static class LearningCurve
{
    public static void Write(string path, IReadOnlyList<EpochRecord> history)
    {
        var plot = new Plot();
        var epochs = history.Select(h => (double)h.Epoch).ToArray();
        var f1 = plot.Add.Scatter(epochs, history.Select(h => h.F1).ToArray());
        f1.LegendText = "validation F1";
        var loss = plot.Add.Scatter(epochs, history.Select(h => h.Loss).ToArray());
        loss.LegendText = "training loss";
        loss.Axes.YAxis = plot.Axes.Right;
        plot.Axes.Left.Label.Text = "validation F1";
        plot.Axes.Right.Label.Text = "training loss";
        plot.Axes.Bottom.Label.Text = "epoch";
        plot.Title("Learning curve");
        plot.ShowLegend(Alignment.MiddleRight);
        plot.SavePng(path, 800, 500);
    }
}
