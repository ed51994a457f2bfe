using System.Net;

namespace NerService.Api.Hosting;

/// <summary>
/// Running behind a gateway (nginx, a Kubernetes ingress): configuration section <c>ReverseProxy</c>
/// (environment variables <c>ReverseProxy__...</c>).
/// </summary>
public sealed class ReverseProxyOptions
{
    public const string SectionName = "ReverseProxy";

    /// <summary>
    /// Take the client address, scheme and host from <c>X-Forwarded-For</c>, <c>X-Forwarded-Proto</c> and
    /// <c>X-Forwarded-Host</c> when the connection comes from a trusted proxy. Default false: a service reached
    /// directly must not let clients choose their own address (it names them for rate limiting).
    /// </summary>
    public bool TrustForwardedHeaders { get; set; }

    /// <summary>Addresses of trusted proxies. With neither these nor <see cref="KnownNetworks"/>, only loopback is trusted.</summary>
    public List<string> KnownProxies { get; set; } = [];

    /// <summary>Networks (CIDR, e.g. <c>10.0.0.0/8</c>) of trusted proxies: where a gateway's address is not fixed (containers, pods).</summary>
    public List<string> KnownNetworks { get; set; } = [];

    /// <summary>
    /// How many proxies deep to read <c>X-Forwarded-For</c>. Default 1: only the entry the gateway appended, so
    /// that a value the client sent itself is ignored.
    /// </summary>
    public int ForwardLimit { get; set; } = 1;

    /// <summary>
    /// When set, every response carries it in <c>X-Instance</c>, to see which replica answered (a pod name
    /// from the downward API, say). Default unset: no header.
    /// </summary>
    public string? InstanceName { get; set; }

    internal static bool IsAddress(string value) => IPAddress.TryParse(value, out _);

    internal static bool IsNetwork(string value) => IPNetwork.TryParse(value, out _);
}
