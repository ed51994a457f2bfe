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

        /// <summary>The network's per-token log-probabilities of each sentence (row-major [tokens, tags]).</summary>
        public IReadOnlyList<float[]> LogProbabilities { get; init; } = [];
    }

    /// <summary>
    /// Scores one decoding. <paramref name="documentSizes"/> (sentences per document, in order) lets the model's
    /// document consistency see whole documents; null decodes each sentence alone.
    /// </summary>
    public static Result Evaluate(NerModel model, IReadOnlyList<ConllSentence> sentences, Decoding decoding, IReadOnlyList<int>? documentSizes = null)
        => EvaluateEach(model, sentences, [decoding], documentSizes)[0];

    /// <summary>Scores several decodings from one forward pass; the time is that of the pass and the first decoding.</summary>
    public static IReadOnlyList<Result> EvaluateEach(NerModel model, IReadOnlyList<ConllSentence> sentences, IReadOnlyList<Decoding> decodings, IReadOnlyList<int>? documentSizes = null)
    {
        var clock = Stopwatch.StartNew();
        var scores = model.PredictLogProbabilities(sentences.Select(s => s.Tokens).ToArray());
        var forward = clock.Elapsed.TotalSeconds;
        var results = new List<Result>();
        foreach (var decoding in decodings)
        {
            clock.Restart();
            var predictions = Decode(model, sentences, scores, decoding, documentSizes ?? [.. sentences.Select(_ => 1)])
                .Select(path => path.Select(k => model.TagSet.Tags[k]).ToArray()).ToArray();
            var seconds = forward + clock.Elapsed.TotalSeconds;
            // Gold tags are in the model's scheme (the reader converts them), so both sides are read by the same rules.
            var pairs = sentences.Select((s, i) => ((IReadOnlyList<string>)s.Tags, (IReadOnlyList<string>)predictions[i]));
            var metrics = EntityMetrics.Compute(pairs, model.TagSet.Scheme);
            results.Add(new Result(metrics, predictions, sentences.Count, sentences.Sum(s => s.Tokens.Count), seconds) { LogProbabilities = scores });
        }
        return results;
    }

    private static IEnumerable<int[]> Decode(NerModel model, IReadOnlyList<ConllSentence> sentences, float[][] scores, Decoding decoding, IReadOnlyList<int> documentSizes)
    {
        var first = 0;
        foreach (var size in documentSizes)
        {
            foreach (var path in model.DecodeText([.. sentences.Skip(first).Take(size).Select(s => s.Tokens)], scores[first..(first + size)], decoding))
                yield return path;
            first += size;
        }
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
