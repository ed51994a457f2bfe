using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using NerService.Model.Corpus;
using NerService.Model.Inference;

namespace NerService.Benchmarks;

/// <summary>
/// Raw tagger speed and memory: CoNLL sentences as plain text (tokens joined by spaces) through the whole
/// pipeline (tokenizer, sentence splitting, features, network, constrained decoding, entity offsets),
/// at batch 64 and one sentence at a time; then resident-memory growth over many sentences after warm-up.
/// </summary>
internal static class ModelBenchmark
{
    public static Command Command()
    {
        var bundle = new Option<string>("--bundle") { Description = "Model bundle.", DefaultValueFactory = _ => "models/ner-default.bundle" };
        var data = new Option<string>("--data") { Description = "CoNLL file whose sentences are tagged.", DefaultValueFactory = _ => "../shared/data/conll2003/valid.txt" };
        var seconds = new Option<double>("--seconds") { Description = "Time per speed measurement.", DefaultValueFactory = _ => 10 };
        var memorySentences = new Option<int>("--memory-sentences") { Description = "Sentences tagged for the memory check.", DefaultValueFactory = _ => 100_000 };
        var threads = new Option<int?>("--threads") { Description = "TorchSharp CPU threads (default: all cores)." };
        var command = new Command("model", "Tokens/s at batch 64 and batch 1, and memory growth over many sentences.")
        {
            bundle, data, seconds, memorySentences, threads,
        };
        command.SetAction(parse =>
        {
            if (parse.GetValue(threads) is { } count)
                TorchSharp.torch.set_num_threads(count);
            Run(parse.GetValue(bundle)!, parse.GetValue(data)!, parse.GetValue(seconds), parse.GetValue(memorySentences));
        });
        return command;
    }

    private static void Run(string bundlePath, string dataPath, double seconds, int memorySentences)
    {
        using var model = NerModel.Load(bundlePath);
        var sentences = ConllReader.ReadFile(dataPath, TaggingScheme.Iob2)
            .Select(s => string.Join(' ', s.Tokens))
            .ToArray();
        Console.WriteLine($"model {model.Info.Name} {model.Info.Version}; {sentences.Length} sentences from {dataPath}; {TorchSharp.torch.get_num_threads()} threads; {Environment.ProcessorCount} cores");

        foreach (var batchSize in new[] { 64, 1 })
        {
            Measure(model, sentences, batchSize, TimeSpan.FromSeconds(1)); // warm-up
            var (tokens, elapsed, calls) = Measure(model, sentences, batchSize, TimeSpan.FromSeconds(seconds));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"batch {batchSize,3}: {tokens / elapsed.TotalSeconds,10:N0} tokens/s  ({tokens:N0} tokens, {calls:N0} calls, {elapsed.TotalMilliseconds / calls:F2} ms/call)"));
        }

        // Memory: warm up, then tag many sentences in batches of 64, sampling resident memory.
        Measure(model, sentences, 64, TimeSpan.FromSeconds(2));
        var process = Process.GetCurrentProcess();
        GC.Collect();
        process.Refresh();
        var before = process.WorkingSet64;
        var peak = before;
        var done = 0;
        var clock = Stopwatch.StartNew();
        while (done < memorySentences)
        {
            var batch = Enumerable.Range(0, 64).Select(i => sentences[(done + i) % sentences.Length]).ToArray();
            model.Tag(batch);
            done += batch.Length;
            if (done % 6400 == 0)
            {
                process.Refresh();
                peak = Math.Max(peak, process.WorkingSet64);
            }
        }
        GC.Collect();
        process.Refresh();
        var after = process.WorkingSet64;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"memory: {done:N0} sentences in {clock.Elapsed.TotalSeconds:F0} s; resident {before / 1048576.0:F0} MB after warm-up, {after / 1048576.0:F0} MB at the end (growth {(after - before) / 1048576.0:F1} MB, peak {peak / 1048576.0:F0} MB)"));
    }

    private static (long Tokens, TimeSpan Elapsed, int Calls) Measure(NerModel model, string[] sentences, int batchSize, TimeSpan duration)
    {
        long tokens = 0;
        var calls = 0;
        var next = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            var batch = new string[batchSize];
            for (var i = 0; i < batchSize; i++)
                batch[i] = sentences[next++ % sentences.Length];
            foreach (var result in model.Tag(batch))
                tokens += result.TokenCount;
            calls++;
        }
        return (tokens, clock.Elapsed, calls);
    }
}
