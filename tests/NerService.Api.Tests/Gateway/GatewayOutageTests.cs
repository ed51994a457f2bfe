using System.Net;
using System.Net.Http.Json;
using NerService.Api.Tests.Documents;
using NerService.Model.Bundles;

namespace NerService.Api.Tests.Gateway;

/// <summary>The gateway through a database outage. Stops the shared test server: runs alone, after the parallel tests.</summary>
[Collection(nameof(DatabaseOutage))]
public sealed class GatewayOutageTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("ner-gateway-outage-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public async Task StoringRequestsAnswered503WhileTheDatabaseIsDownDoNotMakeTaggingWithoutStoringFail()
    {
        await using var deployment = await GatewayDeployment.StartAsync(TestBundle.Create(Path.Combine(directory, "test.bundle")));
        using var client = deployment.ClientFrom("127.0.2.1");

        await DatabaseOutageTests.PostgresScript("stop");
        try
        {
            // Each replica answers these itself: 503 with Retry-After, nothing stored.
            for (var i = 0; i < 4; i++)
            {
                using var storing = await client.PostAsJsonAsync("ner", new { text = "John Smith visited Lima." });
                Assert.Equal(HttpStatusCode.ServiceUnavailable, storing.StatusCode);
                Assert.NotNull(storing.Headers.RetryAfter);
                Assert.NotNull(GatewayTests.InstanceOf(storing));
            }

            // A gateway that counted those 503s as failures would have taken both replicas out ("no live upstreams").
            var servedBy = new HashSet<string>();
            for (var i = 0; i < 10; i++)
            {
                using var tagging = await client.PostAsJsonAsync("ner", new { text = "John Smith visited Lima.", store = false });
                Assert.True(tagging.StatusCode == HttpStatusCode.OK,
                    $"Tagging without storing answered {(int)tagging.StatusCode}: {await tagging.Content.ReadAsStringAsync()}\n{deployment.Diagnostics()}");
                servedBy.Add(GatewayTests.InstanceOf(tagging)!);
            }
            Assert.Equal([GatewayDeployment.ReplicaA, GatewayDeployment.ReplicaB], servedBy.Order());
        }
        finally
        {
            await DatabaseOutageTests.PostgresScript("start");
        }
    }
}
