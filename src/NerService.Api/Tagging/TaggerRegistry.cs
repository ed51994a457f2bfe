using System.Collections.Frozen;
using NerService.Api.Options;
using NerService.Model.Inference;

namespace NerService.Api.Tagging;

/// <summary>
/// A model served under a name: the loaded bundle and the batching tagger (queue and inference threads) in front
/// of it. Requests hold it through a <see cref="ModelLease"/>; once it has been replaced and the last lease ends,
/// its tagger drains its queue and the model is freed.
/// </summary>
public sealed class ServedModel
{
    // The registry holds one count while the model is served; each lease holds one more.
    private int holders = 1;
    private readonly TaskCompletionSource retired = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ServedModel(string name, NerModel model, BatchingTagger tagger, string bundlePath)
    {
        Name = name;
        Model = model;
        Tagger = tagger;
        BundlePath = bundlePath;
    }

    /// <summary>The name requests give in <c>"model"</c>.</summary>
    public string Name { get; }

    public NerModel Model { get; }

    public BatchingTagger Tagger { get; }

    /// <summary>The bundle file it was loaded from (absolute).</summary>
    public string BundlePath { get; }

    public ModelInfo Info => Tagger.Model;

    /// <summary>Completes once the model has been replaced, every lease has ended, and its tagger and weights are freed.</summary>
    public Task Retired => retired.Task;

    /// <summary>False once the model has been retired: the caller reads the registry again and finds its successor.</summary>
    internal bool TryAcquire()
    {
        var current = Volatile.Read(ref holders);
        while (current > 0)
        {
            var seen = Interlocked.CompareExchange(ref holders, current + 1, current);
            if (seen == current)
                return true;
            current = seen;
        }
        return false;
    }

    internal void Release()
    {
        if (Interlocked.Decrement(ref holders) == 0)
            _ = RetireAsync();
    }

    private async Task RetireAsync()
    {
        try
        {
            // Nothing holds it any more, so its queue only has texts whose callers went away; drained all the same.
            await Tagger.DisposeAsync();
            Model.Dispose();
            retired.TrySetResult();
        }
        catch (Exception failure)
        {
            retired.TrySetException(failure);
        }
    }
}

/// <summary>
/// One request's hold on a served model: the model stays loaded and its tagger open until every lease taken on it
/// has ended, even when another model has replaced it in the meantime.
/// </summary>
public sealed class ModelLease : IDisposable
{
    private int ended;

    internal ModelLease(ServedModel model) => Model = model;

    public ServedModel Model { get; }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref ended, 1) == 0)
            Model.Release();
    }
}

/// <summary>
/// Every model the service serves, by the name requests give in <c>"model"</c>; <see cref="NerOptions.DefaultModelName"/>
/// when they give none. Each entry has its own queue and inference threads, so a burst for one model never waits
/// behind the other's. The names are fixed at start; the model behind a name can be replaced while requests run
/// (<see cref="Replace"/>): requests lease the model they start with (<see cref="TryLease"/>) and finish on it,
/// later ones lease the new one.
/// </summary>
public sealed class TaggerRegistry : IAsyncDisposable
{
    private readonly Lock updates = new();
    private readonly List<ServedModel> replaced = [];
    private volatile FrozenDictionary<string, ServedModel> byName;
    private bool stopping;
    private int disposed;

    public TaggerRegistry(IReadOnlyList<ServedModel> models)
    {
        byName = models.ToFrozenDictionary(m => m.Name, StringComparer.Ordinal);
        Names = [.. models.Select(m => m.Name)];
    }

    /// <summary>The model served now when a request names none.</summary>
    public ServedModel Default => byName[NerOptions.DefaultModelName];

    /// <summary>Every model served now, the default one first.</summary>
    public IReadOnlyList<ServedModel> Models
    {
        get
        {
            var current = byName;
            return [.. Names.Select(n => current[n])];
        }
    }

    /// <summary>The served names, the default one first.</summary>
    public IReadOnlyList<string> Names { get; }

    public bool Contains(string name) => byName.ContainsKey(name);

    /// <summary>
    /// A lease on the model served now under <paramref name="name"/> (the default one for null); false when no model
    /// has that name. The caller disposes the lease when its request is done with the model.
    /// </summary>
    public bool TryLease(string? name, out ModelLease lease)
    {
        name ??= NerOptions.DefaultModelName;
        while (true)
        {
            if (!byName.TryGetValue(name, out var model))
            {
                lease = null!;
                return false;
            }
            // Fails only for a model replaced and retired since the dictionary was read: the next read finds its successor.
            if (model.TryAcquire())
            {
                lease = new ModelLease(model);
                return true;
            }
        }
    }

    /// <summary>
    /// Serves <paramref name="next"/> under its name from now on and returns the model it replaces, which retires
    /// (drains and is freed) once the requests that leased it have finished. Throws <see cref="ObjectDisposedException"/>
    /// once shutdown has begun.
    /// </summary>
    public ServedModel Replace(ServedModel next)
    {
        ServedModel previous;
        lock (updates)
        {
            ObjectDisposedException.ThrowIf(stopping, this);
            previous = byName[next.Name];
            var models = byName.ToDictionary(StringComparer.Ordinal);
            models[next.Name] = next;
            byName = models.ToFrozenDictionary(StringComparer.Ordinal);
            replaced.Add(previous);
        }
        // After the switch: a request that finds the old model retired reads the registry again and gets this one.
        previous.Release();
        return previous;
    }

    /// <summary>
    /// Shutdown, once the server has stopped taking requests: no more replacements; every served tagger finishes its
    /// queued texts and stops, and replaced models finish retiring.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        ServedModel[] retiring;
        lock (updates)
        {
            stopping = true;
            retiring = [.. replaced];
        }
        await Task.WhenAll(Models.Select(m => m.Tagger.DisposeAsync().AsTask()).Concat(retiring.Select(m => m.Retired)))
            .WaitAsync(cancellationToken);
    }

    /// <summary>Drains every model's queue (queued texts are still tagged), then frees the models; once, however often called.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (Interlocked.Exchange(ref disposed, 1) == 0)
        {
            foreach (var model in Models)
                model.Model.Dispose();
        }
    }
}
