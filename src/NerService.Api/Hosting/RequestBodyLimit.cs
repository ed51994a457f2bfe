using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using NerService.Api.Options;

namespace NerService.Api.Hosting;

internal static class RequestBodyLimit
{
    /// <summary>
    /// Kestrel's body limit from <see cref="RequestLimits.MaxRequestBodyBytes"/> (the gateway's, by default) instead
    /// of its own 30 MB: a replica reached directly, past the gateway, reads no larger body than the gateway would.
    /// </summary>
    public static IServiceCollection AddRequestBodyLimit(this IServiceCollection services)
    {
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<NerOptions>>((kestrel, options) =>
            kestrel.Limits.MaxRequestBodySize = options.Value.Limits.MaxRequestBodyBytes);
        return services;
    }
}
