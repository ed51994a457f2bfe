using NerService.Model.Inference;

namespace NerService.Api.Options;

/// <summary>The service's settings, bound from the configuration section <c>Ner</c>.</summary>
public sealed class NerOptions
{
    public const string SectionName = "Ner";

    /// <summary>The name requests use for the model at <see cref="BundlePath"/>, the one served when they name none.</summary>
    public const string DefaultModelName = "default";

    /// <summary>
    /// The default model's bundle: an absolute path, or one relative to the content root.
    /// Default <c>models/ner-default.bundle</c>.
    /// </summary>
    public string BundlePath { get; set; } = "models/ner-default.bundle";

    /// <summary>
    /// More models served beside the default one, by the name requests give in <c>"model"</c> (for example
    /// <c>Ner:Models:fast:BundlePath</c>). Each has its own queue and inference threads; every model named here
    /// must load, or the service does not start.
    /// </summary>
    public Dictionary<string, ModelSettings> Models { get; set; } = [];

    /// <summary>
    /// The folder that model updates (<c>POST /models/{name}/load</c>) load bundles from: an absolute path, or one
    /// relative to the content root. Default <c>models</c>. A bundle named outside it is refused.
    /// </summary>
    public string ModelsDirectory { get; set; } = "models";

    /// <summary>Where the model runs: <c>cpu</c>, <c>cuda</c> or <c>auto</c> (CUDA when available). Default <c>cpu</c>.</summary>
    public string Device { get; set; } = "cpu";

    /// <summary>A folder holding the LibTorch native libraries, when they are not next to the application.</summary>
    public string? LibTorchDirectory { get; set; }

    /// <summary>
    /// CPU threads libtorch uses inside one forward pass; 0 (the default) shares the cores among the inference
    /// threads (one each when there is one inference thread per core). Passes side by side use the cores better
    /// than threads inside one pass: the recurrent steps are too small to split (docs/benchmarks.md).
    /// </summary>
    public int TorchThreads { get; set; }

    /// <summary>
    /// Document consistency: within one text, a name tagged with at least this probability on each of its tokens
    /// decides the other mentions of the same string (a surname after the full name, a team in every row of a
    /// table). 0 turns it off. Default 0.9, which raised validation F1 at every casing (README).
    /// </summary>
    public double DocumentConsistency { get; set; } = 0.9;

    /// <summary>How concurrent requests are gathered into batches for the model.</summary>
    public BatchingSettings Batching { get; set; } = new();

    /// <summary>Limits on what one request may ask for.</summary>
    public RequestLimits Limits { get; set; } = new();

    /// <summary>
    /// Keys accepted in the <c>X-Api-Key</c> header, each with the tenant whose documents it reaches and its role.
    /// Empty (the default) turns the check off: every caller may do everything, in the tenant <c>local</c>.
    /// </summary>
    public List<ApiKeySettings> ApiKeys { get; set; } = [];

    /// <summary>Per-client rate limits (clients are API keys, or remote addresses without one).</summary>
    public RateLimitSettings RateLimit { get; set; } = new();

    /// <summary>Where Prometheus scrapes the metrics: a port of its own, never the public one.</summary>
    public MetricsSettings Metrics { get; set; } = new();

    /// <summary>The bundle path made absolute against <paramref name="contentRoot"/>.</summary>
    public string ResolveBundlePath(string contentRoot) => Path.GetFullPath(BundlePath, contentRoot);

    /// <summary>The models folder made absolute against <paramref name="contentRoot"/>.</summary>
    public string ResolveModelsDirectory(string contentRoot) => Path.GetFullPath(ModelsDirectory, contentRoot);

    /// <summary>Every served model by name, the default one first, with its bundle path made absolute.</summary>
    public IEnumerable<(string Name, string BundlePath)> ServedModels(string contentRoot)
    {
        yield return (DefaultModelName, ResolveBundlePath(contentRoot));
        foreach (var (name, model) in Models.OrderBy(m => m.Key, StringComparer.Ordinal))
            yield return (name, Path.GetFullPath(model.BundlePath, contentRoot));
    }

    /// <summary><see cref="Batching"/> with the model's own settings (<see cref="ModelSettings"/>) where it has them.</summary>
    public BatchingOptions BatchingOf(string name)
    {
        var batching = Batching.ToBatchingOptions();
        if (Models.TryGetValue(name, out var model))
        {
            batching.InferenceThreads = model.InferenceThreads ?? batching.InferenceThreads;
            batching.MaxBatchSentences = model.MaxBatchSentences ?? batching.MaxBatchSentences;
        }
        return batching;
    }
}

/// <summary>A model served beside the default one.</summary>
public sealed class ModelSettings
{
    /// <summary>The bundle: an absolute path, or one relative to the content root.</summary>
    public string BundlePath { get; set; } = "";

    /// <summary>This model's inference threads; unset: <c>Ner:Batching:InferenceThreads</c>.</summary>
    public int? InferenceThreads { get; set; }

    /// <summary>
    /// Most sentences in one of this model's forward passes; unset: <c>Ner:Batching:MaxBatchSentences</c>. For a
    /// model whose pass costs about what its request costs the rest of the service (the fast one), one inference
    /// thread on small batches tags one batch while the request threads answer the last (docs/benchmarks.md).
    /// </summary>
    public int? MaxBatchSentences { get; set; }
}

/// <summary>
/// One API key (<c>Ner:ApiKeys:N</c>): the key itself (<see cref="Key"/>) or its SHA-256 (<see cref="KeySha256"/>,
/// so that configuration need not hold the secret), the tenant it belongs to and its role.
/// </summary>
public sealed class ApiKeySettings
{
    /// <summary>The key as clients send it. Set this or <see cref="KeySha256"/>, not both.</summary>
    public string? Key { get; set; }

    /// <summary>The SHA-256 of the key's UTF-8 bytes as 64 hex digits (<c>printf %s "$key" | sha256sum</c>).</summary>
    public string? KeySha256 { get; set; }

    /// <summary>The tenant whose documents the key stores and reads: 1-64 letters, digits, '.', '_' or '-'.</summary>
    public string? Tenant { get; set; }

    /// <summary><c>tagger</c> (tag and store), <c>reviewer</c> (also read and correct) or <c>admin</c> (every tenant, delete, export).</summary>
    public string? Role { get; set; }
}

/// <summary>Batching settings; see <see cref="BatchingOptions"/> for what each one does.</summary>
public sealed class BatchingSettings
{
    /// <summary>Most sentences in one forward pass. Default 64.</summary>
    public int MaxBatchSentences { get; set; } = 64;

    /// <summary>Most tokens in one forward pass. Default 4096.</summary>
    public int MaxBatchTokens { get; set; } = 4096;

    /// <summary>
    /// Milliseconds an inference thread with some work waits for its batch to fill; unset (the default): 0 where each
    /// pass runs single-threaded on a CPU (the CPU default), else 2.
    /// </summary>
    public double? MaxDelayMs { get; set; }

    /// <summary>Forward passes run side by side, each on a dedicated thread; 0 (the default): one per core on a CPU, one on CUDA.</summary>
    public int InferenceThreads { get; set; }

    /// <summary>Most texts waiting for the model; past it requests get 503 at once. Default 1024.</summary>
    public int QueueCapacity { get; set; } = 1024;

    /// <summary>
    /// Most tokens admitted and not yet tagged (waiting, or in a batch being gathered); past it requests get 503 at
    /// once. Bounds the memory that queued work takes whatever the size of the texts. Default 200,000.
    /// </summary>
    public int QueueTokenBudget { get; set; } = 200_000;

    public BatchingOptions ToBatchingOptions() => new()
    {
        MaxBatchSentences = MaxBatchSentences,
        MaxBatchTokens = MaxBatchTokens,
        MaxDelay = MaxDelayMs is { } delay ? TimeSpan.FromMilliseconds(delay) : null,
        QueueCapacity = QueueCapacity,
        QueueTokenBudget = QueueTokenBudget,
        InferenceThreads = InferenceThreads,
    };
}

/// <summary>Request size limits.</summary>
public sealed class RequestLimits
{
    /// <summary>Most characters (UTF-16 code units) in one text; longer ones get 413. Default 100,000.</summary>
    public int MaxTextCharacters { get; set; } = 100_000;

    /// <summary>Most documents in one <c>POST /ner/batch</c>; more get 400. Default 100.</summary>
    public int MaxBatchDocuments { get; set; } = 100;

    /// <summary>
    /// Most bytes in one request body, enforced by Kestrel; larger bodies get 413 before they are read. Default 4 MiB,
    /// the gateway's <c>client_max_body_size 4m</c> (deploy/nginx/nginx.conf), so that a replica reached directly
    /// accepts no more than the gateway lets through.
    /// </summary>
    public long MaxRequestBodyBytes { get; set; } = 4 * 1024 * 1024;
}

/// <summary>Fixed-window rate limits per client.</summary>
public sealed class RateLimitSettings
{
    /// <summary>
    /// Requests a client may make per window, to any endpoint but the health probes; 0 (the default) turns this
    /// limit off.
    /// </summary>
    public int PermitsPerWindow { get; set; }

    /// <summary>
    /// Characters of text (UTF-16 code units, summed over a batch's documents) a client may send to the tagging
    /// endpoints per window, so that the limit follows the work a request asks for; 0 (the default) turns this limit
    /// off. A single request larger than the whole window's allowance takes all of it.
    /// </summary>
    public int CharactersPerWindow { get; set; }

    /// <summary>Length of the window in seconds. Default 60.</summary>
    public double WindowSeconds { get; set; } = 60;
}

/// <summary>The metrics listener.</summary>
public sealed class MetricsSettings
{
    /// <summary>
    /// Port of the separate listener that serves <c>/metrics</c> (on every interface); the public port does not serve
    /// them. Default 9090; 0 picks a free port (tests).
    /// </summary>
    public int Port { get; set; } = 9090;
}
