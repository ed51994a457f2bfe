using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

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
    public async Task ABadSettingStopsStartUpWithAMessageNamingIt(string setting, string value)
    {
        using var service = StartService($"--Ner:BundlePath={fixture.BundlePath}", $"--{setting}={value}");

        var (exitCode, errors) = await service.WaitForExitAsync();

        Assert.Equal(1, exitCode);
        Assert.Contains("invalid configuration", errors);
        Assert.Contains(setting, errors);
    }

    [Fact]
    public async Task AMissingBundleStopsStartUpWithAMessageNamingThePath()
    {
        var missing = Path.Combine(Path.GetTempPath(), "no-such-dir", "missing.bundle");
        using var service = StartService($"--Ner:BundlePath={missing}");

        var (exitCode, errors) = await service.WaitForExitAsync();

        Assert.Equal(1, exitCode);
        Assert.Contains(missing, errors);
    }

    [Fact]
    public async Task WithoutAConnectionStringStartUpStopsWithAMessageNamingTheSetting()
    {
        using var service = StartService($"--Ner:BundlePath={fixture.BundlePath}", "--ConnectionStrings:Postgres=");

        var (exitCode, errors) = await service.WaitForExitAsync();

        Assert.Equal(1, exitCode);
        Assert.Contains("invalid configuration", errors);
        Assert.Contains("ConnectionStrings:Postgres is not set", errors);
    }

    [Fact]
    public async Task EveryBadSettingIsNamedAtOnce()
    {
        var missing = Path.Combine(Path.GetTempPath(), "no-such-dir", "missing.bundle");
        using var service = StartService($"--Ner:BundlePath={missing}", "--ConnectionStrings:Postgres=");

        var (exitCode, errors) = await service.WaitForExitAsync();

        Assert.Equal(1, exitCode);
        Assert.Contains(missing, errors);
        Assert.Contains("ConnectionStrings:Postgres is not set", errors);
        Assert.DoesNotContain("Unhandled exception", errors);
    }

    [Fact]
    public async Task TheServiceListensWhereUrlsSaysAndExitsCleanlyOnSigterm()
    {
        var port = FreePort();
        using var service = StartService($"--Ner:BundlePath={fixture.BundlePath}", "--urls", $"http://127.0.0.1:{port}");
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };

        await WaitUntilReadyAsync(client, service);
        using (Process.Start("kill", ["-TERM", service.Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
        }
        var (exitCode, _) = await service.WaitForExitAsync();

        Assert.Equal(0, exitCode);
    }

    private static async Task WaitUntilReadyAsync(HttpClient client, RunningService service)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            Assert.False(service.Process.HasExited, "The service exited before it was ready.");
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

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts the built service with the fixture's database; later arguments win over earlier ones.</summary>
    private RunningService StartService(params string[] arguments)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "NerService.Api.dll"));
        start.ArgumentList.Add($"--ConnectionStrings:Postgres={fixture.ConnectionString}");
        // Any free port for the metrics listener: tests run side by side, and 9090 may be taken on the machine.
        start.ArgumentList.Add("--Ner:Metrics:Port=0");
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        return new RunningService(Process.Start(start)!);
    }

    private sealed class RunningService : IDisposable
    {
        private readonly Task<string> output;
        private readonly Task<string> errors;

        public RunningService(Process process)
        {
            Process = process;
            output = process.StandardOutput.ReadToEndAsync();
            errors = process.StandardError.ReadToEndAsync();
        }

        public Process Process { get; }

        public async Task<(int ExitCode, string Errors)> WaitForExitAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await Process.WaitForExitAsync(timeout.Token);
            return (Process.ExitCode, await errors + await output);
        }

        public void Dispose()
        {
            if (!Process.HasExited)
                Process.Kill(entireProcessTree: true);
            Process.Dispose();
        }
    }
}
