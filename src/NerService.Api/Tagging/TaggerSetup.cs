using System.Diagnostics;
using Microsoft.Extensions.Options;
using NerService.Api.Monitoring;
using NerService.Api.Options;
using NerService.Model.Inference;

namespace NerService.Api.Tagging;

internal static class TaggerSetup
{
    /// <summary>
    /// Every configured model, each with its own batching tagger, loaded before the server accepts requests, and
    /// what replaces one of them while the service runs (<see cref="ModelUpdates"/>).
    /// </summary>
    public static IServiceCollection AddNerTagger(this IServiceCollection services)
    {
        services.AddSingleton<ModelLoader>();
        services.AddSingleton(provider =>
        {
            var options = provider.GetRequiredService<IOptions<NerOptions>>().Value;
            var environment = provider.GetRequiredService<IHostEnvironment>();
            var loader = provider.GetRequiredService<ModelLoader>();
            var served = new List<ServedModel>();
            try
            {
                foreach (var (name, bundle) in options.ServedModels(environment.ContentRootPath))
                    served.Add(loader.Load(name, bundle));
            }
            catch
            {
                foreach (var model in served)
                {
                    model.Tagger.DisposeAsync().AsTask().GetAwaiter().GetResult();
                    model.Model.Dispose();
                }
                throw;
            }
            return new TaggerRegistry(served);
        });
        services.AddSingleton<ModelUpdates>();
        services.AddSingleton<TaggerLifetime>();
        services.AddHostedService(provider => provider.GetRequiredService<TaggerLifetime>());
        services.AddHealthChecks().AddCheck<ModelReadinessCheck>("model", tags: [HealthChecks.ReadinessTag]);
        return services;
    }
}

/// <summary>Loads a bundle and puts a batching tagger in front of it, the same way at start and for a model update.</summary>
internal sealed class ModelLoader(IOptions<NerOptions> options, NerMetrics metrics, ILogger<ModelLoader> logger)
{
    /// <summary>Throws <see cref="ModelLoadException"/> saying why when the bundle cannot be loaded.</summary>
    public ServedModel Load(string name, string bundle)
    {
        var settings = options.Value;
        var started = Stopwatch.GetTimestamp();
        NerModel model;
        try
        {
            model = NerModel.Load(bundle, settings.Device.ToLowerInvariant(), settings.LibTorchDirectory);
            model.ConsistencyConfidence = settings.DocumentConsistency > 0 ? settings.DocumentConsistency : null;
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            throw new ModelLoadException($"The model bundle '{name}' at '{bundle}' could not be loaded on device '{settings.Device}': {exception.Message}", exception);
        }
        // Each model gets one inference thread per core by default: threads of a model without work sleep on its
        // queue, so only models in use share the cores, and a model used alone still has all of them.
        var batching = settings.BatchingOf(name);
        var threads = batching.InferenceThreadsOn(model.Device);
        // Before the first forward pass: each inference thread takes libtorch's thread count when it first runs.
        var threadsPerPass = settings.TorchThreads > 0 ? settings.TorchThreads : TorchRuntime.ThreadsPerPass(threads);
        TorchRuntime.SetThreads(threadsPerPass);
        var tagger = new BatchingTagger(model, batching);
        tagger.BatchCompleted += batch => metrics.RecordBatch(name, batch);
        logger.LogInformation("Model {Model}: {Name} {Version} from {Bundle} on {Device} in {Elapsed:F0} ms; {InferenceThreads} inference threads, {ThreadsPerPass} libtorch threads each; "
            + "batches of up to {Sentences} sentences and {Tokens} tokens, waiting at most {Delay} ms for a batch to fill",
            name, model.Info.Name, model.Info.Version, bundle, settings.Device, Stopwatch.GetElapsedTime(started).TotalMilliseconds, threads, threadsPerPass,
            batching.MaxBatchSentences, batching.MaxBatchTokens, tagger.MaxDelay.TotalMilliseconds);
        return new ServedModel(name, model, tagger, bundle);
    }
}

/// <summary>
/// Loads the model when the host starts (hosted services start before the server listens, so a bad bundle
/// stops start-up), and on shutdown drains the taggers' queues after the server has stopped taking requests
/// (hosted services stop in reverse order, the server first).
/// </summary>
internal sealed class TaggerLifetime(IServiceProvider services, NerMetrics metrics, IHostApplicationLifetime application) : IHostedService
{
    private TaggerRegistry? registry;

    /// <summary>True while the models are loaded and the service is not shutting down; a model update never changes it.</summary>
    public bool IsReady => registry is not null && !application.ApplicationStopping.IsCancellationRequested;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var loaded = services.GetRequiredService<TaggerRegistry>();
        metrics.TrackModels(() => loaded.Models.Select(m => (m.Name, m.Info, m.Tagger)));
        registry = loaded;
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (registry is not null)
            await registry.StopAsync(cancellationToken);
    }
}

/// <summary>The configured bundle exists but could not be loaded; start-up stops with this message.</summary>
internal sealed class ModelLoadException(string message, Exception inner) : Exception(message, inner);
