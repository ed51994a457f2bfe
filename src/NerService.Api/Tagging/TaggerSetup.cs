using System.Diagnostics;
using Microsoft.Extensions.Options;
using NerService.Api.Monitoring;
using NerService.Api.Options;
using NerService.Model.Inference;

namespace NerService.Api.Tagging;

internal static class TaggerSetup
{
    /// <summary>One model and one batching tagger for the whole process, loaded before the server accepts requests.</summary>
    public static IServiceCollection AddNerTagger(this IServiceCollection services)
    {
        services.AddSingleton(provider =>
        {
            var options = provider.GetRequiredService<IOptions<NerOptions>>().Value;
            var environment = provider.GetRequiredService<IHostEnvironment>();
            var logger = provider.GetRequiredService<ILogger<NerModel>>();
            var bundle = options.ResolveBundlePath(environment.ContentRootPath);
            var started = Stopwatch.GetTimestamp();
            NerModel model;
            try
            {
                model = NerModel.Load(bundle, options.Device.ToLowerInvariant(), options.LibTorchDirectory);
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                throw new ModelLoadException($"The model bundle at '{bundle}' could not be loaded on device '{options.Device}': {exception.Message}", exception);
            }
            // Before the first forward pass: each inference thread takes libtorch's thread count when it first runs.
            var inferenceThreads = options.Batching.ToBatchingOptions().InferenceThreadsOn(model.Device);
            var threadsPerPass = options.TorchThreads > 0 ? options.TorchThreads : TorchRuntime.ThreadsPerPass(inferenceThreads);
            TorchRuntime.SetThreads(threadsPerPass);
            logger.LogInformation("Loaded model {Name} {Version} from {Bundle} on {Device} in {Elapsed:F0} ms; {InferenceThreads} inference threads, {ThreadsPerPass} libtorch threads each",
                model.Info.Name, model.Info.Version, bundle, options.Device, Stopwatch.GetElapsedTime(started).TotalMilliseconds, inferenceThreads, threadsPerPass);
            return model;
        });
        services.AddSingleton(provider =>
        {
            var batching = provider.GetRequiredService<IOptions<NerOptions>>().Value.Batching.ToBatchingOptions();
            var tagger = new BatchingTagger(provider.GetRequiredService<NerModel>(), batching);
            provider.GetRequiredService<ILogger<BatchingTagger>>().LogInformation(
                "Batching: up to {Sentences} sentences and {Tokens} tokens a pass, waiting at most {Delay} ms for a batch to fill",
                batching.MaxBatchSentences, batching.MaxBatchTokens, tagger.MaxDelay.TotalMilliseconds);
            return tagger;
        });
        services.AddSingleton<TaggerLifetime>();
        services.AddHostedService(provider => provider.GetRequiredService<TaggerLifetime>());
        return services;
    }
}

/// <summary>
/// Loads the model when the host starts (hosted services start before the server listens, so a bad bundle
/// stops start-up), and on shutdown drains the tagger's queue after the server has stopped taking requests
/// (hosted services stop in reverse order, the server first).
/// </summary>
internal sealed class TaggerLifetime(IServiceProvider services, NerMetrics metrics, IHostApplicationLifetime application) : IHostedService
{
    private BatchingTagger? tagger;

    /// <summary>True while the model is loaded and the service is not shutting down.</summary>
    public bool IsReady => tagger is not null && !application.ApplicationStopping.IsCancellationRequested;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var loaded = services.GetRequiredService<BatchingTagger>();
        loaded.BatchCompleted += metrics.RecordBatch;
        metrics.TrackQueue(loaded);
        tagger = loaded;
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (tagger is not null)
            await tagger.DisposeAsync().AsTask().WaitAsync(cancellationToken);
    }
}

/// <summary>The configured bundle exists but could not be loaded; start-up stops with this message.</summary>
internal sealed class ModelLoadException(string message, Exception inner) : Exception(message, inner);
