using System.CommandLine;
using System.Globalization;
using System.Text;

namespace NerService.Benchmarks;

/// <summary>
/// What storing costs: documents per second through <c>POST /ner</c> at 64 clients with storing on, against
/// <c>"store": false</c> on the same service in the same run. Needs a PostgreSQL; the schema is migrated first.
/// </summary>
internal static class StorageBenchmark
{
    private const int Clients = 64;

    public static Command Command()
    {
        var options = new BenchmarkOptions();
        var command = new Command("storage", "Documents stored per second through POST /ner at 64 clients, against \"store\": false in the same run.");
        var rounds = new Option<int>("--rounds")
        {
            Description = "Pairs of measurements, alternating which goes first (ABBA), so that a drift in the machine's speed falls on both.",
            DefaultValueFactory = _ => 2,
        };
        options.AddTo(command, withPostgres: true);
        command.Options.Add(rounds);
        command.SetAction((parse, _) => options.TryRead(parse, out var settings) ? Run(settings, Math.Max(1, parse.GetValue(rounds))) : Task.FromResult(2));
        return command;
    }

    private static async Task<int> Run(BenchmarkSettings settings, int rounds)
    {
        if (settings.Postgres is null)
        {
            Console.Error.WriteLine($"The storage benchmark needs PostgreSQL: pass --postgres or set {BenchmarkOptions.PostgresVariable}, e.g. "
                + "scripts/postgres.sh start && --postgres \"$(scripts/postgres.sh url)\".");
            return 2;
        }
        Console.WriteLine($"service: {settings.Describe()}");
        var environment = settings.ServiceEnvironment(maxBatchSentences: null);
        await ServiceProcess.RunCommandAsync(settings.ApiDll, environment, "migrate");

        var tagOnly = SentenceRequest.ReadConll(settings.DataPath, store: false, settings.ModelName);
        var tagAndStore = SentenceRequest.ReadConll(settings.DataPath, store: true, settings.ModelName);
        Console.WriteLine($"service {settings.ApiDll}; bundle {settings.BundlePath}; {tagOnly.Length} sentences from {settings.DataPath}; "
            + $"{Environment.ProcessorCount} cores; {Clients} clients; warm-up {settings.WarmUp.TotalSeconds:F0} s, {settings.Duration.TotalSeconds:F0} s per measurement");
        using var client = LoadGenerator.CreateClient(Clients + 1); // one more for reading the metrics

        var notStoredParts = new List<LoadResult>();
        var storedParts = new List<LoadResult>();
        await using (var service = await ServiceProcess.StartAsync(settings.ApiDll, environment, requireDatabase: true, settings.StartTimeout))
        {
            for (var round = 0; round < rounds; round++)
            {
                foreach (var storing in round % 2 == 0 ? [false, true] : new[] { true, false })
                {
                    var (result, _) = await ServiceBenchmark.MeasureAsync(service, client, storing ? tagAndStore : tagOnly, Clients, settings);
                    if (storing)
                    {
                        storedParts.Add(result);
                        Print("\"store\": true ", result, result.StoredPerSecond, "documents stored/s");
                    }
                    else
                    {
                        notStoredParts.Add(result);
                        Print("\"store\": false", result, result.RequestsPerSecond, "documents tagged/s");
                    }
                }
            }
        }
        var notStored = LoadResult.Combine(notStoredParts);
        var stored = LoadResult.Combine(storedParts);

        var report = Report(settings, notStored, stored);
        Console.WriteLine();
        Console.WriteLine(report);
        if (settings.OutputPath is { } output)
        {
            await File.WriteAllTextAsync(output, report);
            Console.WriteLine($"written to {output}");
        }
        return stored.Stored == 0 ? 1 : 0;
    }

    private static void Print(string label, LoadResult result, double documentsPerSecond, string unit)
    {
        var problems = result.Rejected + result.Failed == 0 ? "" : $"  ({result.Rejected} rejected with 503, {result.Failed} failed)";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{label}: {documentsPerSecond,8:N0} {unit}  p50 {result.Percentile(50),7:F1} ms  p99 {result.Percentile(99),7:F1} ms{problems}"));
    }

    private static string Report(BenchmarkSettings settings, LoadResult notStored, LoadResult stored)
    {
        var cost = 1 - stored.StoredPerSecond / notStored.RequestsPerSecond;
        var invariant = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine(invariant, $"### POST /ner storing, single CoNLL sentences, {Clients} clients ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {settings.Describe()}, {notStored.Window.TotalSeconds:F0} s measured per setting)");
        text.AppendLine();
        text.AppendLine("| store | documents/s | p50 ms | p99 ms |");
        text.AppendLine("|---|---:|---:|---:|");
        text.AppendLine(invariant, $"| false (tagged) | {notStored.RequestsPerSecond:N0} | {notStored.Percentile(50):F1} | {notStored.Percentile(99):F1} |");
        text.AppendLine(invariant, $"| true (stored) | {stored.StoredPerSecond:N0} | {stored.Percentile(50):F1} | {stored.Percentile(99):F1} |");
        text.AppendLine();
        text.AppendLine(invariant, $"- storing costs **{cost:P0}** of the throughput (goal ≤ 30%: {ServiceBenchmark.Verdict(cost <= 0.30)})");
        if (stored.Stored < stored.Requests)
        {
            text.AppendLine(invariant,
                $"- only {stored.Stored} of {stored.Requests} successful responses with storing on carried a Location header (the stored document); the rest were not counted as stored");
        }
        var problems = notStored.Rejected + notStored.Failed + stored.Rejected + stored.Failed;
        if (problems > 0)
            text.AppendLine(invariant, $"- {problems} requests were rejected or failed during the measurements (not counted)");
        return text.ToString();
    }
}
