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
    private readonly Histogram batchTexts;
    private readonly Histogram batchSentences;
    private readonly Histogram batchTokens;
    private readonly Histogram inferenceSeconds;
    private readonly Counter textsTagged;
    private readonly Counter sentencesTagged;
    private readonly Counter tokensProcessed;
    private readonly Histogram storeBatchDocuments;

    public NerMetrics()
    {
        Registry = Metrics.NewCustomRegistry();
        Factory = Metrics.WithCustomRegistry(Registry);
        string[] byModel = [ModelLabel];
        queueLength = Factory.CreateGauge("ner_queue_length", "Texts waiting for the model's inference threads.", byModel);
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

    /// <summary>A model's queue length is read when scraped rather than updated on every enqueue.</summary>
    public void TrackQueueLength(string model, Func<int> read)
    {
        var gauge = queueLength.WithLabels(model);
        Registry.AddBeforeCollectCallback(() => gauge.Set(read()));
    }
}

internal static class MetricsSetup
{
    public static IServiceCollection AddNerMetrics(this IServiceCollection services) => services.AddSingleton<NerMetrics>();

    /// <summary>Request counts and latencies per endpoint.</summary>
    public static WebApplication UseNerHttpMetrics(this WebApplication app)
    {
        var metrics = app.Services.GetRequiredService<NerMetrics>();
        app.UseHttpMetrics(options => options.SetMetricFactory(metrics.Factory));
        return app;
    }

    public static IEndpointRouteBuilder MapNerMetrics(this IEndpointRouteBuilder app)
    {
        app.MapMetrics("/metrics", app.ServiceProvider.GetRequiredService<NerMetrics>().Registry);
        return app;
    }
}
