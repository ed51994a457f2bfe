using System.Net;
using System.Net.Http.Json;
using System.Text;
using NerService.Api.Hosting;

namespace NerService.Api.Tests.Gateway;

/// <summary>One deployment (nginx in front of two API processes) shared by tests that only read from it.</summary>
public sealed class SharedGateway(ServiceFixture bundle) : IAsyncLifetime
{
    public const string TagText = "John Smith visited Paris.";

    /// <summary>
    /// Three tagging requests of <see cref="TagText"/> per client per replica (the API's limit counts characters), so
    /// that the forwarded-address test runs into the API's own limit quickly; other requests are not limited.
    /// </summary>
    public const int ApiTagRequestsPerWindow = 3;

    internal GatewayDeployment Deployment { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Deployment = await GatewayDeployment.StartAsync(bundle.BundlePath, new Dictionary<string, string>
        {
            ["Ner__RateLimit__CharactersPerWindow"] = (ApiTagRequestsPerWindow * TagText.Length).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Ner__RateLimit__WindowSeconds"] = "600",
        });

    public async Task DisposeAsync() => await Deployment.DisposeAsync();
}

/// <summary>
/// deploy/nginx/nginx.conf run by a real nginx in front of two real API processes. Each test is a different
/// client (its own loopback source address), so the per-address limits of one test never touch another.
/// </summary>
[Collection(ServiceCollection.Name)]
public sealed class GatewayTests(SharedGateway gateway) : IClassFixture<SharedGateway>
{
    private static readonly object TagRequest = new { text = SharedGateway.TagText, store = false };

    [Fact]
    public async Task RequestsAreSpreadOverBothReplicas()
    {
        using var client = gateway.Deployment.ClientFrom("127.0.0.11");
        var servedBy = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            using var response = await client.GetAsync("model");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            servedBy.Add(InstanceOf(response) ?? "none");
        }

        var counts = servedBy.CountBy(name => name).ToDictionary();
        Assert.True(counts.GetValueOrDefault(GatewayDeployment.ReplicaA) >= 5 && counts.GetValueOrDefault(GatewayDeployment.ReplicaB) >= 5,
            $"Expected both replicas to serve a fair share of 20 requests; got {string.Join(", ", counts)}.");
    }

    [Fact]
    public async Task ABodyOverTheLimitGets413FromTheGateway()
    {
        using var client = gateway.Deployment.ClientFrom("127.0.0.12");
        var fiveMegabytes = JsonContent.Create(new { text = new string('a', 5 * 1024 * 1024) });

        using var response = await client.PostAsync("ner", fiveMegabytes);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Null(InstanceOf(response));
        Assert.Contains("\"status\":413", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AnAddressSendingTooFastGets429FromTheGateway()
    {
        using var client = gateway.Deployment.ClientFrom("127.0.0.13");

        // nginx allows 20 a second with bursts of 40 per address; 120 at once is well past that.
        var responses = await Task.WhenAll(Enumerable.Range(0, 120).Select(_ => client.GetAsync("health/live")));

        var limited = responses.Where(response => response.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.NotEmpty(limited);
        Assert.Contains(responses, response => response.StatusCode == HttpStatusCode.OK);
        Assert.All(limited, response =>
        {
            Assert.Null(InstanceOf(response));
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.True(response.Headers.RetryAfter is not null, "A 429 from the gateway should say when to retry.");
        });
        Assert.DoesNotContain(responses, response => response.StatusCode != HttpStatusCode.OK && response.StatusCode != HttpStatusCode.TooManyRequests);
        foreach (var response in responses)
            response.Dispose();
    }

    [Fact]
    public async Task TheApiSeesTheClientAddressTheGatewayForwards()
    {
        // Every connection the API accepts comes from nginx at 127.0.0.1. The API's per-client limit tells
        // clients apart by address, so two clients get separate limits only if X-Forwarded-For reaches it.
        using var first = gateway.Deployment.ClientFrom("127.0.0.14");
        using var second = gateway.Deployment.ClientFrom("127.0.0.15");
        var limitedBy = new HashSet<string>();
        for (var i = 0; i < 4 * SharedGateway.ApiTagRequestsPerWindow && limitedBy.Count < 2; i++)
        {
            using var response = await first.PostAsJsonAsync("ner", TagRequest);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
                limitedBy.Add(InstanceOf(response) ?? "the gateway, not a replica");
            else
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        Assert.Equal([GatewayDeployment.ReplicaA, GatewayDeployment.ReplicaB], limitedBy.Order());

        // Claiming another address does not help: the API reads only the entry nginx appended.
        using var spoofed = new HttpRequestMessage(HttpMethod.Post, "ner") { Content = JsonContent.Create(TagRequest) };
        spoofed.Headers.Add("X-Forwarded-For", "203.0.113.7");
        using var spoofedResponse = await first.SendAsync(spoofed);
        Assert.Equal(HttpStatusCode.TooManyRequests, spoofedResponse.StatusCode);
        Assert.NotNull(InstanceOf(spoofedResponse));

        using var fromSecond = await second.PostAsJsonAsync("ner", TagRequest);
        Assert.Equal(HttpStatusCode.OK, fromSecond.StatusCode);
    }

    [Fact]
    public async Task TheGatewayCompressesJson()
    {
        using var client = gateway.Deployment.ClientFrom("127.0.0.16");
        using var request = new HttpRequestMessage(HttpMethod.Get, "swagger/v1/swagger.json");
        request.Headers.AcceptEncoding.ParseAdd("gzip");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("gzip", Assert.Single(response.Content.Headers.ContentEncoding));
        await using var json = new System.IO.Compression.GZipStream(await response.Content.ReadAsStreamAsync(), System.IO.Compression.CompressionMode.Decompress);
        using var reader = new StreamReader(json, Encoding.UTF8);
        Assert.Contains("\"/ner\"", await reader.ReadToEndAsync());
    }

    // Sent byte for byte over a socket: HttpClient would normalise some of these paths before sending them.
    [Theory]
    [InlineData("/metrics")]
    [InlineData("/Metrics")]
    [InlineData("/METRICS")]
    [InlineData("/metrics/")]
    [InlineData("/metrics?x=1")]
    [InlineData("/%6Detrics")]
    [InlineData("//metrics")]
    [InlineData("/./metrics")]
    [InlineData("/metrics;x=1")]
    public async Task MetricsCannotBeReachedThroughTheGatewayOrAReplicasPublicPortInAnySpelling(string path)
    {
        var deployment = gateway.Deployment;
        var (throughGateway, body) = await RawGetAsync(deployment.Address, path, "127.0.0.17");
        Assert.True(throughGateway != 200 && !body.Contains("ner_queue_length", StringComparison.Ordinal),
            $"GET {path} through the gateway answered {throughGateway}:\n{body}");
        foreach (var replica in deployment.ReplicaAddresses.Values)
        {
            var (direct, directBody) = await RawGetAsync(replica, path, "127.0.0.1");
            Assert.True(direct != 200 && !directBody.Contains("ner_queue_length", StringComparison.Ordinal),
                $"GET {path} on a replica's public port answered {direct}:\n{directBody}");
        }
    }

    [Fact]
    public async Task EachReplicaServesMetricsOnItsOwnMetricsPort()
    {
        using var scraper = new HttpClient();
        foreach (var metrics in gateway.Deployment.MetricsAddresses.Values)
        {
            using var response = await scraper.GetAsync(new Uri(metrics, "metrics"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Contains("ner_queue_length", await response.Content.ReadAsStringAsync());
        }
    }

    /// <summary>The status code and body of a GET sent exactly as written, from <paramref name="sourceAddress"/>.</summary>
    private static async Task<(int Status, string Body)> RawGetAsync(Uri server, string path, string sourceAddress)
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Parse(sourceAddress), 0));
        await socket.ConnectAsync(IPAddress.Parse(server.Host), server.Port);
        await using var stream = new System.Net.Sockets.NetworkStream(socket, ownsSocket: false);
        var request = Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        await stream.WriteAsync(request);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var response = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var statusLine = response.Split("\r\n", 2)[0];
        return (int.Parse(statusLine.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), response);
    }

    [Fact]
    public async Task TheHealthcheckCommandTellsALiveReplicaFromAMissingOne()
    {
        // What the Dockerfile's HEALTHCHECK runs (with the container's default address).
        var live = new Uri(gateway.Deployment.ReplicaAddresses[GatewayDeployment.ReplicaA], "health/live");
        var nothingThere = new UriBuilder(live) { Port = 1 }.Uri;

        Assert.Equal(0, await gateway.Deployment.RunApiCommandAsync("healthcheck", live.ToString()));
        Assert.Equal(1, await gateway.Deployment.RunApiCommandAsync("healthcheck", nothingThere.ToString()));
    }

    internal static string? InstanceOf(HttpResponseMessage response) =>
        response.Headers.TryGetValues(ReverseProxySupport.InstanceHeader, out var values) ? values.Single() : null;
}
