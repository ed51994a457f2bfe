using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using NerService.Api.Errors;
using NerService.Api.Options;
using NerService.Api.Tagging;

namespace NerService.Api.Security;

/// <summary>
/// Fixed-window rate limits per client (a valid API key, or the remote address for everyone else): a number of
/// requests to any endpoint but the health probes, and for tagging a number of text characters, so that one
/// 100,000-character text weighs what it costs rather than what a 10-character one does.
/// </summary>
internal static class ClientRateLimiting
{
    public static IServiceCollection AddClientRateLimiting(this IServiceCollection services)
    {
        services.AddSingleton<TextRateLimiter>();
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            // Global: every endpoint counts, whatever a later change maps. Health probes opt out (DisableRateLimiting).
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
            {
                var options = http.RequestServices.GetRequiredService<IOptions<NerOptions>>().Value;
                if (options.RateLimit.PermitsPerWindow == 0)
                    return RateLimitPartition.GetNoLimiter("unlimited");
                return RateLimitPartition.GetFixedWindowLimiter(ClientOf(http, options), _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = options.RateLimit.PermitsPerWindow,
                    Window = TimeSpan.FromSeconds(options.RateLimit.WindowSeconds),
                    QueueLimit = 0,
                });
            });
            limiter.OnRejected = async (context, _) =>
            {
                var http = context.HttpContext;
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
                ProblemHandling.SetRetryAfter(http, retryAfter);
                await http.RequestServices.GetRequiredService<IProblemDetailsService>().TryWriteAsync(new ProblemDetailsContext
                {
                    HttpContext = http,
                    ProblemDetails =
                    {
                        Status = StatusCodes.Status429TooManyRequests,
                        Title = "Too many requests.",
                        Detail = "This client has used its requests for the current window; retry after the time in the Retry-After header.",
                    },
                });
            };
        });
        return services;
    }

    /// <summary>
    /// Charges each tagging request its characters of text against the client's allowance
    /// (<see cref="RateLimitSettings.CharactersPerWindow"/>). Runs once the body is bound: that is when the size is known.
    /// </summary>
    public static TBuilder RequireTextRateLimit<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        builder.AddEndpointFilter(async (context, next) =>
        {
            var characters = 0L;
            foreach (var argument in context.Arguments)
            {
                characters += argument switch
                {
                    NerRequest single => single.Text?.Length ?? 0,
                    NerBatchRequest batch => batch.Documents?.Sum(document => (long)(document?.Text?.Length ?? 0)) ?? 0,
                    _ => 0,
                };
            }
            var http = context.HttpContext;
            if (http.RequestServices.GetRequiredService<TextRateLimiter>().TryAcquire(http, characters, out var retryAfter))
                return await next(context);
            ProblemHandling.SetRetryAfter(http, retryAfter);
            return TypedResults.Problem(
                statusCode: StatusCodes.Status429TooManyRequests,
                title: "Too many requests.",
                detail: "This client has sent as much text as it may for the current window; retry after the time in the Retry-After header.");
        });
        return builder.ProducesProblem(StatusCodes.Status429TooManyRequests);
    }

    /// <summary>
    /// Only keys we know name a client; an unknown key falls back to the address, so that inventing keys
    /// cannot buy fresh windows.
    /// </summary>
    internal static string ClientOf(HttpContext http, NerOptions options)
    {
        var key = http.Request.Headers[ApiKeys.HeaderName].ToString();
        if (options.ApiKeys.Count > 0 && ApiKeys.IsKnown(options.ApiKeys, key))
            return "key:" + key;
        return "address:" + (http.Connection.RemoteIpAddress?.ToString() ?? "unknown");
    }
}

/// <summary>One fixed window of characters per client; idle clients' windows are dropped by the partitioned limiter.</summary>
internal sealed class TextRateLimiter : IAsyncDisposable
{
    private readonly IOptions<NerOptions> options;
    private readonly PartitionedRateLimiter<string> limiter;

    public TextRateLimiter(IOptions<NerOptions> options)
    {
        this.options = options;
        var settings = options.Value.RateLimit;
        limiter = PartitionedRateLimiter.Create<string, string>(client =>
            RateLimitPartition.GetFixedWindowLimiter(client, _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = settings.CharactersPerWindow,
                Window = TimeSpan.FromSeconds(settings.WindowSeconds),
                QueueLimit = 0,
            }));
    }

    /// <summary>True when the client may send <paramref name="characters"/> more now; else when to retry.</summary>
    public bool TryAcquire(HttpContext http, long characters, out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        var settings = options.Value;
        var allowance = settings.RateLimit.CharactersPerWindow;
        if (allowance == 0)
            return true;
        // Every request costs at least one permit; one larger than the whole window's allowance takes all of it
        // (a limiter refuses outright to count more permits than it has).
        var permits = (int)Math.Clamp(characters, 1, allowance);
        using var lease = limiter.AttemptAcquire(ClientRateLimiting.ClientOf(http, settings), permits);
        if (lease.IsAcquired)
            return true;
        retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
        return false;
    }

    public ValueTask DisposeAsync() => limiter.DisposeAsync();
}
