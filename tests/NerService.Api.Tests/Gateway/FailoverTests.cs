using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Xunit.Abstractions;

namespace NerService.Api.Tests.Gateway;

/// <summary>One of the two replicas stops while clients keep sending; the gateway sends their requests to the other.</summary>
[Collection(ServiceCollection.Name)]
public sealed class FailoverTests(ServiceFixture bundle, ITestOutputHelper output)
{
    private const int Clients = 6;

    [Theory]
    [InlineData("TERM")] // docker stop, a Kubernetes rolling update: a graceful stop
    [InlineData("KILL")] // a crash: requests in flight on that replica are cut off
    public async Task StoppingOneReplicaMidRunLosesNoRequest(string signal)
    {
        // The batching delay keeps every tagging request on a replica for 50 ms, so some are in flight when it stops.
        await using var deployment = await GatewayDeployment.StartAsync(bundle.BundlePath, new Dictionary<string, string>
        {
            ["Ner__Batching__MaxDelayMs"] = "50",
        });
        var stopped = deployment.Replicas[GatewayDeployment.ReplicaA];
        var clock = Stopwatch.StartNew();
        var stopAt = TimeSpan.FromSeconds(1.5);
        var runFor = TimeSpan.FromSeconds(4);

        // Each client its own address, paced under the gateway's 20 requests a second per address.
        var clients = Enumerable.Range(1, Clients).Select(i => RunClientAsync(deployment.ClientFrom($"127.0.1.{i}"), clock, runFor)).ToList();
        await Task.Delay(stopAt);
        stopped.Signal(signal);
        // On a loaded 2-core machine the delay and the `kill` process can run late: "after the stop" counts from
        // when the signal was sent, not from when it was meant to be.
        var signalledAt = clock.Elapsed;
        var results = (await Task.WhenAll(clients)).SelectMany(outcomes => outcomes).ToList();

        var failures = results.Where(result => result.Status != HttpStatusCode.OK).ToList();
        Assert.True(failures.Count == 0,
            $"{failures.Count} of {results.Count} requests failed: {string.Join("; ", failures.Take(10))}\n{deployment.Diagnostics()}");
        Assert.Contains(results, result => result.Instance == GatewayDeployment.ReplicaA && result.Started < stopAt);
        var afterStop = results.Where(result => result.Started > signalledAt + TimeSpan.FromSeconds(0.5)).ToList();
        Assert.True(afterStop.Count > 10, $"Expected the clients to keep going after the stop; {afterStop.Count} requests.");
        Assert.All(afterStop, result => Assert.Equal(GatewayDeployment.ReplicaB, result.Instance));

        // The gateway's access log lists both replicas for a request it had to send again: the stop did
        // cost requests on the stopped replica, and the gateway made up for them.
        var retried = deployment.Nginx.Output.Split('\n').Where(line => line.Contains("upstream=127.0.0.1:") && line.Contains(", 127.0.0.1:")).ToList();
        output.WriteLine($"{results.Count} requests, all 200; sent again by the gateway:\n{string.Join("\n", retried)}");
        Assert.NotEmpty(retried);
    }

    private static async Task<List<Outcome>> RunClientAsync(HttpClient client, Stopwatch clock, TimeSpan runFor)
    {
        using (client)
        {
            var outcomes = new List<Outcome>();
            for (var i = 0; clock.Elapsed < runFor; i++)
            {
                var started = clock.Elapsed;
                var tagging = i % 2 == 0;
                try
                {
                    using var response = tagging
                        ? await client.PostAsJsonAsync("ner", new { text = "John Smith visited Paris." })
                        : await client.GetAsync("model");
                    outcomes.Add(new Outcome(tagging ? "POST /ner" : "GET /model", started, response.StatusCode, GatewayTests.InstanceOf(response)));
                }
                catch (HttpRequestException failure)
                {
                    outcomes.Add(new Outcome(tagging ? "POST /ner" : "GET /model", started, null, failure.Message));
                }
                await Task.Delay(70);
            }
            return outcomes;
        }
    }

    private sealed record Outcome(string Request, TimeSpan Started, HttpStatusCode? Status, string? Instance);
}
