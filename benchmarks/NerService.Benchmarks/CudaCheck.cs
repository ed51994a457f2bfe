using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using NerService.Model.Bundles;
using NerService.Model.Corpus;
using NerService.Model.Inference;
using static TorchSharp.torch;

namespace NerService.Benchmarks;

/// <summary>
/// On a CUDA machine: loads one bundle on the CPU and on the GPU (CUDA from an existing libtorch such as
/// PyTorch's torch/lib), tags the same sentences with both, checks that every entity's label and span agree and
/// that scores agree within 1e-4, and times both. Exits non-zero when they disagree.
/// </summary>
internal static class CudaCheck
{
    public static Command Command()
    {
        var bundle = new Option<string>("--bundle") { Description = "Model bundle.", DefaultValueFactory = _ => "models/ner-default.bundle" };
        var data = new Option<string>("--data") { Description = "CoNLL file whose sentences are tagged.", Required = true };
        var libTorch = new Option<string?>("--libtorch") { Description = "Directory of a CUDA libtorch (e.g. .../site-packages/torch/lib); omit with a CUDA build of TorchSharp." };
        var count = new Option<int>("--sentences") { Description = "How many sentences to compare.", DefaultValueFactory = _ => 2000 };
        var command = new Command("cuda", "Compare CUDA with CPU output on the same sentences, and time both.") { bundle, data, libTorch, count };
        command.SetAction(parse => Run(parse.GetValue(bundle)!, parse.GetValue(data)!, parse.GetValue(libTorch), parse.GetValue(count)));
        return command;
    }

    private static int Run(string bundlePath, string dataPath, string? libTorch, int count)
    {
        var gpu = TorchRuntime.Resolve("cuda", libTorch);
        using var onCpu = new NerModel(ModelBundle.Load(bundlePath), CPU);
        using var onGpu = new NerModel(ModelBundle.Load(bundlePath), gpu);
        var texts = ConllReader.ReadFile(dataPath, TaggingScheme.Iob2).Take(count).Select(s => string.Join(' ', s.Tokens)).ToArray();
        Console.WriteLine($"{texts.Length} sentences; CPU threads {get_num_threads()}; GPU {gpu}");

        var cpuResults = onCpu.Tag(texts);
        var gpuResults = onGpu.Tag(texts);
        var (mismatches, worstScore) = (0, 0.0);
        for (var i = 0; i < texts.Length; i++)
        {
            var a = cpuResults[i].Entities;
            var b = gpuResults[i].Entities;
            if (a.Count != b.Count || a.Zip(b).Any(p => p.First.Label != p.Second.Label || p.First.Start != p.Second.Start || p.First.End != p.Second.End))
            {
                mismatches++;
                continue;
            }
            foreach (var (x, y) in a.Zip(b))
                worstScore = Math.Max(worstScore, Math.Abs(x.Score - y.Score));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"entities: {cpuResults.Sum(r => r.Entities.Count)} on CPU; sentences whose entities differ: {mismatches}; largest score difference {worstScore:E2}"));

        foreach (var (name, model) in new[] { ("cpu", onCpu), ("cuda", onGpu) })
        {
            foreach (var batch in new[] { 1, 64, 256 })
            {
                var tagger = new NerModel(ModelBundle.Load(bundlePath), model.Device) { MaxBatchSentences = batch };
                tagger.Tag(texts.Take(batch * 2).ToArray()); // warm-up
                var clock = Stopwatch.StartNew();
                var tokens = 0;
                foreach (var chunk in texts.Chunk(batch))
                    tokens += tagger.Tag(chunk).Sum(r => r.TokenCount);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{name,-5} batch {batch,3}: {tokens / clock.Elapsed.TotalSeconds,12:N0} tokens/s"));
                tagger.Dispose();
            }
        }
        var agree = mismatches == 0 && worstScore <= 1e-4;
        Console.WriteLine(agree ? "CUDA agrees with CPU." : "CUDA DISAGREES with CPU.");
        return agree ? 0 : 1;
    }
}
