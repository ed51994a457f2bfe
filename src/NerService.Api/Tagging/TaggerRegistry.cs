using System.Collections.Frozen;
using NerService.Api.Options;
using NerService.Model.Inference;

namespace NerService.Api.Tagging;

/// <summary>A model served under a name: the loaded bundle and the batching tagger (queue and inference threads) in front of it.</summary>
public sealed record ServedModel(string Name, NerModel Model, BatchingTagger Tagger)
{
    public ModelInfo Info => Tagger.Model;
}

/// <summary>
/// Every model the service serves, by the name requests give in <c>"model"</c>; <see cref="NerOptions.DefaultModelName"/>
/// when they give none. Each entry has its own queue and inference threads, so a burst for one model never waits
/// behind the other's. Readers take one immutable snapshot per request, so an entry can later be replaced
/// (a model update) without locking the request path.
/// </summary>
public sealed class TaggerRegistry(IReadOnlyList<ServedModel> models) : IAsyncDisposable
{
    private readonly FrozenDictionary<string, ServedModel> byName = models.ToFrozenDictionary(m => m.Name, StringComparer.Ordinal);
    private int disposed;

    /// <summary>The model served when a request names none.</summary>
    public ServedModel Default => byName[NerOptions.DefaultModelName];

    /// <summary>Every served model, the default one first.</summary>
    public IReadOnlyList<ServedModel> Models { get; } = models;

    public IReadOnlyList<string> Names => [.. Models.Select(m => m.Name)];

    /// <summary>The model named <paramref name="name"/> (the default one for null); false when none has that name.</summary>
    public bool TryGet(string? name, out ServedModel model)
    {
        if (name is null)
        {
            model = Default;
            return true;
        }
        return byName.TryGetValue(name, out model!);
    }

    /// <summary>Drains every model's queue (queued texts are still tagged), then frees the models; once, however often called.</summary>
    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(Models.Select(m => m.Tagger.DisposeAsync().AsTask()));
        if (Interlocked.Exchange(ref disposed, 1) == 0)
        {
            foreach (var model in Models)
                model.Model.Dispose();
        }
    }
}
