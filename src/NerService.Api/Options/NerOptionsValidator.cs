using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using NerService.Api.Security;

namespace NerService.Api.Options;

/// <summary>
/// Checks the settings once at start (<c>ValidateOnStart</c>), so that a typo stops the service with a message
/// naming the setting instead of surfacing later as a failed request.
/// </summary>
internal sealed partial class NerOptionsValidator(IHostEnvironment environment, IConfiguration configuration) : IValidateOptions<NerOptions>
{
    private static readonly string[] Devices = ["cpu", "cuda", "auto"];

    public ValidateOptionsResult Validate(string? name, NerOptions options)
    {
        var failures = new List<string>();
        const string section = NerOptions.SectionName;

        if (string.IsNullOrWhiteSpace(options.BundlePath))
            failures.Add($"{section}:BundlePath must name the model bundle to serve.");
        else
        {
            var bundle = options.ResolveBundlePath(environment.ContentRootPath);
            if (!File.Exists(bundle) && !Directory.Exists(bundle))
                failures.Add($"{section}:BundlePath: no model bundle at '{bundle}'.");
        }

        foreach (var (model, settings) in options.Models)
        {
            if (!ModelNames.IsValid(model) || model == NerOptions.DefaultModelName)
                failures.Add($"{section}:Models:{model}: a model's name is 1 to 40 lowercase letters, digits, '-', '_' or '.', and not '{NerOptions.DefaultModelName}' (the model at {section}:BundlePath).");
            if (string.IsNullOrWhiteSpace(settings.BundlePath))
                failures.Add($"{section}:Models:{model}:BundlePath must name the model bundle to serve.");
            else if (Path.GetFullPath(settings.BundlePath, environment.ContentRootPath) is var bundle && !File.Exists(bundle) && !Directory.Exists(bundle))
                failures.Add($"{section}:Models:{model}:BundlePath: no model bundle at '{bundle}'.");
            if (settings.InferenceThreads is { } threads)
                RequireRange(failures, $"{section}:Models:{model}:InferenceThreads", threads, 0, 1024);
            if (settings.MaxBatchSentences is { } sentences)
                RequireRange(failures, $"{section}:Models:{model}:MaxBatchSentences", sentences, 1, 100_000);
        }

        if (string.IsNullOrWhiteSpace(options.ModelsDirectory))
            failures.Add($"{section}:ModelsDirectory must name the folder model updates load bundles from.");

        if (options.DocumentConsistency is < 0 or >= 1 || double.IsNaN(options.DocumentConsistency))
            failures.Add($"{section}:DocumentConsistency must be 0 (off) or a probability below 1 (was {options.DocumentConsistency}).");
        if (options.TorchThreads < 0)
            failures.Add($"{section}:TorchThreads must be 0 (the cores shared among inference threads) or a positive number of threads (was {options.TorchThreads}).");
        if (!Devices.Contains(options.Device, StringComparer.OrdinalIgnoreCase))
            failures.Add($"{section}:Device must be one of {string.Join(", ", Devices)} (was '{options.Device}').");

        if (options.LibTorchDirectory is { Length: > 0 } libTorch && !Directory.Exists(libTorch))
            failures.Add($"{section}:LibTorchDirectory: no folder at '{libTorch}'.");

        var batching = options.Batching;
        RequireRange(failures, $"{section}:Batching:MaxBatchSentences", batching.MaxBatchSentences, 1, 100_000);
        RequireRange(failures, $"{section}:Batching:MaxBatchTokens", batching.MaxBatchTokens, 1, 10_000_000);
        if (batching.MaxDelayMs is { } delay)
            RequireRange(failures, $"{section}:Batching:MaxDelayMs", delay, 0, 10_000);
        RequireRange(failures, $"{section}:Batching:InferenceThreads", batching.InferenceThreads, 0, 1024);
        RequireRange(failures, $"{section}:Batching:QueueCapacity", batching.QueueCapacity, 1, 10_000_000);
        RequireRange(failures, $"{section}:Batching:QueueTokenBudget", batching.QueueTokenBudget, 1, 100_000_000);

        RequireRange(failures, $"{section}:Limits:MaxTextCharacters", options.Limits.MaxTextCharacters, 1, 100_000_000);
        RequireRange(failures, $"{section}:Limits:MaxBatchDocuments", options.Limits.MaxBatchDocuments, 1, 100_000);
        RequireRange(failures, $"{section}:Limits:MaxRequestBodyBytes", options.Limits.MaxRequestBodyBytes, 1024, 1L << 30);

        ValidateApiKeys(failures, options.ApiKeys);

        RequireRange(failures, $"{section}:RateLimit:PermitsPerWindow", options.RateLimit.PermitsPerWindow, 0, int.MaxValue);
        RequireRange(failures, $"{section}:RateLimit:CharactersPerWindow", options.RateLimit.CharactersPerWindow, 0, int.MaxValue);
        RequireRange(failures, $"{section}:RateLimit:WindowSeconds", options.RateLimit.WindowSeconds, 0.001, 86_400);

        RequireRange(failures, $"{section}:Metrics:Port", options.Metrics.Port, 0, 65_535);

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private void ValidateApiKeys(List<string> failures, List<ApiKeySettings> keys)
    {
        const string section = NerOptions.SectionName;
        // The format before tenancy was a bare key per entry; binding silently drops such a value, so name it here.
        foreach (var entry in configuration.GetSection($"{section}:ApiKeys").GetChildren().Where(entry => entry.Value is not null))
        {
            var setting = $"{section}:ApiKeys:{entry.Key}";
            failures.Add($"{setting} is a bare key; each key now needs a tenant and a role: set {setting}:Key "
                + $"(or {setting}:KeySha256), {setting}:Tenant and {setting}:Role (tagger, reviewer or admin).");
        }

        var hashes = new Dictionary<string, int>();
        for (var i = 0; i < keys.Count; i++)
        {
            var key = keys[i];
            var setting = $"{section}:ApiKeys:{i}";
            var hasKey = !string.IsNullOrEmpty(key.Key);
            var hasHash = !string.IsNullOrEmpty(key.KeySha256);
            if (hasKey && hasHash)
                failures.Add($"{setting}: set Key or KeySha256, not both.");
            else if (!hasKey && !hasHash)
            {
                if (configuration[setting] is null)
                    failures.Add($"{setting}:Key (or {setting}:KeySha256) is empty; remove the key or give it a value.");
            }
            else if (hasKey && string.IsNullOrWhiteSpace(key.Key))
                failures.Add($"{setting}:Key is blank; give it a value.");
            else if (hasHash && !ApiKeyRing.TryParseSha256(key.KeySha256, out _))
                failures.Add($"{setting}:KeySha256 must be 64 hexadecimal digits (the SHA-256 of the key, e.g. from `printf %s \"$key\" | sha256sum`).");
            else if (!hashes.TryAdd(Convert.ToHexString(ApiKeyRing.HashOf(key)), i))
                failures.Add($"{setting} is the same key as {section}:ApiKeys:{hashes[Convert.ToHexString(ApiKeyRing.HashOf(key))]}; each key names one tenant and role.");

            if (key.Tenant is null || !TenantName().IsMatch(key.Tenant))
                failures.Add($"{setting}:Tenant must be 1-64 letters, digits, '.', '_' or '-' (was '{key.Tenant}').");
            if (!ApiKeys.TryParseRole(key.Role, out _))
                failures.Add($"{setting}:Role must be tagger, reviewer or admin (was '{key.Role}').");
        }
    }

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex TenantName();

    private static void RequireRange(List<string> failures, string setting, double value, double min, double max)
    {
        if (double.IsNaN(value) || value < min || value > max)
            failures.Add($"{setting} must be between {min} and {max} (was {value}).");
    }
}

/// <summary>What a model's name may be: it appears in requests, metric labels and stored documents.</summary>
internal static partial class ModelNames
{
    public static bool IsValid(string name) => Pattern().IsMatch(name);

    [System.Text.RegularExpressions.GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,39}$")]
    private static partial System.Text.RegularExpressions.Regex Pattern();
}
