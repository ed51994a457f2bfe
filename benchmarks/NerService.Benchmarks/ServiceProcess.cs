using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;

using NerService.TestSupport;

namespace NerService.Benchmarks;

/// <summary>
/// The real service (the built <c>NerService.Api.dll</c>) as a child process listening on a free loopback port,
/// configured through environment variables, so that the load generator and the server are separate processes
/// as in production. Its output is kept (the last lines) to explain a failed start.
/// </summary>
internal sealed class ServiceProcess : IAsyncDisposable
{
    private const int KeptOutputLines = 60;
    private readonly Process process;
    private readonly Queue<string> output = new();

    private ServiceProcess(Process process, Uri address, Uri metricsAddress)
    {
        this.process = process;
        Address = address;
        MetricsAddress = metricsAddress;
    }

    public Uri Address { get; }

    /// <summary>The metrics listener (Ner:Metrics:Port): the service does not serve /metrics on its public port.</summary>
    public Uri MetricsAddress { get; }

    /// <summary>
    /// Starts the service and returns once <c>/health/ready</c> reports the model loaded (and the database
    /// reachable and migrated when <paramref name="requireDatabase"/>).
    /// </summary>
    public static async Task<ServiceProcess> StartAsync(
        string apiDll, IReadOnlyDictionary<string, string> settings, bool requireDatabase, TimeSpan timeout)
    {
        var address = new Uri($"http://127.0.0.1:{LoopbackPort.Free()}");
        var metricsAddress = new Uri($"http://127.0.0.1:{LoopbackPort.Free()}");
        var start = DotnetStartInfo(apiDll, "--urls", address.ToString().TrimEnd('/'));
        start.Environment["Ner__Metrics__Port"] = metricsAddress.Port.ToString(CultureInfo.InvariantCulture);
        foreach (var (name, value) in settings)
            start.Environment[name] = value;
        var service = new ServiceProcess(new Process { StartInfo = start }, address, metricsAddress);
        service.process.OutputDataReceived += (_, line) => service.Keep(line.Data);
        service.process.ErrorDataReceived += (_, line) => service.Keep(line.Data);
        service.process.Start();
        service.process.BeginOutputReadLine();
        service.process.BeginErrorReadLine();
        try
        {
            await service.WaitUntilReadyAsync(requireDatabase, timeout);
        }
        catch
        {
            await service.DisposeAsync();
            throw;
        }
        return service;
    }

    /// <summary>Runs <c>NerService.Api.dll</c> with other arguments (the <c>migrate</c> command) and waits for it.</summary>
    public static async Task RunCommandAsync(string apiDll, IReadOnlyDictionary<string, string> settings, params string[] arguments)
    {
        var start = DotnetStartInfo(apiDll, arguments);
        foreach (var (name, value) in settings)
            start.Environment[name] = value;
        using var command = Process.Start(start)!;
        var standardOutput = command.StandardOutput.ReadToEndAsync();
        var standardError = command.StandardError.ReadToEndAsync();
        await command.WaitForExitAsync();
        if (command.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"'{string.Join(' ', arguments)}' failed with exit code {command.ExitCode}:\n{await standardOutput}{await standardError}");
        }
    }

    /// <summary>
    /// The service's Prometheus counters and histogram sums, each summed over its labels (the served models), and
    /// when they were read.
    /// </summary>
    public async Task<TimedMetrics> ReadMetricsAsync(HttpClient client)
    {
        var text = await client.GetStringAsync(new Uri(MetricsAddress, "/metrics"));
        var timestamp = Stopwatch.GetTimestamp();
        process.Refresh();
        var serviceCpu = process.TotalProcessorTime;
        var inferenceCpu = InferenceThreadsCpu();
        var clientCpu = Process.GetCurrentProcess().TotalProcessorTime;
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith('#'))
                continue;
            var labels = line.IndexOf('{');
            var end = line.LastIndexOf('}');
            var (name, rest) = labels < 0 ? (line.Split(' ', 2)[0], line) : (line[..labels], line[(end + 1)..]);
            var parts = rest.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 1 && double.TryParse(parts[^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                values[name] = values.GetValueOrDefault(name) + value;
        }
        return new TimedMetrics(values, timestamp, serviceCpu, inferenceCpu, clientCpu);
    }

    /// <summary>
    /// CPU time of the service's inference threads (named <c>ner-inference-N</c>), from Linux's per-thread
    /// accounting: the forward passes' own CPU, unlike their wall time, which counts the time a pass was preempted.
    /// Zero where /proc is not there.
    /// </summary>
    private TimeSpan InferenceThreadsCpu()
    {
        var threads = $"/proc/{process.Id}/task";
        if (!Directory.Exists(threads))
            return TimeSpan.Zero;
        long ticks = 0;
        foreach (var thread in Directory.EnumerateDirectories(threads))
        {
            try
            {
                if (!File.ReadAllText(Path.Combine(thread, "comm")).StartsWith("ner-inference", StringComparison.Ordinal))
                    continue;
                // Fields after the parenthesised name: state is the 1st, utime the 12th, stime the 13th.
                var stat = File.ReadAllText(Path.Combine(thread, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                // The thread ended between listing and reading.
            }
        }
        return TimeSpan.FromSeconds(ticks / (double)ClockTicksPerSecond);
    }

    /// <summary>USER_HZ: /proc counts CPU time in these ticks, 100 a second on every Linux this runs on.</summary>
    private const int ClockTicksPerSecond = 100;

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            // SIGTERM would drain the queue first; nothing is waiting by now, so a kill costs nothing and cannot hang.
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        process.Dispose();
    }

    private async Task WaitUntilReadyAsync(bool requireDatabase, TimeSpan timeout)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var ready = new Uri(Address, "/health/ready");
        var clock = Stopwatch.StartNew();
        var lastAnswer = "no answer";
        while (clock.Elapsed < timeout)
        {
            if (process.HasExited)
                throw new InvalidOperationException($"The service exited with code {process.ExitCode} before it was ready:\n{KeptOutput()}");
            try
            {
                using var response = await client.GetAsync(ready);
                lastAnswer = await response.Content.ReadAsStringAsync();
                if (IsReady(lastAnswer, requireDatabase))
                    return;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            await Task.Delay(200);
        }
        throw new TimeoutException($"The service was not ready after {timeout.TotalSeconds:F0} s (last /health/ready: {lastAnswer}):\n{KeptOutput()}");
    }

    /// <summary>
    /// Without a database only the model check counts: <c>POST /ner</c> with <c>"store": false</c> needs no database,
    /// so the tagging benchmark runs without PostgreSQL while readiness as a whole reports it missing.
    /// </summary>
    private static bool IsReady(string health, bool requireDatabase)
    {
        using var document = JsonDocument.Parse(health);
        var root = document.RootElement;
        if (requireDatabase)
            return root.GetProperty("status").GetString() == "Healthy";
        return root.TryGetProperty("checks", out var checks)
            && checks.TryGetProperty("model", out var model)
            && model.GetProperty("status").GetString() == "Healthy";
    }

    private static ProcessStartInfo DotnetStartInfo(string apiDll, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            // The content root is the working directory: appsettings.json is read from beside the dll.
            WorkingDirectory = Path.GetDirectoryName(Path.GetFullPath(apiDll))!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.GetFullPath(apiDll));
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        // Request logs would cost the server time the benchmark is measuring.
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        return start;
    }

    private void Keep(string? line)
    {
        if (line is null)
            return;
        lock (output)
        {
            output.Enqueue(line);
            while (output.Count > KeptOutputLines)
                output.Dequeue();
        }
    }

    private string KeptOutput()
    {
        lock (output)
            return string.Join('\n', output);
    }
}

/// <summary>A scrape of the service's metrics and its <see cref="Stopwatch"/> timestamp.</summary>
/// <summary>
/// The service's metrics at one moment, with the CPU time the service's process and this one (the load generator)
/// had used by then (the service's inference threads apart): on a shared machine they compete for the same cores.
/// </summary>
internal sealed record TimedMetrics(
    IReadOnlyDictionary<string, double> Values, long Timestamp, TimeSpan ServiceCpu, TimeSpan InferenceCpu, TimeSpan ClientCpu);
