using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using NerService.Api.Options;

namespace NerService.Api.Security;

/// <summary>What a key may do; each role includes the ones before it.</summary>
public enum ApiRole
{
    /// <summary>Tag texts and store them.</summary>
    Tagger = 1,

    /// <summary>Also read, search and correct the tenant's stored documents and count their entities.</summary>
    Reviewer = 2,

    /// <summary>Also every tenant's documents, deletion and the export.</summary>
    Admin = 3,
}

/// <summary>
/// Who is calling: the tenant of the key sent (whose documents the request stores and reaches) and its role.
/// With no keys configured every caller is <see cref="Open"/>.
/// </summary>
public sealed record ApiClient(string Tenant, ApiRole Role)
{
    /// <summary>The tenant of documents stored while no keys are configured (and of those stored before tenancy).</summary>
    public const string LocalTenant = "local";

    public static ApiClient Open { get; } = new(LocalTenant, ApiRole.Admin);

    /// <summary>The tenant whose documents this client reaches; null for an admin, who reaches every tenant's.</summary>
    public string? Scope => Role == ApiRole.Admin ? null : Tenant;
}

/// <summary>
/// Optional API keys (<see cref="NerOptions.ApiKeys"/>): when any are configured, endpoints marked with
/// <see cref="RequireRole{TBuilder}"/> need a key in <c>X-Api-Key</c> whose role is high enough. The check is a
/// middleware (<see cref="UseApiKeys"/>), so a request without a valid key is answered before its body is read.
/// </summary>
public static class ApiKeys
{
    public const string HeaderName = "X-Api-Key";

    public static IServiceCollection AddApiKeys(this IServiceCollection services) => services.AddSingleton<ApiKeyRing>();

    /// <summary>Marks endpoints as needing a key of at least the tagger role (tagging).</summary>
    public static TBuilder RequireApiKey<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.RequireRole(ApiRole.Tagger);

    /// <summary>Marks endpoints as needing a key of at least <paramref name="role"/>; the most demanding mark on an endpoint applies.</summary>
    public static TBuilder RequireRole<TBuilder>(this TBuilder builder, ApiRole role) where TBuilder : IEndpointConventionBuilder
    {
        builder.WithMetadata(new RequiredRole(role));
        // Fails closed: an application that maps these endpoints without UseApiKeys must not serve them unchecked.
        builder.AddEndpointFilter((context, next) => context.HttpContext.Features.Get<ApiClient>() is null
            ? throw new InvalidOperationException($"Endpoints that need an API key require app.{nameof(UseApiKeys)}() in the pipeline.")
            : next(context));
        return builder.ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden);
    }

    /// <summary>The caller of a request to an endpoint that needs a key (set by <see cref="UseApiKeys"/>).</summary>
    public static ApiClient GetApiClient(this HttpContext http) =>
        http.Features.Get<ApiClient>() ?? throw new InvalidOperationException($"No API client: the endpoint is not marked with {nameof(RequireRole)} or {nameof(UseApiKeys)} is missing.");

    /// <summary>
    /// Checks the key of requests to marked endpoints before anything reads their body: 401 without a known key,
    /// 403 when the key's role is too low, both as problem details. Must come after routing (which
    /// <see cref="WebApplication"/> adds first by default) so that the endpoint's mark is known.
    /// </summary>
    public static WebApplication UseApiKeys(this WebApplication app)
    {
        // Resolved once started, not here: the keys come from options that are validated at start, and a bad
        // setting must reach the start-up message that names it rather than fail while the pipeline is built.
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            if (app.Services.GetRequiredService<ApiKeyRing>().IsOpen)
            {
                app.Logger.LogWarning("No API keys are configured (Ner:ApiKeys): every caller may read, correct, export and delete "
                    + "every stored document. Configure keys before exposing the service.");
            }
        });
        app.Use(async (http, next) =>
        {
            var required = http.GetEndpoint()?.Metadata.GetOrderedMetadata<RequiredRole>();
            if (required is null || required.Count == 0)
            {
                await next(http);
                return;
            }
            var ring = http.RequestServices.GetRequiredService<ApiKeyRing>();
            var role = required.Max(r => r.Role);
            var client = ring.IsOpen ? ApiClient.Open : ring.Find(http.Request.Headers[HeaderName].ToString());
            if (client is null)
            {
                http.Response.Headers.WWWAuthenticate = $"ApiKey header=\"{HeaderName}\"";
                await WriteProblemAsync(http, StatusCodes.Status401Unauthorized, "Missing or unknown API key.",
                    $"Send a valid key in the {HeaderName} header.");
                return;
            }
            if (client.Role < role)
            {
                await WriteProblemAsync(http, StatusCodes.Status403Forbidden, "The API key's role does not allow this.",
                    $"This key has the role {RoleName(client.Role)}; {http.Request.Method} {http.Request.Path} needs {RoleName(role)}.");
                return;
            }
            http.Features.Set(client);
            await next(http);
        });
        return app;
    }

    /// <summary>Whether <paramref name="candidate"/> is one of <paramref name="keys"/>; compared as SHA-256 in constant time.</summary>
    public static bool IsKnown(IReadOnlyList<ApiKeySettings> keys, string candidate) =>
        candidate.Length > 0 && new ApiKeyRing(keys).Find(candidate) is not null;

    public static string RoleName(ApiRole role) => role.ToString().ToLowerInvariant();

    public static bool TryParseRole(string? value, out ApiRole role)
    {
        role = default;
        return value is not null && !int.TryParse(value, out _)
            && Enum.TryParse(value, ignoreCase: true, out role) && Enum.IsDefined(role);
    }

    private static async Task WriteProblemAsync(HttpContext http, int status, string title, string detail)
    {
        http.Response.StatusCode = status;
        await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        });
    }

    private sealed record RequiredRole(ApiRole Role);
}

/// <summary>
/// The configured keys, held as SHA-256 hashes. A candidate is hashed and compared with every key in constant time,
/// so neither the time taken nor an early exit reveals how much of a key matched or which key it resembled.
/// </summary>
public sealed class ApiKeyRing
{
    private readonly (byte[] Hash, ApiClient Client)[] keys;

    public ApiKeyRing(IOptions<NerOptions> options) : this(options.Value.ApiKeys)
    {
    }

    internal ApiKeyRing(IReadOnlyList<ApiKeySettings> settings)
    {
        // Settings are validated at start (NerOptionsValidator); a key without a valid role never gets here.
        keys = settings.Select(key => (HashOf(key),
            new ApiClient(key.Tenant ?? "", ApiKeys.TryParseRole(key.Role, out var role) ? role : ApiRole.Tagger))).ToArray();
    }

    /// <summary>No keys configured: the service is open (local use).</summary>
    public bool IsOpen => keys.Length == 0;

    /// <summary>The client a key belongs to, or null for an empty or unknown key.</summary>
    public ApiClient? Find(string candidate)
    {
        if (candidate.Length == 0)
            return null;
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(candidate));
        ApiClient? found = null;
        foreach (var (keyHash, client) in keys)
        {
            if (CryptographicOperations.FixedTimeEquals(keyHash, hash))
                found = client;
        }
        return found;
    }

    internal static byte[] HashOf(ApiKeySettings key) =>
        key.Key is { Length: > 0 } plain ? SHA256.HashData(Encoding.UTF8.GetBytes(plain))
        : TryParseSha256(key.KeySha256, out var hash) ? hash
        : [];

    internal static bool TryParseSha256(string? hex, out byte[] hash)
    {
        hash = [];
        if (hex is not { Length: 64 })
            return false;
        try
        {
            hash = Convert.FromHexString(hex);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
