using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using NerService.Api.Errors;
using NerService.Api.Options;

namespace NerService.Api.Security;

/// <summary>Fixed-window rate limit per client: a valid API key, or the remote address for everyone else.</summary>
internal static class ClientRateLimiting
{
    public const string PolicyName = "per-client";

    public static IServiceCollection AddClientRateLimiting(this IServiceCollection services)
    {
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.AddPolicy(PolicyName, http =>
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
            limiter.OnRejected = async (context, cancellationToken) =>
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
    /// Only keys we know name a client; an unknown key falls back to the address, so that inventing keys
    /// cannot buy fresh windows.
    /// </summary>
    private static string ClientOf(HttpContext http, NerOptions options)
    {
        var key = http.Request.Headers[ApiKeys.HeaderName].ToString();
        if (options.ApiKeys.Count > 0 && ApiKeys.IsKnown(options.ApiKeys, key))
            return "key:" + key;
        return "address:" + (http.Connection.RemoteIpAddress?.ToString() ?? "unknown");
    }
}
