using System.CommandLine;
using System.Globalization;
using System.Text;
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
        var command = new Command("fidelity", "Entity F1 on running text (as the service sees it) against F1 on the data set's tokens.") { bundle, data };
        command.SetAction(parse => Run(parse.GetValue(bundle)!, parse.GetValue(data)!));
        return command;
    }

    private static void Run(string bundlePath, string dataPath)
    {
        using var model = NerModel.Load(bundlePath);
        var documents = ReadDocuments(dataPath, model.TagSet.Scheme);
        var sentences = documents.SelectMany(d => d).ToList();
        var onTokens = model.TagTokens(sentences.Select(s => s.Tokens).ToArray());
        var tokenMetrics = EntityMetrics.Compute(sentences.Select((s, i) => (s.Tags, (IReadOnlyList<string>)onTokens[i])), model.TagSet.Scheme);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{documents.Count} documents, {sentences.Count} sentences; F1 on the data set's tokens: {tokenMetrics.F1:P2}"));

        foreach (var (name, separator) in new[] { ("one sentence per line", "\n"), ("sentences run together in paragraphs", " ") })
        {
            var pairs = new List<(IReadOnlyList<string>, IReadOnlyList<string>)>();
            foreach (var document in documents)
            {
                var (text, offsets) = Detokenize(document, separator);
                var entities = model.Tag([text])[0].Entities;
                for (var s = 0; s < document.Count; s++)
                    pairs.Add((document[s].Tags, TagsFromEntities(offsets[s], entities, model.TagSet.Scheme)));
            }
            var metrics = EntityMetrics.Compute(pairs, model.TagSet.Scheme);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"F1 on running text, {name}: {metrics.F1:P2} (difference {100 * (metrics.F1 - tokenMetrics.F1):+0.00;-0.00} points)"));
        }
    }

    private static List<List<ConllSentence>> ReadDocuments(string path, TaggingScheme scheme)
    {
        // The reader drops -DOCSTART- lines; split the file at them first so documents stay apart.
        var documents = new List<List<ConllSentence>>();
        var block = new StringBuilder();
        void Flush()
        {
            if (block.Length == 0)
                return;
            var sentences = ConllReader.Read(new StringReader(block.ToString()), path, scheme);
            if (sentences.Count > 0)
                documents.Add([.. sentences]);
            block.Clear();
        }
        foreach (var line in File.ReadLines(path))
        {
            if (line.StartsWith("-DOCSTART-", StringComparison.Ordinal))
                Flush();
            else
                block.AppendLine(line);
        }
        Flush();
        return documents;
    }

    private static readonly HashSet<string> NoSpaceBefore = [",", ".", ":", ";", "!", "?", ")", "]", "}", "%", "'s", "n't", "'re", "'ve", "'ll", "'d", "'m", "..."];
    private static readonly HashSet<string> NoSpaceAfter = ["(", "[", "{", "$", "US$"];

    private static (string Text, List<(int Start, int End)[]> Offsets) Detokenize(List<ConllSentence> document, string separator)
    {
        var text = new StringBuilder();
        var offsets = new List<(int, int)[]>();
        foreach (var sentence in document)
        {
            if (text.Length > 0)
                text.Append(separator);
            var spans = new (int, int)[sentence.Tokens.Count];
            var quoteOpen = false;
            var glueNext = true;
            for (var t = 0; t < sentence.Tokens.Count; t++)
            {
                var token = sentence.Tokens[t];
                var glue = glueNext || NoSpaceBefore.Contains(token) || (token == "\"" && quoteOpen);
                if (!glue)
                    text.Append(' ');
                spans[t] = (text.Length, text.Length + token.Length);
                text.Append(token);
                glueNext = NoSpaceAfter.Contains(token) || (token == "\"" && !quoteOpen);
                if (token == "\"")
                    quoteOpen = !quoteOpen;
            }
            offsets.Add(spans);
        }
        return (text.ToString(), offsets);
    }

    private static string[] TagsFromEntities((int Start, int End)[] tokens, IReadOnlyList<EntitySpan> entities, TaggingScheme scheme)
    {
        var spans = new List<LabeledSpan>();
        foreach (var entity in entities)
        {
            // Gold tokens the entity overlaps.
            var first = Array.FindIndex(tokens, t => t.End > entity.Start && t.Start < entity.End);
            if (first < 0)
                continue;
            var last = Array.FindLastIndex(tokens, t => t.End > entity.Start && t.Start < entity.End);
            if (spans.Count > 0 && spans[^1].End > first)
                continue;
            spans.Add(new LabeledSpan(entity.Label, first, last + 1));
        }
        return TagSequence.ToTags(spans, tokens.Length, scheme);
    }
}
