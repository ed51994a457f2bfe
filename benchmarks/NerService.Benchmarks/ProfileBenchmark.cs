using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using NerService.Model.Bundles;
using NerService.Model.Corpus;
using NerService.Model.Decoding;
using NerService.Model.Features;
using NerService.Model.Inference;
using NerService.Model.Network;
using static TorchSharp.torch;

namespace NerService.Benchmarks;

/// <summary>
/// Where a batch's time goes, one worker, one libtorch thread: tokenizing, building the batch's tensors, the
/// network's three parts (input features, recurrent encoder, tag layer and softmax), copying the scores out and
/// decoding; each model's multiply-adds per token, the GFLOP/s it reaches and its share of the machine's peak.
/// Parts are timed in the thread's CPU time (<see cref="ThreadCpuClock"/>), so other processes on a shared
/// machine do not inflate them; wall time is the fallback where that clock is missing.
/// </summary>
internal static class ProfileBenchmark
{
    public static Command Command()
    {
        var bundle = new Option<string[]>("--bundle")
        {
            Description = "Model bundle; give it more than once to profile several models in one run.",
            DefaultValueFactory = _ => ["models/ner-default.bundle"],
            AllowMultipleArgumentsPerToken = true,
        };
        var data = new Option<string>("--data") { Description = "CoNLL file whose sentences are tagged.", DefaultValueFactory = _ => "../shared/data/conll2003/valid.txt" };
        var seconds = new Option<double>("--seconds") { Description = "Time per model and batch size.", DefaultValueFactory = _ => 10 };
        var libTorch = new Option<bool>("--libtorch-lstm") { Description = "Also profile each bundle with libtorch's own LSTM instead of the C# CPU tagger (CpuLstmTagger)." };
        var command = new Command("profile", "Time per part of a forward pass at batch 64 and 1, FLOPs per token and the share of the CPU's peak.")
        {
            bundle, data, seconds, libTorch,
        };
        command.SetAction(parse =>
        {
            TorchRuntime.SetThreads(1);
            Run(parse.GetValue(bundle)!, parse.GetValue(data)!, TimeSpan.FromSeconds(parse.GetValue(seconds)), parse.GetValue(libTorch));
        });
        return command;
    }

    private static readonly string[] Parts = ["tokenize", "build batch", "input features", "encoder", "tags + softmax", "copy out", "decode"];

    private static void Run(string[] bundlePaths, string dataPath, TimeSpan duration, bool libTorchToo)
    {
        var texts = ConllReader.ReadFile(dataPath, TaggingScheme.Iob2).Select(s => string.Join(' ', s.Tokens)).ToArray();
        var peak = CpuPeak.Describe();
        Console.WriteLine(peak.Explanation);
        var loads = ModelBenchmark.Variants(bundlePaths, libTorchToo).ToList();
        var bundles = loads.Select(l => ModelBundle.Load(l.Path)).ToList();
        var models = bundles.Zip(loads, (b, l) => new NerModel(b, CPU, cpuKernel: l.CpuKernel)).ToList();
        foreach (var batchSize in new[] { 64, 1 })
        {
            foreach (var (bundle, model) in bundles.Zip(models))
            {
                Profile(model, bundle, texts, batchSize, TimeSpan.FromSeconds(4));
                var (seconds, inputProduct, tokens) = Profile(model, bundle, texts, batchSize, duration);
                var total = seconds.Sum();
                var macs = MultiplyAddsPerToken(bundle.Network.Config, model.CpuKernel?.HasWordGateTable == true);
                var tokensPerSecond = tokens / total;
                var networkTokensPerSecond = tokens / (seconds[2] + seconds[3] + seconds[4]);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{ModelBenchmark.Label(model),-36} batch {batchSize,2}: {tokensPerSecond,8:N0} tokens/s, {total * 1e6 / tokens:F1} µs a token; {macs / 1e3:N0}k multiply-adds a token: "
                    + $"{2 * macs * tokensPerSecond / 1e9:F2} GFLOP/s over the whole pipeline, {2 * macs * networkTokensPerSecond / 1e9:F2} in the network = {2 * macs * networkTokensPerSecond / 1e9 / peak.PerCoreGflops:P1} of one core's peak"));
                Console.WriteLine("    " + string.Join("  ", Parts.Select((part, i) => string.Create(CultureInfo.InvariantCulture, $"{part} {seconds[i] / total:P0} ({seconds[i] * 1e6 / tokens:F2} µs/token)"))));
                if (inputProduct > 0)
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    of the encoder, the input product of all tokens at once: {inputProduct * 1e6 / tokens:F2} µs/token"));
            }
        }
        foreach (var model in models)
            model.Dispose();
    }

    /// <summary>Seconds spent in each of <see cref="Parts"/> (and of the encoder's, in the C# tagger's input product), and the tokens tagged.</summary>
    private static (double[] Seconds, double InputProductSeconds, long Tokens) Profile(NerModel model, ModelBundle bundle, string[] texts, int batchSize, TimeSpan duration)
    {
        var builder = new BatchBuilder(bundle.Words, bundle.Characters, bundle.Network.Config);
        var network = bundle.Network;
        var ticks = new long[Parts.Length];
        long inputProduct = 0;
        long tokens = 0;
        var next = 0;
        var clock = Stopwatch.StartNew();
        using var _ = inference_mode();
        while (clock.Elapsed < duration)
        {
            var start = Now();
            var sentences = new List<IReadOnlyList<string>>();
            for (var i = 0; i < batchSize; i++)
            {
                foreach (var sentence in model.Prepare(texts[next++ % texts.Length]).Sentences)
                    sentences.Add(sentence.Select(t => t.Text).ToArray());
            }
            sentences.Sort((a, b) => a.Count.CompareTo(b.Count));
            var mark = Lap(ticks, 0, start);

            float[] flat;
            if (model.CpuKernel is { } kernel)
            {
                // No tensors to build and nothing to copy out: those parts stay at zero.
                mark = Lap(ticks, 1, mark);
                using var work = new CpuLstmTagger.Workspace(kernel, sentences);
                kernel.InputFeatures(sentences, work.Features, work.WordIds);
                mark = Lap(ticks, 2, mark);
                kernel.InputGates(work.Features, work.WordIds, work.Gates);
                var product = Now() - mark;
                kernel.Encode(work.Gates, sentences, work.Encoded);
                mark = Lap(ticks, 3, mark);
                inputProduct += product;
                flat = kernel.TagLogProbabilities(work.Encoded, sentences).SelectMany(x => x).ToArray();
                mark = Lap(ticks, 4, mark);
                mark = Lap(ticks, 5, mark);
            }
            else
            {
                using var scope = NewDisposeScope();
                using var batch = builder.Build(sentences, CPU);
                mark = Lap(ticks, 1, mark);
                var input = network.InferenceInput(batch);
                mark = Lap(ticks, 2, mark);
                var encoded = network.EncodedTokens(input, batch);
                mark = Lap(ticks, 3, mark);
                var scores = network.TagLogProbabilities(encoded);
                mark = Lap(ticks, 4, mark);
                flat = scores.data<float>().ToArray();
                mark = Lap(ticks, 5, mark);
            }
            var k = model.TagSet.Count;
            var offset = 0;
            foreach (var sentence in sentences)
            {
                var sentenceScores = flat.AsSpan(offset, sentence.Count * k).ToArray();
                offset += sentenceScores.Length;
                var path = model.Decode(sentenceScores, Decoding.Constrained);
                var lattice = TagLattice.Build(sentenceScores, model.TagSet, model.Temperature);
                foreach (var span in TagDecoder.Spans(path, model.TagSet))
                    lattice.SpanProbability(span.Label, span.Start, span.End);
                tokens += sentence.Count;
            }
            Lap(ticks, 6, mark);
        }
        return (ticks.Select(t => t / 1e9).ToArray(), inputProduct / 1e9, tokens);
    }

    // Nanoseconds of the thread's CPU time (wall time where that clock is missing).
    private static long Now() => ThreadCpuClock.IsAvailable
        ? (long)(ThreadCpuClock.Seconds() * 1e9)
        : (long)(Stopwatch.GetTimestamp() * (1e9 / Stopwatch.Frequency));

    private static long Lap(long[] ticks, int part, long since)
    {
        var now = Now();
        ticks[part] += now - since;
        return now;
    }

    /// <summary>
    /// Multiply-adds a token costs in the recurrent layers and the tag layer (a gated cell of g gates and hidden
    /// size h over an input of size i: g·h·(i + h) per direction); the embedding and character lookups add no
    /// products at inference (the character CNN is a table lookup: additions only). With a word-gate table
    /// (<see cref="CpuLstmTagger.WordGateTableBytes"/>) the word vector's share of the first layer's input product
    /// is a lookup too, and is not counted.
    /// </summary>
    internal static long MultiplyAddsPerToken(NetworkConfig config, bool wordGateTable = false)
    {
        var gates = config.Cell switch { RecurrentCell.Lstm => 4, RecurrentCell.Gru => 3, _ => 1 };
        var directions = config.Bidirectional ? 2 : 1;
        long input = config.WordDimension + (config.UseCharacters ? config.CharFilters : 0) + (config.UseCasing ? config.CasingDimension : 0);
        long total = 0;
        for (var layer = 0; layer < config.Layers; layer++)
        {
            var multiplied = layer == 0 && wordGateTable ? input - config.WordDimension : input;
            total += directions * gates * (long)config.HiddenSize * (multiplied + config.HiddenSize);
            input = directions * config.HiddenSize;
        }
        return total + input * config.TagCount;
    }
}

/// <summary>The CPU's fp32 peak from /proc/cpuinfo: cores × FMA units × vector lanes × 2 FLOPs × clock.</summary>
internal sealed record CpuPeak(double PerCoreGflops, double TotalGflops, string Explanation)
{
    public static CpuPeak Describe()
    {
        var info = File.Exists("/proc/cpuinfo") ? File.ReadAllText("/proc/cpuinfo") : "";
        string Field(string name) => info.Split('\n').FirstOrDefault(l => l.StartsWith(name, StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?";
        var flags = Field("flags").Split(' ');
        // AMD cores before Zen 5 (family 26) run a 512-bit instruction as two halves on their 256-bit pipes: AVX-512
        // there does not double the peak (Zen 4, family 25, has the flags).
        var halfWidth512 = Field("vendor_id") == "AuthenticAMD" && int.TryParse(Field("cpu family"), out var family) && family < 26;
        var lanes = flags.Contains("avx512f") && !halfWidth512 ? 16 : flags.Contains("avx") ? 8 : 4;
        var vectors = lanes == 16 ? "AVX-512" : lanes == 8 ? (flags.Contains("avx512f") ? "AVX-512 on 256-bit pipes" : "AVX2") : "SSE";
        var fma = flags.Contains("fma");
        var megahertz = double.TryParse(Field("cpu MHz"), CultureInfo.InvariantCulture, out var mhz) ? mhz : 0;
        // Two FMA pipes per core on the x86 server cores of recent years (AMD Zen 1–5, Intel since Haswell);
        // /proc/cpuinfo cannot tell, so this is the one assumption here.
        const int fmaUnits = 2;
        var perCore = fmaUnits * lanes * (fma ? 2 : 1) * megahertz / 1000;
        // Counted from /proc/cpuinfo: the runtime's processor count follows CPU quotas and affinity.
        var cores = Math.Max(1, info.Split('\n').Count(l => l.StartsWith("processor", StringComparison.Ordinal)));
        return new CpuPeak(perCore, perCore * cores, string.Create(CultureInfo.InvariantCulture,
            $"CPU {Field("model name")}, {cores} cores at {megahertz:F0} MHz, {(fma ? "FMA" : "no FMA")}, {lanes} fp32 lanes ({vectors}): "
            + $"fp32 peak {fmaUnits} FMA units × {lanes} lanes × {(fma ? 2 : 1)} FLOPs × {megahertz / 1000:F3} GHz = {perCore:F1} GFLOP/s a core, {perCore * cores:F1} GFLOP/s for {cores}"));
    }
}
