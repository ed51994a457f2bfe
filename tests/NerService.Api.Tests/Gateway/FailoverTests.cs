using System.Collections.Concurrent;
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
        var outcomes = new ConcurrentQueue<Outcome>();
        using var stopClients = new CancellationTokenSource();

        // Each client its own address, paced under the gateway's 20 requests a second per address.
        var clients = Enumerable.Range(1, Clients)
            .Select(i => RunClientAsync(deployment.ClientFrom($"127.0.1.{i}"), clock, outcomes, stopClients.Token))
            .ToList();

        // Milestones, never durations: the run goes on until each has happened, however slow the machine.
        // 1. Both replicas have served this run's clients, so the stop cuts into a shared load.
        await WaitUntilAsync(() => ServedBy(outcomes, GatewayDeployment.ReplicaA) >= 3 && ServedBy(outcomes, GatewayDeployment.ReplicaB) >= 3,
            "both replicas to serve the clients", deployment);
        var signalledAt = clock.Elapsed;
        stopped.Signal(signal);
        // 2. The replica's process has ended: from then on nothing can be served by it.
        await stopped.WaitForExitAsync(TimeSpan.FromSeconds(120));
        var exitedAt = clock.Elapsed;
        // 3. Enough requests have started (and ended) after that to show where they went.
        await WaitUntilAsync(() => outcomes.Count(outcome => outcome.Started > exitedAt) >= 20, "20 requests after the stop", deployment);
        await stopClients.CancelAsync();
        await Task.WhenAll(clients);
        var results = outcomes.ToList();

        var failures = results.Where(result => result.Status != HttpStatusCode.OK).ToList();
        Assert.True(failures.Count == 0,
            $"{failures.Count} of {results.Count} requests failed: {string.Join("; ", failures.Take(10))}\n{deployment.Diagnostics()}");
        Assert.Contains(results, result => result.Instance == GatewayDeployment.ReplicaA && result.Started < signalledAt);
        var afterStop = results.Where(result => result.Started > exitedAt).ToList();
        Assert.All(afterStop, result => Assert.Equal(GatewayDeployment.ReplicaB, result.Instance));

        // The gateway's access log lists both replicas for a request it had to send again: the stop did
        // cost requests on the stopped replica (nginx learns of the stop only by trying it), and the gateway
        // made up for them.
        var retried = deployment.Nginx.Output.Split('\n').Where(line => line.Contains("upstream=127.0.0.1:") && line.Contains(", 127.0.0.1:")).ToList();
        output.WriteLine($"{results.Count} requests, all 200; sent again by the gateway:\n{string.Join("\n", retried)}");
        Assert.NotEmpty(retried);
    }

    private static int ServedBy(IEnumerable<Outcome> outcomes, string replica) =>
        outcomes.Count(outcome => outcome.Status == HttpStatusCode.OK && outcome.Instance == replica);

    private static async Task WaitUntilAsync(Func<bool> milestone, string what, GatewayDeployment deployment)
    {
        // Generous: only a broken deployment takes this long, never a slow machine.
        var deadline = Stopwatch.StartNew();
        while (!milestone())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromMinutes(2), $"Waited two minutes for {what}.\n{deployment.Diagnostics()}");
            await Task.Delay(50);
        }
    }

    private static async Task RunClientAsync(HttpClient client, Stopwatch clock, ConcurrentQueue<Outcome> outcomes, CancellationToken stop)
    {
        using (client)
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var started = clock.Elapsed;
                var tagging = i % 2 == 0;
                try
                {
                    using var response = tagging
                        ? await client.PostAsJsonAsync("ner", new { text = "John Smith visited Paris." })
                        : await client.GetAsync("model");
                    outcomes.Enqueue(new Outcome(tagging ? "POST /ner" : "GET /model", started, response.StatusCode, GatewayTests.InstanceOf(response)));
                }
                catch (HttpRequestException failure)
                {
                    outcomes.Enqueue(new Outcome(tagging ? "POST /ner" : "GET /model", started, null, failure.Message));
                }
                await Task.Delay(70, CancellationToken.None);
            }
        }
    }

    private sealed record Outcome(string Request, TimeSpan Started, HttpStatusCode? Status, string? Instance);
}
