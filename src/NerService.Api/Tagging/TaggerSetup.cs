using System.Diagnostics;
using Microsoft.Extensions.Options;
using NerService.Api.Monitoring;
using NerService.Api.Options;
using NerService.Model.Inference;

namespace NerService.Api.Tagging;

internal static class TaggerSetup
{
    /// <summary>
    /// Every configured model, each with its own batching tagger, loaded before the server accepts requests; the
    /// default model's tagger is also a service of its own for what serves only that one.
    /// </summary>
    public static IServiceCollection AddNerTagger(this IServiceCollection services)
    {
        services.AddSingleton(provider =>
        {
            var options = provider.GetRequiredService<IOptions<NerOptions>>().Value;
            var environment = provider.GetRequiredService<IHostEnvironment>();
            var logger = provider.GetRequiredService<ILogger<TaggerRegistry>>();
            var served = new List<ServedModel>();
            try
            {
                foreach (var (name, bundle, inferenceThreads) in options.ServedModels(environment.ContentRootPath))
                    served.Add(Load(options, name, bundle, inferenceThreads, logger));
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
        services.AddSingleton(provider => provider.GetRequiredService<TaggerRegistry>().Default.Tagger);
        services.AddSingleton<TaggerLifetime>();
        services.AddHostedService(provider => provider.GetRequiredService<TaggerLifetime>());
        return services;
    }

    private static ServedModel Load(NerOptions options, string name, string bundle, int inferenceThreads, ILogger logger)
    {
        var started = Stopwatch.GetTimestamp();
        NerModel model;
        try
        {
            model = NerModel.Load(bundle, options.Device.ToLowerInvariant(), options.LibTorchDirectory);
            model.ConsistencyConfidence = options.DocumentConsistency > 0 ? options.DocumentConsistency : null;
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            throw new ModelLoadException($"The model bundle '{name}' at '{bundle}' could not be loaded on device '{options.Device}': {exception.Message}", exception);
        }
        // Each model gets one inference thread per core by default: threads of a model without work sleep on its
        // queue, so only models in use share the cores, and a model used alone still has all of them.
        var batching = options.Batching.ToBatchingOptions();
        batching.InferenceThreads = inferenceThreads;
        var threads = batching.InferenceThreadsOn(model.Device);
        // Before the first forward pass: each inference thread takes libtorch's thread count when it first runs.
        var threadsPerPass = options.TorchThreads > 0 ? options.TorchThreads : TorchRuntime.ThreadsPerPass(threads);
        TorchRuntime.SetThreads(threadsPerPass);
        var tagger = new BatchingTagger(model, batching);
        logger.LogInformation("Model {Model}: {Name} {Version} from {Bundle} on {Device} in {Elapsed:F0} ms; {InferenceThreads} inference threads, {ThreadsPerPass} libtorch threads each; "
            + "batches of up to {Sentences} sentences and {Tokens} tokens, waiting at most {Delay} ms for a batch to fill",
            name, model.Info.Name, model.Info.Version, bundle, options.Device, Stopwatch.GetElapsedTime(started).TotalMilliseconds, threads, threadsPerPass,
            batching.MaxBatchSentences, batching.MaxBatchTokens, tagger.MaxDelay.TotalMilliseconds);
        return new ServedModel(name, model, tagger);
    }
}

/// <summary>
/// Loads the model when the host starts (hosted services start before the server listens, so a bad bundle
/// stops start-up), and on shutdown drains the tagger's queue after the server has stopped taking requests
/// (hosted services stop in reverse order, the server first).
/// </summary>
internal sealed class TaggerLifetime(IServiceProvider services, NerMetrics metrics, IHostApplicationLifetime application) : IHostedService
{
    private TaggerRegistry? registry;

    /// <summary>True while the models are loaded and the service is not shutting down.</summary>
    public bool IsReady => registry is not null && !application.ApplicationStopping.IsCancellationRequested;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var loaded = services.GetRequiredService<TaggerRegistry>();
        foreach (var model in loaded.Models)
        {
            var tagger = model.Tagger;
            tagger.BatchCompleted += batch => metrics.RecordBatch(model.Name, batch);
            metrics.TrackQueue(model.Name, tagger);
        }
        registry = loaded;
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (registry is not null)
            await Task.WhenAll(registry.Models.Select(m => m.Tagger.DisposeAsync().AsTask())).WaitAsync(cancellationToken);
    }
}

/// <summary>The configured bundle exists but could not be loaded; start-up stops with this message.</summary>
internal sealed class ModelLoadException(string message, Exception inner) : Exception(message, inner);
