using System.CommandLine;
using System.Globalization;
using NerService.Model.Corpus;
using NerService.Model.Inference;

namespace NerService.Benchmarks;

/// <summary>
/// Does tagging natural text lose accuracy against tagging the data set's own tokens? Writes every CoNLL
/// document back as running text (no space before closing punctuation, none after opening brackets, quotes paired),
/// tags that text the way the service does (the service's tokenizer and sentence splitter), maps the entities back
/// onto the gold tokens by character offsets, and scores both ways with the same conlleval metrics.
/// </summary>
internal static class TextFidelity
{
    public static Command Command()
    {
        var bundle = new Option<string>("--bundle") { Description = "Model bundle.", DefaultValueFactory = _ => "models/ner-default.bundle" };
        var data = new Option<string>("--data") { Description = "CoNLL file with -DOCSTART- documents.", DefaultValueFactory = _ => "../shared/data/conll2003/valid.txt" };
        var casing = new Option<TextCasing>("--casing") { Description = "Re-case the documents first (original, lower, upper, title); gold tags unchanged.", DefaultValueFactory = _ => TextCasing.Original };
        var command = new Command("fidelity", "Entity F1 on running text (as the service sees it) against F1 on the data set's tokens.") { bundle, data, casing };
        command.SetAction(parse => Run(parse.GetValue(bundle)!, parse.GetValue(data)!, parse.GetValue(casing)));
        return command;
    }

    private static void Run(string bundlePath, string dataPath, TextCasing casing)
    {
        using var model = NerModel.Load(bundlePath);
        var documents = ConllReader.ReadDocuments(dataPath, model.TagSet.Scheme).Select(d => Recasing.Apply(d, casing)).ToList();
        var sentences = documents.SelectMany(d => d).ToList();
        var onTokens = model.TagTokens(sentences.Select(s => s.Tokens).ToArray());
        var tokenMetrics = EntityMetrics.Compute(sentences.Select((s, i) => (s.Tags, (IReadOnlyList<string>)onTokens[i])), model.TagSet.Scheme);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{documents.Count} documents, {sentences.Count} sentences, casing {casing.ToString().ToLowerInvariant()}; F1 on the data set's tokens: {tokenMetrics.F1:P2}"));

        foreach (var (name, separator) in new[] { ("one sentence per line", "\n"), ("sentences run together in paragraphs", " ") })
        {
            var pairs = new List<(IReadOnlyList<string>, IReadOnlyList<string>)>();
            foreach (var document in documents)
            {
                var (text, offsets) = RunningText.Detokenize(document, separator);
                var entities = model.Tag([text])[0].Entities;
                for (var s = 0; s < document.Count; s++)
                    pairs.Add((document[s].Tags, RunningText.TagsFromSpans(offsets[s], entities.Select(e => (e.Label, e.Start, e.End)), model.TagSet.Scheme)));
            }
            var metrics = EntityMetrics.Compute(pairs, model.TagSet.Scheme);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"F1 on running text, {name}: {metrics.F1:P2} (difference {100 * (metrics.F1 - tokenMetrics.F1):+0.00;-0.00} points)"));
        }
    }
}
