using NerService.Model.Inference;
using Prometheus;

namespace NerService.Api.Monitoring;

/// <summary>
/// Prometheus metrics of the service. Each application gets its own registry rather than prometheus-net's
/// static default one, so that several instances in one process (the tests) do not mix their counts.
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
        queueLength = Factory.CreateGauge("ner_queue_length", "Texts waiting for the inference thread.");
        batchTexts = Factory.CreateHistogram("ner_batch_texts", "Texts per forward pass.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(1, 2, 11) });
        batchSentences = Factory.CreateHistogram("ner_batch_sentences", "Sentences per forward pass.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(1, 2, 11) });
        batchTokens = Factory.CreateHistogram("ner_batch_tokens", "Tokens per forward pass.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(8, 2, 12) });
        inferenceSeconds = Factory.CreateHistogram("ner_inference_seconds", "Duration of one forward pass, decoding included.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.0005, 2, 14) });
        textsTagged = Factory.CreateCounter("ner_texts_tagged_total", "Texts tagged by the model.");
        sentencesTagged = Factory.CreateCounter("ner_sentences_tagged_total", "Sentences tagged by the model.");
        tokensProcessed = Factory.CreateCounter("ner_tokens_processed_total", "Tokens tagged by the model.");
        storeBatchDocuments = Factory.CreateHistogram("ner_store_batch_documents", "Documents stored per database round trip.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(1, 2, 11) });
    }

    public CollectorRegistry Registry { get; }

    public IMetricFactory Factory { get; }

    /// <summary>Called on the inference thread after each forward pass.</summary>
    public void RecordBatch(BatchStatistics batch)
    {
        batchTexts.Observe(batch.Texts);
        batchSentences.Observe(batch.Sentences);
        batchTokens.Observe(batch.Tokens);
        inferenceSeconds.Observe(batch.InferenceTime.TotalSeconds);
        textsTagged.Inc(batch.Texts);
        sentencesTagged.Inc(batch.Sentences);
        tokensProcessed.Inc(batch.Tokens);
    }

    /// <summary>Called by the document writer after each database round trip that stored documents.</summary>
    public void RecordStoredBatch(int documents) => storeBatchDocuments.Observe(documents);

    /// <summary>The queue length is read when scraped rather than updated on every enqueue.</summary>
    public void TrackQueueLength(Func<int> read) => Registry.AddBeforeCollectCallback(() => queueLength.Set(read()));
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
