using System.Diagnostics;
using NerService.Model.Corpus;
using NerService.Model.Inference;

namespace NerService.Training.Training;

/// <summary>Scores a model on gold sentences: conlleval's entity-level precision, recall and F1, and speed.</summary>
public static class Evaluator
{
    public sealed record Result(EntityMetrics Metrics, IReadOnlyList<string[]> Predictions, int Sentences, int Tokens, double Seconds)
    {
        public double TokensPerSecond => Seconds > 0 ? Tokens / Seconds : 0;
    }

    public static Result Evaluate(NerModel model, IReadOnlyList<ConllSentence> sentences, Decoding decoding)
    {
        var clock = Stopwatch.StartNew();
        var predictions = model.TagTokens(sentences.Select(s => s.Tokens).ToArray(), decoding);
        var seconds = clock.Elapsed.TotalSeconds;
        var scheme = model.TagSet.Scheme;
        // Gold tags are compared in the model's scheme, so both sides are read by the same rules.
        var pairs = sentences.Select((s, i) => ((IReadOnlyList<string>)s.Tags, (IReadOnlyList<string>)predictions[i]));
        var metrics = EntityMetrics.Compute(pairs, scheme);
        return new Result(metrics, predictions, sentences.Count, sentences.Sum(s => s.Tokens.Count), seconds);
    }

    public static string Table(EntityMetrics metrics)
    {
        var lines = new List<string> { $"{"type",-8} {"precision",9} {"recall",9} {"f1",9} {"gold",7} {"found",7}" };
        foreach (var (type, scores) in metrics.ByType)
            lines.Add($"{type,-8} {scores.Precision,9:P2} {scores.Recall,9:P2} {scores.F1,9:P2} {scores.GoldCount,7} {scores.PredictedCount,7}");
        lines.Add($"{"overall",-8} {metrics.Precision,9:P2} {metrics.Recall,9:P2} {metrics.F1,9:P2} {metrics.Overall.GoldCount,7} {metrics.Overall.PredictedCount,7}");
        return string.Join(Environment.NewLine, lines);
    }
}
