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
        var bundle = new Option<string[]>("--bundle")
        {
            Description = "Model bundle; give it more than once to measure several models in one run, in turn at each setting.",
            DefaultValueFactory = _ => ["models/ner-default.bundle"],
            AllowMultipleArgumentsPerToken = true,
        };
        var data = new Option<string>("--data") { Description = "CoNLL file whose sentences are tagged.", DefaultValueFactory = _ => "../shared/data/conll2003/valid.txt" };
        var seconds = new Option<double>("--seconds") { Description = "Time per speed measurement.", DefaultValueFactory = _ => 10 };
        var warmUp = new Option<double>("--warm-up") { Description = "Uncounted tagging before each speed measurement, in seconds.", DefaultValueFactory = _ => 3 };
        var memorySentences = new Option<int>("--memory-sentences") { Description = "Sentences tagged for the memory check.", DefaultValueFactory = _ => 100_000 };
        var workers = new Option<int>("--workers") { Description = "Threads tagging batches side by side, sharing one model, as the service's inference threads do (default: one per core).", DefaultValueFactory = _ => BatchingTagger.DefaultInferenceThreads(TorchSharp.torch.CPU) };
        var threads = new Option<int?>("--threads") { Description = "libtorch CPU threads per forward pass (default: cores / workers, as in the service)." };
        var libTorch = new Option<bool>("--libtorch-lstm") { Description = "Also measure each bundle with libtorch's own LSTM instead of the C# CPU tagger (CpuLstmTagger), in the same run." };
        var command = new Command("model", "Tokens/s at batch 64 and batch 1, and memory growth over many sentences.")
        {
            bundle, data, seconds, warmUp, memorySentences, threads, workers, libTorch,
        };
        command.SetAction(parse =>
        {
            TorchRuntime.SetThreads(parse.GetValue(threads) ?? TorchRuntime.ThreadsPerPass(parse.GetValue(workers)));
            Run(parse.GetValue(bundle)!, parse.GetValue(data)!, TimeSpan.FromSeconds(parse.GetValue(warmUp)), TimeSpan.FromSeconds(parse.GetValue(seconds)), parse.GetValue(memorySentences), parse.GetValue(workers), parse.GetValue(libTorch));
        });
        return command;
    }

    private static void Run(string[] bundlePaths, string dataPath, TimeSpan warmUp, TimeSpan duration, int memorySentences, int workers, bool libTorchToo)
    {
        var sentences = ConllReader.ReadFile(dataPath, TaggingScheme.Iob2)
            .Select(s => string.Join(' ', s.Tokens))
            .ToArray();
        var models = new List<NerModel>();
        foreach (var (path, cpuKernel) in Variants(bundlePaths, libTorchToo))
        {
            // Resident memory a model adds: loaded and warmed up (its first passes allocate libtorch's buffers).
            GC.Collect();
            var unloaded = ResidentBytes();
            var loaded = NerModel.Load(path, cpuKernel: cpuKernel);
            MeasureParallel(loaded, sentences, 64, TimeSpan.FromSeconds(1), workers);
            GC.Collect();
            var warmedUp = ResidentBytes();
            models.Add(loaded);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"model {Label(loaded)} {loaded.Info.Version} ({path}, {new FileInfo(path).Length / 1048576.0:F1} MB): resident memory +{(warmedUp - unloaded) / 1048576.0:F0} MB loaded and warmed up"));
        }
        Console.WriteLine($"{sentences.Length} sentences from {dataPath}; {workers} workers, {TorchSharp.torch.get_num_threads()} libtorch threads each; {Environment.ProcessorCount} cores");

        // With several workers, each runs its own batches side by side on one shared model; "1 worker" is one
        // caller alone (batch 1 there is one sentence at a time). Several models are measured in turn at each
        // setting, so that the machine's drift touches them alike.
        foreach (var (batchSize, parallel) in new[] { (64, workers), (64, 1), (1, 1), (1, workers) }.Distinct())
        {
            foreach (var each in models)
            {
                MeasureParallel(each, sentences, batchSize, warmUp, parallel);
                var (tokens, elapsed, calls, cpuSeconds) = MeasureParallel(each, sentences, batchSize, duration, parallel);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{Label(each),-30} batch {batchSize,3}, {parallel} worker{(parallel == 1 ? " " : "s")}: {tokens / elapsed.TotalSeconds,10:N0} tokens/s  ({tokens:N0} tokens, {calls:N0} calls, {elapsed.TotalMilliseconds * parallel / calls:F2} ms/call); "
                    + $"{tokens / cpuSeconds,10:N0} tokens per CPU-second of the tagging threads ({cpuSeconds / (elapsed.TotalSeconds * parallel):P0} of their wall time on a CPU)"));
            }
        }
        foreach (var other in models.Skip(1))
            other.Dispose();
        using var measured = models[0];

        // Memory: warm up, then tag many sentences in batches of 64 on every worker, sampling resident memory.
        var model = measured;
        MeasureParallel(model, sentences, 64, TimeSpan.FromSeconds(2), workers);
        var process = Process.GetCurrentProcess();
        GC.Collect();
        process.Refresh();
        var before = process.WorkingSet64;
        var peak = before;
        var batches = (memorySentences + 63) / 64;
        var taken = -1;
        var taggersGate = new object();
        var clock = Stopwatch.StartNew();
        var taggers = Enumerable.Range(0, workers).Select(w => new Thread(() =>
        {
            int batch;
            while ((batch = Interlocked.Increment(ref taken)) < batches)
            {
                model.Tag(Enumerable.Range(batch * 64, 64).Select(i => sentences[i % sentences.Length]).ToArray());
                if (batch % 100 == 0)
                {
                    using var current = Process.GetCurrentProcess();
                    lock (taggersGate)
                        peak = Math.Max(peak, current.WorkingSet64);
                }
            }
        })).ToArray();
        foreach (var tagger in taggers)
            tagger.Start();
        foreach (var tagger in taggers)
            tagger.Join();
        var done = batches * 64;
        GC.Collect();
        process.Refresh();
        var after = process.WorkingSet64;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"memory ({Label(model)}): {done:N0} sentences in {clock.Elapsed.TotalSeconds:F0} s; resident {before / 1048576.0:F0} MB after warm-up, {after / 1048576.0:F0} MB at the end (growth {(after - before) / 1048576.0:F1} MB, peak {peak / 1048576.0:F0} MB)"));
    }

    /// <summary>Each bundle through the C# CPU tagger, and with <paramref name="libTorchToo"/> once more through libtorch's LSTM.</summary>
    internal static IEnumerable<(string Path, bool CpuKernel)> Variants(string[] bundlePaths, bool libTorchToo)
        => bundlePaths.SelectMany(p => libTorchToo ? new[] { (p, true), (p, false) } : [(p, true)]);

    /// <summary>The model's name, marked where it runs through libtorch's LSTM.</summary>
    internal static string Label(NerModel model) => model.UsesCpuKernel ? model.Info.Name : $"{model.Info.Name} (libtorch LSTM)";

    private static long ResidentBytes()
    {
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }

    /// <summary>Tags batches of <paramref name="batchSize"/> texts on <paramref name="workers"/> threads for a while; the figures of all together.</summary>
    internal static (long Tokens, TimeSpan Elapsed, int Calls, double CpuSeconds) MeasureParallel(NerModel model, string[] sentences, int batchSize, TimeSpan duration, int workers)
    {
        if (workers == 1)
            return Measure(model, sentences, batchSize, duration);
        var results = new (long Tokens, TimeSpan Elapsed, int Calls, double CpuSeconds)[workers];
        var threads = Enumerable.Range(0, workers).Select(w => new Thread(() =>
            results[w] = Measure(model, sentences, batchSize, duration, start: w * sentences.Length / workers))).ToArray();
        foreach (var thread in threads)
            thread.Start();
        foreach (var thread in threads)
            thread.Join();
        return (results.Sum(r => r.Tokens), results.Max(r => r.Elapsed), results.Sum(r => r.Calls), results.Sum(r => r.CpuSeconds));
    }

    private static (long Tokens, TimeSpan Elapsed, int Calls, double CpuSeconds) Measure(NerModel model, string[] sentences, int batchSize, TimeSpan duration, int start = 0)
    {
        long tokens = 0;
        var calls = 0;
        var next = start;
        var cpuStart = ThreadCpuClock.Seconds();
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
        return (tokens, clock.Elapsed, calls, ThreadCpuClock.Seconds() - cpuStart);
    }
}
