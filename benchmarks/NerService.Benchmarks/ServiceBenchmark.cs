using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using NerService.Model.Inference;

namespace NerService.Benchmarks;

/// <summary>
/// The service under load, in one run: the built API started as a child process on a loopback port, a closed-loop
/// load generator of single CoNLL sentences in this process. Measures (a) dynamic batching against (b) batch size 1
/// at 64 clients, (c) latency and tokens/s at 1, 16 and 64 clients, (d) the same with inference threads that wait
/// 2 ms for a batch to fill, and (e) the model's raw tokens/s in this process at the batch size the service formed,
/// in pairs with the service at 64 clients measured back to back (the services idle while the raw model runs), so
/// that the machine's drift falls on both sides of the ratio. The three services run side by side and are measured
/// in turn at each client count.
/// </summary>
internal static class ServiceBenchmark
{
    private static readonly int[] ClientCounts = [1, 16, 64];
    private const int CompareClients = 64;
    private const double WaitingDelayMs = 2;
    // Service/raw comes from this many pairs of back-to-back windows: on this shared machine the speed drifts by a
    // tenth or more between minutes, more than the effects measured.
    private const int ComparePairs = 3;

    public static Command Command()
    {
        var options = new BenchmarkOptions();
        var command = new Command("service", "POST /ner throughput and latency: dynamic batching vs batch size 1, 1/16/64 clients, against the raw model.");
        options.AddTo(command, withDocuments: true);
        command.SetAction((parse, _) => options.TryRead(parse, out var settings) ? Run(settings) : Task.FromResult(2));
        return command;
    }

    private static async Task<int> Run(BenchmarkSettings settings)
    {
        TorchRuntime.SetThreads(settings.ThreadsPerPass);
        var sentences = settings.WholeDocuments
            ? SentenceRequest.ReadConllDocuments(settings.DataPath, store: false, settings.ModelName)
            : SentenceRequest.ReadConll(settings.DataPath, store: false, settings.ModelName);
        // The raw model always tags single sentences, in batches of the size the service formed (in sentences).
        var rawTexts = settings.WholeDocuments
            ? SentenceRequest.ReadConll(settings.DataPath, store: false).Select(s => s.Text).ToArray()
            : sentences.Select(s => s.Text).ToArray();
        Console.WriteLine($"service {settings.ApiDll}; bundle {settings.BundlePath}; {sentences.Length} {Workload(settings)} from {settings.DataPath}; "
            + $"{Environment.ProcessorCount} cores; {settings.Describe()}; warm-up {settings.WarmUp.TotalSeconds:F0} s, {settings.Duration.TotalSeconds:F0} s per measurement");
        using var client = LoadGenerator.CreateClient(ClientCounts.Max() + 1); // one more for reading the metrics

        using var model = NerModel.Load(settings.BundlePath);
        var pairs = new List<(double Service, double Raw)>();
        var typicalBatch = 1;
        double? rawAt64 = null;
        var dynamic = new Dictionary<int, (LoadResult Load, BatchFigures Batches)>();
        var waiting = new Dictionary<int, (LoadResult Load, BatchFigures Batches)>();
        LoadResult? single = null;
        await using (var service = await ServiceProcess.StartAsync(settings.ApiDll, settings.ServiceEnvironment(maxBatchSentences: null), requireDatabase: false, settings.StartTimeout))
        await using (var waitingService = await ServiceProcess.StartAsync(settings.ApiDll, settings.ServiceEnvironment(maxBatchSentences: null, WaitingDelayMs), requireDatabase: false, settings.StartTimeout))
        await using (var singleService = await ServiceProcess.StartAsync(settings.ApiDll, settings.ServiceEnvironment(maxBatchSentences: 1), requireDatabase: false, settings.StartTimeout))
        {
            // The services compared are measured in turn at each client count, so that a drift in the machine's
            // speed falls on all of them; the idle ones only wait for requests.
            foreach (var clients in ClientCounts)
            {
                dynamic[clients] = await MeasureAsync(service, client, sentences, clients, settings);
                Print($"dynamic batching, {clients,2} clients", dynamic[clients].Load, dynamic[clients].Batches);
                waiting[clients] = await MeasureAsync(waitingService, client, sentences, clients, settings);
                Print($"2 ms wait,        {clients,2} clients", waiting[clients].Load, waiting[clients].Batches);
                if (clients != CompareClients)
                    continue;
                var (result, figures) = await MeasureAsync(singleService, client, sentences, clients, settings);
                single = result;
                Print($"batch size 1,     {clients,2} clients", result, figures);
            }

            // The raw model in this process while the services wait, with as many workers tagging side by side as
            // the service has inference threads, at the service's mean batch: alternately with the service.
            typicalBatch = Math.Max(1, (int)Math.Round(dynamic[CompareClients].Batches.SentencesPerBatch));
            ModelBenchmark.MeasureParallel(model, rawTexts, typicalBatch, TimeSpan.FromSeconds(1), settings.Workers); // warm-up
            for (var pair = 0; pair < ComparePairs; pair++)
            {
                var rawTokensPerSecond = MeasureRaw(model, rawTexts, typicalBatch, settings);
                var (load, figures) = await MeasureAsync(service, client, sentences, CompareClients, settings);
                pairs.Add((load.TokensPerSecond, rawTokensPerSecond));
                Print($"pair {pair + 1}: dynamic, {CompareClients} clients", load, figures);
            }
            if (typicalBatch != 64)
                rawAt64 = MeasureRaw(model, rawTexts, 64, settings);
        }

        var report = Report(settings, dynamic, waiting, single!, typicalBatch, pairs, rawAt64);
        Console.WriteLine();
        Console.WriteLine(report);
        if (settings.OutputPath is { } output)
        {
            await File.WriteAllTextAsync(output, report);
            Console.WriteLine($"written to {output}");
        }
        return 0;
    }

    private static double MeasureRaw(NerModel model, string[] texts, int batchSize, BenchmarkSettings settings)
    {
        var (tokens, elapsed, _, _) = ModelBenchmark.MeasureParallel(model, texts, batchSize, settings.Duration, settings.Workers);
        var tokensPerSecond = tokens / elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"raw model, batch {batchSize,3}, {settings.Workers} workers: {tokensPerSecond,10:N0} tokens/s (in process)"));
        return tokensPerSecond;
    }

    /// <summary>One measurement, with the service's batch figures read from its metrics over the measured window only.</summary>
    internal static async Task<(LoadResult Result, BatchFigures Batches)> MeasureAsync(
        ServiceProcess service, HttpClient client, SentenceRequest[] sentences, int clients, BenchmarkSettings settings)
    {
        var before = Task.Delay(settings.WarmUp).ContinueWith(_ => service.ReadMetricsAsync(client)).Unwrap();
        var result = await LoadGenerator.RunAsync(client, service.Address, sentences, clients, settings.WarmUp, settings.Duration);
        var after = await service.ReadMetricsAsync(client);
        return (result, BatchFigures.Between(await before, after));
    }

    private static void Print(string label, LoadResult result, BatchFigures batches)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{label}: {result.RequestsPerSecond,8:N0} req/s {result.TokensPerSecond,9:N0} tokens/s  p50 {result.Percentile(50),7:F1} ms  p99 {result.Percentile(99),7:F1} ms  "
            + $"{batches.SentencesPerBatch,5:F1} sentences/batch, inference threads busy {batches.BusyInferenceThreads:F2}; CPU per sentence: "
            + $"inference threads {batches.InferenceCpuMicrosecondsPerSentence:F0} µs, rest of the service {batches.HttpCpuMicrosecondsPerSentence:F0} µs, "
            + $"load generator {batches.ClientCpuMicrosecondsPerSentence:F0} µs{Problems(result)}"));
    }

    private static string Problems(LoadResult result) =>
        result.Rejected + result.Failed == 0 ? "" : $"  ({result.Rejected} rejected with 503, {result.Failed} failed)";

    private static string Report(
        BenchmarkSettings settings, Dictionary<int, (LoadResult Load, BatchFigures Batches)> dynamic,
        Dictionary<int, (LoadResult Load, BatchFigures Batches)> waiting, LoadResult single, int typicalBatch,
        IReadOnlyList<(double Service, double Raw)> pairs, double? rawAt64)
    {
        var (busy, batches) = dynamic[CompareClients];
        var speedup = busy.TokensPerSecond / single.TokensPerSecond;
        var paired = pairs.Average(p => p.Service);
        var ofRaw = paired / pairs.Average(p => p.Raw);
        var text = new StringBuilder();
        var invariant = CultureInfo.InvariantCulture;
        text.AppendLine(invariant, $"### POST /ner, {Workload(settings)} ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {settings.Describe()}, {settings.Duration.TotalSeconds:F0} s per measurement)");
        text.AppendLine();
        text.AppendLine("| batching | clients | requests/s | tokens/s | p50 ms | p99 ms | sentences/batch |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var (clients, (result, figures)) in dynamic.OrderBy(d => d.Key))
            text.AppendLine(invariant, $"| dynamic | {clients} | {result.RequestsPerSecond:N0} | {result.TokensPerSecond:N0} | {result.Percentile(50):F1} | {result.Percentile(99):F1} | {figures.SentencesPerBatch:F1} |");
        foreach (var (clients, (result, figures)) in waiting.OrderBy(d => d.Key))
            text.AppendLine(invariant, $"| dynamic, {WaitingDelayMs} ms wait | {clients} | {result.RequestsPerSecond:N0} | {result.TokensPerSecond:N0} | {result.Percentile(50):F1} | {result.Percentile(99):F1} | {figures.SentencesPerBatch:F1} |");
        text.AppendLine(invariant, $"| batch size 1 | {CompareClients} | {single.RequestsPerSecond:N0} | {single.TokensPerSecond:N0} | {single.Percentile(50):F1} | {single.Percentile(99):F1} | 1 |");
        text.AppendLine();
        text.AppendLine(invariant, $"- dynamic batching / batch size 1 at {CompareClients} clients: **{speedup:F1}x** tokens/s (goal ≥ 5x: {Verdict(speedup >= 5)})");
        var againstWaiting = string.Join("; ", ClientCounts.Select(c => string.Create(invariant,
            $"{c} client{(c == 1 ? "" : "s")} {dynamic[c].Load.TokensPerSecond / waiting[c].Load.TokensPerSecond:F2}x (p50 {dynamic[c].Load.Percentile(50):F1} against {waiting[c].Load.Percentile(50):F1} ms)")));
        text.AppendLine(invariant, $"- the service's default delay against a {WaitingDelayMs} ms wait for batches to fill, tokens/s: {againstWaiting}");
        text.AppendLine(invariant, $"- service batches at {CompareClients} clients: {batches.SentencesPerBatch:F1} sentences and {batches.TokensPerBatch:F0} tokens on average; on average {batches.BusyInferenceThreads:F2} inference threads busy in forward passes");
        var eachPair = string.Join(", ", pairs.Select(p => string.Create(invariant, $"{p.Service:N0} / {p.Raw:N0} = {p.Service / p.Raw:F2}")));
        text.AppendLine(invariant, $"- raw model in process, batch {typicalBatch} (the service's mean batch), {settings.Workers} workers, in {pairs.Count} pairs of windows with the service at {CompareClients} clients, back to back: "
            + $"service/raw = **{ofRaw:F2}** (goal ≥ 0.5: {Verdict(ofRaw >= 0.5)}; the pairs, tokens/s: {eachPair})");
        if (rawAt64 is { } at64)
            text.AppendLine(invariant, $"- raw model in process, batch 64, {settings.Workers} workers: {at64:N0} tokens/s; service/raw = {paired / at64:F2}");
        if (batches.InferenceCpu > TimeSpan.Zero)
        {
            text.AppendLine(invariant,
                $"- CPU per sentence at {CompareClients} clients: inference threads {batches.InferenceCpuMicrosecondsPerSentence:F0} µs, the rest of the service (HTTP, JSON, tokenizing, queueing, metrics) {batches.HttpCpuMicrosecondsPerSentence:F0} µs, "
                + $"the load generator on the same cores {batches.ClientCpuMicrosecondsPerSentence:F0} µs: the model got {batches.InferenceShareOfCpu:P0} of the CPU used");
        }
        var problems = dynamic.Values.Concat(waiting.Values).Select(d => d.Load).Append(single).Sum(r => r.Rejected + r.Failed);
        if (problems > 0)
            text.AppendLine(invariant, $"- {problems} requests were rejected or failed during the measurements (not counted in the throughput)");
        return text.ToString();
    }

    private static string Workload(BenchmarkSettings settings) =>
        settings.WholeDocuments ? "whole CoNLL documents (sentences run together)" : "single CoNLL sentences";

    internal static string Verdict(bool met) => met ? "met" : "NOT met";
}

/// <summary>Batch figures from the service's Prometheus histograms, as the difference of two scrapes.</summary>
internal sealed record BatchFigures(
    double Batches, double Sentences, double Tokens, double InferenceSeconds, TimeSpan Window,
    TimeSpan ServiceCpu, TimeSpan InferenceCpu, TimeSpan ClientCpu)
{
    /// <summary>CPU of the service's inference threads per sentence: forward passes, decoding, and their waits.</summary>
    public double InferenceCpuMicrosecondsPerSentence => PerSentence(InferenceCpu);

    /// <summary>CPU of the rest of the service per sentence: HTTP, JSON, tokenizing, queueing, metrics.</summary>
    public double HttpCpuMicrosecondsPerSentence => PerSentence(ServiceCpu - InferenceCpu);

    /// <summary>CPU the load generator (this process) spent per sentence, on the same cores as the service.</summary>
    public double ClientCpuMicrosecondsPerSentence => PerSentence(ClientCpu);

    /// <summary>The inference threads' share of the CPU that service and load generator used together.</summary>
    public double InferenceShareOfCpu => InferenceCpu / (ServiceCpu + ClientCpu);

    private double PerSentence(TimeSpan cpu) => Sentences == 0 ? 0 : cpu.TotalMicroseconds / Sentences;

    public double SentencesPerBatch => Batches == 0 ? 0 : Sentences / Batches;

    public double TokensPerBatch => Batches == 0 ? 0 : Tokens / Batches;

    /// <summary>Seconds of forward passes per second of the window: how many inference threads were busy on average.</summary>
    public double BusyInferenceThreads => InferenceSeconds / Window.TotalSeconds;

    public static BatchFigures Between(TimedMetrics before, TimedMetrics after)
    {
        double Delta(string name) => after.Values.GetValueOrDefault(name) - before.Values.GetValueOrDefault(name);
        return new BatchFigures(
            Delta("ner_batch_sentences_count"), Delta("ner_batch_sentences_sum"), Delta("ner_batch_tokens_sum"),
            Delta("ner_inference_seconds_sum"), Stopwatch.GetElapsedTime(before.Timestamp, after.Timestamp),
            after.ServiceCpu - before.ServiceCpu, after.InferenceCpu - before.InferenceCpu, after.ClientCpu - before.ClientCpu);
    }
}
