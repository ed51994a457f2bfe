using System.Diagnostics;
using Microsoft.Extensions.Options;
using NerService.Api.Monitoring;
using NerService.Api.Options;

namespace NerService.Api.Tagging;

/// <summary>
/// Replaces a served model while the service runs: loads a bundle from the models folder beside the one serving,
/// checks it, then switches the registry to it. Requests that leased the old model finish on it; it drains and is
/// freed after the last of them. A bundle that fails a check is freed and the old model keeps serving.
/// </summary>
internal sealed class ModelUpdates(
    TaggerRegistry registry, ModelLoader loader, IOptions<NerOptions> options, IHostEnvironment environment, NerMetrics metrics, ILogger<ModelUpdates> logger)
{
    /// <summary>Tagged by every candidate before it serves: it must tag without failing, and only with its own labels.</summary>
    public const string SmokeText = "John Smith of Reuters flew from London to Paris on Monday.";

    private static readonly TimeSpan SmokeTimeout = TimeSpan.FromMinutes(2);

    // One update at a time: a second waits, so two loads never race to replace the same model.
    private readonly SemaphoreSlim gate = new(1, 1);
    private readonly Dictionary<string, string> previousBundles = new(StringComparer.Ordinal);

    /// <summary>The models folder bundles are loaded from (absolute).</summary>
    public string ModelsDirectory => options.Value.ResolveModelsDirectory(environment.ContentRootPath);

    /// <summary>Loads <paramref name="bundle"/> (a path inside the models folder) and serves it as <paramref name="name"/>.</summary>
    public async Task<ModelSwitch> LoadAsync(string name, string bundle, CancellationToken cancellationToken)
    {
        var path = ResolveInsideModelsDirectory(bundle);
        await gate.WaitAsync(cancellationToken);
        try
        {
            return await SwitchAsync(name, path, cancellationToken);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Serves again the bundle that <paramref name="name"/> served before its last switch.</summary>
    public async Task<ModelSwitch> RestoreAsync(string name, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (!previousBundles.TryGetValue(name, out var previous))
            {
                throw new ModelUpdateException(StatusCodes.Status409Conflict, "Nothing to restore.",
                    $"The model '{name}' has served one bundle since the service started; there is no previous one to go back to.");
            }
            // The previous bundle was served here before (perhaps from the configured path, outside the models folder);
            // it is checked again like any other, since the file may have changed since.
            return await SwitchAsync(name, previous, cancellationToken);
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<ModelSwitch> SwitchAsync(string name, string path, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var current = registry.Models.Single(m => m.Name == name);
        ServedModel candidate;
        try
        {
            candidate = await Task.Run(() => loader.Load(name, path), cancellationToken);
        }
        catch (ModelLoadException failure)
        {
            throw Refused($"The bundle could not be loaded: {failure.InnerException?.Message ?? failure.Message}");
        }

        ServedModel previous;
        try
        {
            await CheckAsync(candidate, current, cancellationToken);
            previous = registry.Replace(candidate);
        }
        catch
        {
            await candidate.Tagger.DisposeAsync();
            candidate.Model.Dispose();
            throw;
        }
        previousBundles[name] = previous.BundlePath;
        metrics.RecordSwitch(name);
        var elapsed = Stopwatch.GetElapsedTime(started);
        logger.LogInformation("Model {Model} switched from {OldName} {OldVersion} ({OldBundle}) to {NewName} {NewVersion} ({NewBundle}) in {Elapsed:F0} ms; "
            + "requests already on the old model finish on it",
            name, previous.Info.Name, previous.Info.Version, previous.BundlePath, candidate.Info.Name, candidate.Info.Version, path, elapsed.TotalMilliseconds);
        return new ModelSwitch(name, ServedBundle.From(candidate), ServedBundle.From(previous), Math.Round(elapsed.TotalSeconds, 3));
    }

    /// <summary>
    /// The candidate must tag the entity types the served model tags (stored documents, corrections and the review
    /// page use those labels), and tag a sentence through its own queue and threads, using only those labels.
    /// </summary>
    private static async Task CheckAsync(ServedModel candidate, ServedModel current, CancellationToken cancellationToken)
    {
        var types = candidate.Info.EntityTypes.Order(StringComparer.Ordinal).ToList();
        var served = current.Info.EntityTypes.Order(StringComparer.Ordinal).ToList();
        if (!types.SequenceEqual(served))
        {
            throw Refused($"The bundle tags {Describe(types)}; the model '{current.Name}' tags {Describe(served)}. "
                + "A model update keeps the entity types, which stored documents and corrections use.");
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(SmokeTimeout);
        try
        {
            var tagged = await candidate.Tagger.TagAsync(SmokeText, includeTokens: true, includeAlternatives: true, timeout.Token);
            if (tagged.Tokens is not { Count: > 0 })
                throw Refused($"The bundle tagged no tokens in the test sentence \"{SmokeText}\".");
            if (tagged.Entities.FirstOrDefault(e => !types.Contains(e.Label)) is { } stray)
                throw Refused($"The bundle tagged \"{stray.Text}\" as {stray.Label}, which is not one of its entity types.");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw Refused($"The bundle did not tag the test sentence within {SmokeTimeout.TotalSeconds:F0} s.");
        }
        catch (Exception failure) when (failure is not (ModelUpdateException or OperationCanceledException or OutOfMemoryException))
        {
            throw Refused($"The bundle failed to tag the test sentence: {failure.Message}");
        }
    }

    /// <summary>The full path of <paramref name="bundle"/>, which must name an existing file or folder inside the models folder.</summary>
    private string ResolveInsideModelsDirectory(string bundle)
    {
        var folder = Path.TrimEndingDirectorySeparator(ModelsDirectory) + Path.DirectorySeparatorChar;
        var path = Path.GetFullPath(bundle, folder);
        // A link inside the folder may point anywhere: where it leads must be inside too.
        var target = File.Exists(path) || Directory.Exists(path)
            ? new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path
            : path;
        if (!IsInside(path, folder) || !IsInside(target, folder))
        {
            throw new ModelUpdateException(StatusCodes.Status400BadRequest, "The bundle is outside the models folder.",
                $"Bundles are loaded from the models folder (Ner:ModelsDirectory); '{bundle}' is not inside it. Copy the bundle there and name it relative to the folder.");
        }
        if (!File.Exists(path) && !Directory.Exists(path))
        {
            throw new ModelUpdateException(StatusCodes.Status400BadRequest, "No such bundle.",
                $"There is no bundle '{Path.GetRelativePath(folder, path)}' in the models folder.");
        }
        return path;
    }

    private static bool IsInside(string path, string folder) =>
        path.StartsWith(folder, StringComparison.Ordinal) && path.Length > folder.Length;

    private static string Describe(IEnumerable<string> types) => string.Join(", ", types) is { Length: > 0 } list ? list : "no entity types";

    private static ModelUpdateException Refused(string detail) =>
        new(StatusCodes.Status422UnprocessableEntity, "The bundle was not loaded; the served model is unchanged.", detail);
}

/// <summary>Why a model update did not switch; answered as problem details with <see cref="Status"/>.</summary>
internal sealed class ModelUpdateException(int status, string title, string detail) : Exception(detail)
{
    public int Status { get; } = status;

    public string Title { get; } = title;
}

/// <summary>A bundle a model name serves or served.</summary>
/// <param name="Name">The model's name, as its bundle states it.</param>
/// <param name="Version">The model's version, as its bundle states it.</param>
/// <param name="Bundle">The bundle file.</param>
public sealed record ServedBundle(string Name, string Version, string Bundle)
{
    internal static ServedBundle From(ServedModel model) => new(model.Info.Name, model.Info.Version, model.BundlePath);
}

/// <summary>A completed model update: what the name serves now, what it served before, and how long loading and checking took.</summary>
/// <param name="Model">The name requests give in <c>"model"</c>.</param>
/// <param name="Serving">The bundle serving new requests from now on.</param>
/// <param name="Previous">The bundle it replaced (requests already on it finish on it); <c>POST /models/{name}/restore</c> serves it again.</param>
/// <param name="Seconds">Loading, checking and switching.</param>
public sealed record ModelSwitch(string Model, ServedBundle Serving, ServedBundle Previous, double Seconds);
