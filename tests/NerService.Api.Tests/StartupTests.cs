using System.Diagnostics;
using System.Net;

namespace NerService.Api.Tests;

/// <summary>The built service as its own process: what an operator sees at start-up and on SIGTERM.</summary>
[Collection(ServiceCollection.Name)]
public sealed class StartupTests(ServiceFixture fixture)
{
    [Theory]
    [InlineData("Ner:Batching:MaxDelayMs", "-1")]
    [InlineData("Ner:Batching:QueueCapacity", "0")]
    [InlineData("Ner:Limits:MaxTextCharacters", "0")]
    [InlineData("Ner:Device", "tpu")]
    [InlineData("Ner:TorchThreads", "-1")]
    [InlineData("Ner:DocumentConsistency", "1.5")]
    [InlineData("Ner:Batching:InferenceThreads", "-1")]
    [InlineData("Ner:ApiKeys:0", "a-key-in-the-format-before-tenancy")]
    [InlineData("Ner:Batching:QueueTokenBudget", "0")]
    [InlineData("Ner:Limits:MaxRequestBodyBytes", "0")]
    [InlineData("Ner:RateLimit:CharactersPerWindow", "-1")]
    [InlineData("Ner:Metrics:Port", "70000")]
    [InlineData("Ner:Models:fast:BundlePath", "/no-such-dir/fast.bundle")]
    [InlineData("Ner:Models:default:BundlePath", "/no-such-dir/other.bundle")]
    [InlineData("Ner:Models:Fast Model:BundlePath", "/no-such-dir/other.bundle")]
    [InlineData("Ner:Models:fast:MaxBatchSentences", "0")]
    public async Task ABadSettingStopsStartUpWithAMessageNamingIt(string setting, string value)
    {
        using var service = StartService($"--Ner:BundlePath={fixture.BundlePath}", $"--{setting}={value}");

        var exitCode = await service.WaitForExitAsync(TimeSpan.FromSeconds(60));
        var errors = service.Output;

        Assert.Equal(1, exitCode);
        Assert.Contains("invalid configuration", errors);
        Assert.Contains(setting, errors);
    }

    [Fact]
    public async Task AMissingBundleStopsStartUpWithAMessageNamingThePath()
    {
        var missing = Path.Combine(Path.GetTempPath(), "no-such-dir", "missing.bundle");
        using var service = StartService($"--Ner:BundlePath={missing}");

        var exitCode = await service.WaitForExitAsync(TimeSpan.FromSeconds(60));
        var errors = service.Output;

        Assert.Equal(1, exitCode);
        Assert.Contains(missing, errors);
    }

    [Fact]
    public async Task WithoutAConnectionStringStartUpStopsWithAMessageNamingTheSetting()
    {
        using var service = StartService($"--Ner:BundlePath={fixture.BundlePath}", "--ConnectionStrings:Postgres=");

        var exitCode = await service.WaitForExitAsync(TimeSpan.FromSeconds(60));
        var errors = service.Output;

        Assert.Equal(1, exitCode);
        Assert.Contains("invalid configuration", errors);
        Assert.Contains("ConnectionStrings:Postgres is not set", errors);
    }

    [Fact]
    public async Task EveryBadSettingIsNamedAtOnce()
    {
        var missing = Path.Combine(Path.GetTempPath(), "no-such-dir", "missing.bundle");
        using var service = StartService($"--Ner:BundlePath={missing}", "--ConnectionStrings:Postgres=");

        var exitCode = await service.WaitForExitAsync(TimeSpan.FromSeconds(60));
        var errors = service.Output;

        Assert.Equal(1, exitCode);
        Assert.Contains(missing, errors);
        Assert.Contains("ConnectionStrings:Postgres is not set", errors);
        Assert.DoesNotContain("Unhandled exception", errors);
    }

    [Fact]
    public async Task TheServiceListensWhereUrlsSaysAndExitsCleanlyOnSigterm()
    {
        var port = LoopbackPort.Free();
        using var service = StartService($"--Ner:BundlePath={fixture.BundlePath}", "--urls", $"http://127.0.0.1:{port}");
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };

        await WaitUntilReadyAsync(client, service);
        service.Signal("TERM");
        var exitCode = await service.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(0, exitCode);
    }

    private static async Task WaitUntilReadyAsync(HttpClient client, ChildProcess service)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            Assert.False(service.HasExited, $"The service exited before it was ready:\n{service.Output}");
            try
            {
                if ((await client.GetAsync("health/ready")).StatusCode == HttpStatusCode.OK)
                    return;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            await Task.Delay(200);
        }
        Assert.Fail("The service did not become ready within a minute.");
    }

    /// <summary>Starts the built service with the fixture's database; later arguments win over earlier ones.</summary>
    private ChildProcess StartService(params string[] arguments)
    {
        // Any free port for the metrics listener: tests run side by side, and 9090 may be taken on the machine.
        string[] all = [Path.Combine(AppContext.BaseDirectory, "NerService.Api.dll"), $"--ConnectionStrings:Postgres={fixture.ConnectionString}", "--Ner:Metrics:Port=0", .. arguments];
        return ChildProcess.Start("service", Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", all, AppContext.BaseDirectory, new Dictionary<string, string>());
    }
}
