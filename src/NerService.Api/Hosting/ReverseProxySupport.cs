using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

namespace NerService.Api.Hosting;

internal static class ReverseProxySupport
{
    public const string InstanceHeader = "X-Instance";

    /// <summary>
    /// <see cref="ReverseProxyOptions"/> (validated at start), forwarded headers and the instance header. Both
    /// middlewares go in through a startup filter so that they run before everything else (the rate limiter
    /// and the metrics must already see the client's address), as ASP.NET Core's own
    /// <c>ASPNETCORE_FORWARDEDHEADERS_ENABLED</c> does.
    /// </summary>
    public static IServiceCollection AddReverseProxySupport(this IServiceCollection services)
    {
        services.AddOptions<ReverseProxyOptions>()
            .BindConfiguration(ReverseProxyOptions.SectionName)
            .Validate(options => options.KnownProxies.All(ReverseProxyOptions.IsAddress),
                $"{ReverseProxyOptions.SectionName}:KnownProxies must hold IP addresses, e.g. 10.0.0.5.")
            .Validate(options => options.KnownNetworks.All(ReverseProxyOptions.IsNetwork),
                $"{ReverseProxyOptions.SectionName}:KnownNetworks must hold CIDR networks, e.g. 10.0.0.0/8.")
            .Validate(options => options.ForwardLimit is >= 1 and <= 10,
                $"{ReverseProxyOptions.SectionName}:ForwardLimit must be between 1 and 10.")
            .ValidateOnStart();
        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<ReverseProxyOptions>>((forwarded, proxy) =>
        {
            var settings = proxy.Value;
            forwarded.ForwardedHeaders = settings.TrustForwardedHeaders
                ? ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost
                : ForwardedHeaders.None;
            forwarded.ForwardLimit = settings.ForwardLimit;
            if (settings.KnownProxies.Count > 0 || settings.KnownNetworks.Count > 0)
            {
                forwarded.KnownProxies.Clear();
                forwarded.KnownIPNetworks.Clear();
            }
            foreach (var address in settings.KnownProxies)
                forwarded.KnownProxies.Add(IPAddress.Parse(address));
            foreach (var network in settings.KnownNetworks)
                forwarded.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
        });
        services.AddTransient<IStartupFilter, ReverseProxyStartupFilter>();
        return services;
    }

    private sealed class ReverseProxyStartupFilter(IOptions<ReverseProxyOptions> options) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            if (options.Value.TrustForwardedHeaders)
                app.UseForwardedHeaders();
            if (options.Value.InstanceName is { Length: > 0 } instance)
            {
                app.Use((http, nextMiddleware) =>
                {
                    // At start of the response, so that error handlers resetting the response keep it.
                    http.Response.OnStarting(() =>
                    {
                        http.Response.Headers[InstanceHeader] = instance;
                        return Task.CompletedTask;
                    });
                    return nextMiddleware(http);
                });
            }
            next(app);
        };
    }
}
