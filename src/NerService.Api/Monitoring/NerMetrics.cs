using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Options;
using NerService.Api.Options;
using NerService.Model.Inference;
using Prometheus;

namespace NerService.Api.Monitoring;

/// <summary>
/// Prometheus metrics of the service. Each application gets its own registry rather than prometheus-net's
/// static default one, so that several instances in one process (the tests) do not mix their counts. The
/// tagging metrics carry a <c>model</c> label: each served model has its own queue and passes.
/// </summary>
internal sealed class NerMetrics
{
    private readonly Gauge queueLength;
    private readonly Gauge admittedTokens;
    private readonly Histogram batchTexts;
    private readonly Histogram batchSentences;
    private readonly Histogram batchTokens;
    private readonly Histogram inferenceSeconds;
    private readonly Counter textsTagged;
    private readonly Counter sentencesTagged;
    private readonly Counter tokensProcessed;
    private readonly Histogram storeBatchDocuments;
    private readonly Gauge modelInfo;
    private readonly Counter modelSwitches;

    public NerMetrics()
    {
        Registry = Metrics.NewCustomRegistry();
        Factory = Metrics.WithCustomRegistry(Registry);
        string[] byModel = [ModelLabel];
        queueLength = Factory.CreateGauge("ner_queue_length", "Texts waiting for the model's inference threads.", byModel);
        admittedTokens = Factory.CreateGauge("ner_admitted_tokens", "Tokens admitted and not yet tagged (bounded by Ner:Batching:QueueTokenBudget).", byModel);
        batchTexts = Factory.CreateHistogram("ner_batch_texts", "Texts per forward pass.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(1, 2, 11), LabelNames = byModel });
        batchSentences = Factory.CreateHistogram("ner_batch_sentences", "Sentences per forward pass.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(1, 2, 11), LabelNames = byModel });
        batchTokens = Factory.CreateHistogram("ner_batch_tokens", "Tokens per forward pass.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(8, 2, 12), LabelNames = byModel });
        inferenceSeconds = Factory.CreateHistogram("ner_inference_seconds", "Duration of one forward pass, decoding included.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.0005, 2, 14), LabelNames = byModel });
        textsTagged = Factory.CreateCounter("ner_texts_tagged_total", "Texts tagged by the model.", byModel);
        sentencesTagged = Factory.CreateCounter("ner_sentences_tagged_total", "Sentences tagged by the model.", byModel);
        tokensProcessed = Factory.CreateCounter("ner_tokens_processed_total", "Tokens tagged by the model.", byModel);
        storeBatchDocuments = Factory.CreateHistogram("ner_store_batch_documents", "Documents stored per database round trip.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(1, 2, 11) });
        modelInfo = Factory.CreateGauge("ner_model_info", "1 for the bundle each model name serves now (its name and version as the bundle states them).",
            [ModelLabel, "name", "version"]);
        modelSwitches = Factory.CreateCounter("ner_model_switches_total", "Models replaced while serving (loads and restores that switched).", byModel);
    }

    /// <summary>The label naming the served model (as requests name it) on every tagging metric.</summary>
    public const string ModelLabel = "model";

    public CollectorRegistry Registry { get; }

    public IMetricFactory Factory { get; }

    /// <summary>Called on a model's inference thread after each forward pass.</summary>
    public void RecordBatch(string model, BatchStatistics batch)
    {
        batchTexts.WithLabels(model).Observe(batch.Texts);
        batchSentences.WithLabels(model).Observe(batch.Sentences);
        batchTokens.WithLabels(model).Observe(batch.Tokens);
        inferenceSeconds.WithLabels(model).Observe(batch.InferenceTime.TotalSeconds);
        textsTagged.WithLabels(model).Inc(batch.Texts);
        sentencesTagged.WithLabels(model).Inc(batch.Sentences);
        tokensProcessed.WithLabels(model).Inc(batch.Tokens);
    }

    /// <summary>Called by the document writer after each database round trip that stored documents.</summary>
    public void RecordStoredBatch(int documents) => storeBatchDocuments.Observe(documents);

    /// <summary>Called after a model update has switched <paramref name="model"/> to another bundle.</summary>
    public void RecordSwitch(string model) => modelSwitches.WithLabels(model).Inc();

    /// <summary>
    /// Each model's queue length and admitted tokens, and which bundle it serves, are read from
    /// <paramref name="servedModels"/> (the models serving now) when scraped, so they follow model updates,
    /// rather than updated on every enqueue.
    /// </summary>
    public void TrackModels(Func<IEnumerable<(string Name, ModelInfo Info, BatchingTagger Tagger)>> servedModels)
    {
        var shown = new Dictionary<string, (string Name, string Version)>(StringComparer.Ordinal);
        Registry.AddBeforeCollectCallback(() =>
        {
            foreach (var model in servedModels())
            {
                queueLength.WithLabels(model.Name).Set(model.Tagger.QueueLength);
                admittedTokens.WithLabels(model.Name).Set(model.Tagger.AdmittedTokens);
                var served = (model.Info.Name, model.Info.Version);
                lock (shown)
                {
                    if (shown.TryGetValue(model.Name, out var before) && before != served)
                        modelInfo.RemoveLabelled(model.Name, before.Name, before.Version);
                    shown[model.Name] = served;
                    modelInfo.WithLabels(model.Name, served.Name, served.Version).Set(1);
                }
            }
        });
    }
}

internal static class MetricsSetup
{
    public static IServiceCollection AddNerMetrics(this IServiceCollection services)
    {
        services.AddSingleton<NerMetrics>();
        services.AddSingleton<MetricsServer>();
        services.AddHostedService(provider => provider.GetRequiredService<MetricsServer>());
        return services;
    }

    /// <summary>
    /// Request latencies per endpoint, method and status code; the histogram's <c>_count</c> counts the requests.
    /// prometheus-net's separate request counter and in-progress gauge are off, and so are exemplars: each is one
    /// more middleware or label lookup on every request, and with the fast model the request path, not the model,
    /// bounds the service's throughput (docs/benchmarks.md).
    /// </summary>
    public static WebApplication UseNerHttpMetrics(this WebApplication app)
    {
        var metrics = app.Services.GetRequiredService<NerMetrics>();
        app.UseHttpMetrics(options =>
        {
            options.SetMetricFactory(metrics.Factory);
            options.RequestCount.Enabled = false;
            options.InProgress.Enabled = false;
            options.RequestDuration.ExemplarPredicate = _ => false;
        });
        return app;
    }
}

/// <summary>
/// Serves <c>/metrics</c> on a listener of its own (<see cref="MetricsSettings.Port"/>). The public port does not
/// answer it in any spelling (ASP.NET routing ignores case and trailing slashes, so a gateway rule on the path
/// alone leaks), and neither the gateway nor the Kubernetes Service forwards to this port: only what can reach
/// the replica's own address, such as Prometheus inside the cluster, can scrape it.
/// A bare Kestrel server rather than a second web application: building another host in the process would be
/// mistaken for the application's own by the test host's hosting listener.
/// </summary>
internal sealed class MetricsServer(IOptions<NerOptions> options, NerMetrics metrics, ILoggerFactory loggerFactory) : IHostedService, IDisposable
{
    private KestrelServer? server;

    /// <summary>The listener's address once started, with the port it got (the setting may be 0).</summary>
    public Uri? Address { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var port = options.Value.Metrics.Port;
        var kestrel = new KestrelServerOptions { AddServerHeader = false };
        kestrel.ListenAnyIP(port);
        var transport = new SocketTransportFactory(Microsoft.Extensions.Options.Options.Create(new SocketTransportOptions()), loggerFactory);
        var listening = new KestrelServer(Microsoft.Extensions.Options.Options.Create(kestrel), transport, loggerFactory);
        try
        {
            await listening.StartAsync(new ScrapeApplication(metrics.Registry), cancellationToken);
        }
        catch (IOException failure)
        {
            listening.Dispose();
            throw new MetricsListenerException($"{NerOptions.SectionName}:Metrics:Port: cannot listen on port {port} for /metrics: {failure.Message}", failure);
        }
        server = listening;
        var bound = new Uri(listening.Features.Get<IServerAddressesFeature>()!.Addresses.First());
        Address = new UriBuilder(bound) { Host = "127.0.0.1" }.Uri;
        loggerFactory.CreateLogger<MetricsServer>().LogInformation("Metrics for Prometheus at {Address}metrics (all interfaces, port {Port})", Address, bound.Port);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (server is not null)
            await server.StopAsync(cancellationToken);
    }

    public void Dispose() => server?.Dispose();

    /// <summary><c>GET /metrics</c>: the registry in Prometheus' text format; anything else 404.</summary>
    private sealed class ScrapeApplication(CollectorRegistry registry) : IHttpApplication<HttpContext>
    {
        public HttpContext CreateContext(IFeatureCollection contextFeatures) => new DefaultHttpContext(contextFeatures);

        public async Task ProcessRequestAsync(HttpContext http)
        {
            if (!HttpMethods.IsGet(http.Request.Method) || http.Request.Path != "/metrics")
            {
                http.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }
            http.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await registry.CollectAndExportAsTextAsync(http.Response.Body, http.RequestAborted);
        }

        public void DisposeContext(HttpContext context, Exception? exception)
        {
        }
    }
}

/// <summary>The metrics port could not be opened; start-up stops with this message.</summary>
internal sealed class MetricsListenerException(string message, Exception inner) : Exception(message, inner);
