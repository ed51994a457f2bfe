using System.CommandLine;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace NerService.Benchmarks;

/// <summary>What the service benchmarks run against and for how long.</summary>
internal sealed record BenchmarkSettings(
    string ApiDll, string BundlePath, string DataPath, string? Postgres, TimeSpan WarmUp, TimeSpan Duration, string? OutputPath, int? TorchThreads,
    int? InferenceThreads, string? ModelName = null, bool WholeDocuments = false, int? MaxBatchSentences = null)
{
    /// <summary>The service's inference threads: as set, or its default (one per core on a CPU).</summary>
    public int Workers => InferenceThreads ?? NerService.Model.Inference.BatchingTagger.DefaultInferenceThreads(TorchSharp.torch.CPU);

    /// <summary>libtorch threads per forward pass: as set, or the service's default (the cores shared among the workers).</summary>
    public int ThreadsPerPass => TorchThreads ?? NerService.Model.Inference.TorchRuntime.ThreadsPerPass(Workers);

    /// <summary>How the service runs its model, for report headings.</summary>
    public string Describe() => $"{(ModelName is null ? "" : $"\"model\": \"{ModelName}\", ")}{Workers} inference threads, {ThreadsPerPass} libtorch threads each"
        + (MaxBatchSentences is { } most ? $", batches of at most {most} sentences" : "");

    public TimeSpan StartTimeout { get; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// The service's configuration as environment variables. Without a database, an address nothing listens on:
    /// the service requires a connection string at start, and tagging with <c>"store": false</c> never uses it.
    /// </summary>
    public Dictionary<string, string> ServiceEnvironment(int? maxBatchSentences, double? maxDelayMs = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__Postgres"] = Postgres ?? "Host=127.0.0.1;Port=1;Username=none;Database=none;Timeout=1",
        };
        // A named model is served beside the repository's default model, as the image serves them, and chosen per request.
        environment["Ner__BundlePath"] = Path.GetFullPath(ModelName is null ? BundlePath : "models/ner-default.bundle");
        if (ModelName is not null)
            environment[$"Ner__Models__{ModelName}__BundlePath"] = Path.GetFullPath(BundlePath);
        // The batch size of the service compared (1 for the unbatched one) wins over the model's own.
        if ((maxBatchSentences ?? MaxBatchSentences) is { } sentences)
            SetBatching(environment, "MaxBatchSentences", sentences);
        if (maxDelayMs is { } delay)
            environment["Ner__Batching__MaxDelayMs"] = delay.ToString(CultureInfo.InvariantCulture);
        if (TorchThreads is { } threads)
            environment["Ner__TorchThreads"] = threads.ToString(CultureInfo.InvariantCulture);
        if (InferenceThreads is { } workers)
            SetBatching(environment, "InferenceThreads", workers);
        return environment;
    }

    /// <summary>
    /// <c>Ner:Batching:SETTING</c>, and the model under test's own <c>Ner:Models:NAME:SETTING</c>, which would
    /// otherwise win over it.
    /// </summary>
    private void SetBatching(Dictionary<string, string> environment, string setting, int value)
    {
        environment[$"Ner__Batching__{setting}"] = value.ToString(CultureInfo.InvariantCulture);
        if (ModelName is not null)
            environment[$"Ner__Models__{ModelName}__{setting}"] = value.ToString(CultureInfo.InvariantCulture);
    }
}

/// <summary>The options of the <c>service</c> and <c>storage</c> commands.</summary>
internal sealed class BenchmarkOptions
{
    public const string PostgresVariable = "NERSERVICE_BENCH_POSTGRES";

    private readonly Option<string> api = new("--api")
    {
        Description = "The built service, NerService.Api.dll (default: src/NerService.Api/bin/<this configuration>/net10.0, which building this project builds).",
    };

    private readonly Option<string> bundle = new("--bundle") { Description = "Model bundle the service loads.", DefaultValueFactory = _ => "models/ner-default.bundle" };
    private readonly Option<string> data = new("--data") { Description = "CoNLL file whose sentences are posted one per request.", DefaultValueFactory = _ => "../shared/data/conll2003/valid.txt" };
    private readonly Option<double> seconds = new("--seconds") { Description = "Time per measurement.", DefaultValueFactory = _ => 10 };
    private readonly Option<double> warmUp = new("--warm-up") { Description = "Load before each measurement that is not counted, in seconds.", DefaultValueFactory = _ => 3 };
    private readonly Option<int?> torchThreads = new("--torch-threads")
    {
        Description = "libtorch CPU threads per forward pass, in the service (Ner:TorchThreads) and the in-process model (default: the service's, cores / inference threads).",
    };

    private readonly Option<int?> inferenceThreads = new("--inference-threads")
    {
        Description = "The service's inference threads (Ner:Batching:InferenceThreads), and workers of the in-process model (default: the service's, one per core).",
    };

    private readonly Option<int?> maxBatchSentences = new("--max-batch-sentences")
    {
        Description = "Most sentences in one of the model's forward passes in the service (Ner:Batching:MaxBatchSentences, or the --model's own; default: the service's, 64).",
    };

    private readonly Option<string?> model = new("--model")
    {
        Description = "Serve --bundle under this name beside the service's default model and ask for it in every request (\"model\": NAME).",
    };

    private readonly Option<bool> documents = new("--documents")
    {
        Description = "Post each CoNLL document whole, its sentences run together as a paragraph, instead of one sentence per request.",
    };

    private readonly Option<string> output = new("--output") { Description = "Also write the result table (Markdown) to this file." };
    private readonly Option<string> postgres = new("--postgres")
    {
        Description = $"Npgsql connection string of the PostgreSQL the service stores into (or environment {PostgresVariable}); "
            + "scripts/postgres.sh start starts a local one and scripts/postgres.sh url prints its string.",
    };

    public void AddTo(Command command, bool withPostgres = false, bool withDocuments = false)
    {
        if (withDocuments)
            command.Options.Add(documents);
        command.Options.Add(api);
        command.Options.Add(bundle);
        command.Options.Add(data);
        command.Options.Add(seconds);
        command.Options.Add(warmUp);
        command.Options.Add(output);
        command.Options.Add(torchThreads);
        command.Options.Add(inferenceThreads);
        command.Options.Add(maxBatchSentences);
        command.Options.Add(model);
        if (withPostgres)
            command.Options.Add(postgres);
    }

    /// <summary>The settings, or false after saying on standard error what is missing.</summary>
    public bool TryRead(ParseResult parse, [NotNullWhen(true)] out BenchmarkSettings? settings)
    {
        settings = null;
        var apiDll = parse.GetValue(api) ?? DefaultApiDll();
        var bundlePath = parse.GetValue(bundle)!;
        var dataPath = parse.GetValue(data)!;
        var connectionString = parse.GetValue(postgres) ?? Environment.GetEnvironmentVariable(PostgresVariable);
        string? missing = null;
        if (!File.Exists(apiDll))
            missing = $"No service at '{apiDll}': build it (dotnet build src/NerService.Api -c Release) or pass --api.";
        else if (!File.Exists(bundlePath) && !Directory.Exists(bundlePath))
            missing = $"No model bundle at '{bundlePath}': pass --bundle.";
        else if (!File.Exists(dataPath))
            missing = $"No CoNLL file at '{dataPath}': pass --data.";
        if (missing is not null)
        {
            Console.Error.WriteLine(missing);
            return false;
        }
        settings = new BenchmarkSettings(
            apiDll, bundlePath, dataPath, string.IsNullOrWhiteSpace(connectionString) ? null : connectionString,
            TimeSpan.FromSeconds(parse.GetValue(warmUp)), TimeSpan.FromSeconds(parse.GetValue(seconds)), parse.GetValue(output),
            parse.GetValue(torchThreads), parse.GetValue(inferenceThreads), parse.GetValue(model), parse.GetValue(documents), parse.GetValue(maxBatchSentences));
        return true;
    }

    /// <summary>The API built beside this program: same repository, same configuration.</summary>
    private static string DefaultApiDll()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "NerService.sln")))
            directory = directory.Parent;
#if DEBUG
        const string configuration = "Debug";
#else
        const string configuration = "Release";
#endif
        var root = directory?.FullName ?? Directory.GetCurrentDirectory();
        return Path.Combine(root, "src", "NerService.Api", "bin", configuration, "net10.0", "NerService.Api.dll");
    }
}
