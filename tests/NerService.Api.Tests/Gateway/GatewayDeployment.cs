using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using NerService.Api.Tests.Documents;

namespace NerService.Api.Tests.Gateway;

/// <summary>
/// What docker-compose.yml runs, without Docker: a database of its own on the test PostgreSQL server, migrated
/// by the API's <c>migrate</c> command, two API processes on loopback, and a real nginx running
/// deploy/nginx/nginx.conf in front of them. The config is used as committed except for two things only a
/// container has: the listen address, and the upstream servers (Docker's DNS name becomes the two ports).
/// </summary>
internal sealed partial class GatewayDeployment : IAsyncDisposable
{
    public const string ReplicaA = "replica-a";
    public const string ReplicaB = "replica-b";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    private readonly List<ChildProcess> processes = [];
    private readonly string nginxPrefix;
    private TestDatabase? database;

    private GatewayDeployment()
    {
        nginxPrefix = Directory.CreateTempSubdirectory("ner-gateway-").FullName;
        // nginx's workers (nobody, when the tests run as root) must reach their temporary folders in here.
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(nginxPrefix, (UnixFileMode)0b111_101_101);
    }

    public Uri Address { get; private set; } = null!;

    public IReadOnlyDictionary<string, ChildProcess> Replicas { get; private set; } = null!;

    /// <summary>Each replica's own address, behind the gateway.</summary>
    public IReadOnlyDictionary<string, Uri> ReplicaAddresses { get; private set; } = null!;

    /// <summary>Each replica's metrics listener (Ner:Metrics:Port), which the gateway does not proxy to.</summary>
    public IReadOnlyDictionary<string, Uri> MetricsAddresses { get; private set; } = null!;

    public ChildProcess Nginx { get; private set; } = null!;

    /// <summary>Runs the API's dll with <paramref name="arguments"/> (a command such as <c>healthcheck</c>) and returns its exit code.</summary>
    public async Task<int> RunApiCommandAsync(params string[] arguments)
    {
        var apiDirectory = RepositoryPaths.ApiDirectory;
        var command = Start(string.Join(' ', arguments), "dotnet", [Path.Combine(apiDirectory, "NerService.Api.dll"), .. arguments], apiDirectory, new Dictionary<string, string>());
        return await command.WaitForExitAsync(StartTimeout);
    }

    /// <summary>Starts everything; <paramref name="apiSettings"/> are extra environment variables for both API processes.</summary>
    public static async Task<GatewayDeployment> StartAsync(string bundlePath, IReadOnlyDictionary<string, string>? apiSettings = null)
    {
        var nginx = FindNginx();
        var deployment = new GatewayDeployment();
        try
        {
            await deployment.StartAsync(nginx, bundlePath, apiSettings ?? new Dictionary<string, string>());
            return deployment;
        }
        catch
        {
            await deployment.DisposeAsync();
            throw;
        }
    }

    /// <summary>An HTTP client to the gateway whose connections come from <paramref name="sourceAddress"/> (any 127.x.y.z is local on Linux), so that each test is a different client to the gateway's per-address limits.</summary>
    public HttpClient ClientFrom(string sourceAddress)
    {
        var source = IPAddress.Parse(sourceAddress);
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(source, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(60) };
    }

    public string Diagnostics() =>
        string.Join("\n", processes.Select(process => $"--- {process.Name}{(process.HasExited ? $" (exited {process.ExitCode})" : "")}:\n{process.Output}"));

    private async Task StartAsync(string nginx, string bundlePath, IReadOnlyDictionary<string, string> apiSettings)
    {
        database = await TestDatabase.CreateAsync(migrate: false);
        var apiDirectory = RepositoryPaths.ApiDirectory;
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["ConnectionStrings__Postgres"] = database.ConnectionString,
            ["Ner__BundlePath"] = bundlePath,
            ["ReverseProxy__TrustForwardedHeaders"] = "true",
            ["Logging__LogLevel__Default"] = "Warning",
            ["DOTNET_gcServer"] = "0",
        };
        foreach (var (key, value) in apiSettings)
            environment[key] = value;

        var migrate = Start("migrate", "dotnet", [Path.Combine(apiDirectory, "NerService.Api.dll"), "migrate"], apiDirectory, environment);
        if (await migrate.WaitForExitAsync(StartTimeout) != 0)
            throw new InvalidOperationException($"The migrate command failed:\n{migrate.Output}");

        var replicas = new Dictionary<string, ChildProcess>();
        var ports = new Dictionary<string, int>();
        var metricsPorts = new Dictionary<string, int>();
        foreach (var name in new[] { ReplicaA, ReplicaB })
        {
            ports[name] = LoopbackPort.Free();
            metricsPorts[name] = LoopbackPort.Free();
            var replicaEnvironment = new Dictionary<string, string>(environment)
            {
                ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{ports[name]}",
                ["Ner__Metrics__Port"] = metricsPorts[name].ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["ReverseProxy__InstanceName"] = name,
            };
            replicas[name] = Start(name, "dotnet", [Path.Combine(apiDirectory, "NerService.Api.dll")], apiDirectory, replicaEnvironment);
        }
        Replicas = replicas;
        ReplicaAddresses = ports.ToDictionary(port => port.Key, port => new Uri($"http://127.0.0.1:{port.Value}/"));
        MetricsAddresses = metricsPorts.ToDictionary(port => port.Key, port => new Uri($"http://127.0.0.1:{port.Value}/"));
        await Task.WhenAll(ports.Select(port => WaitUntilOkAsync(new Uri($"http://127.0.0.1:{port.Value}/health/ready"), replicas[port.Key])));

        var gatewayPort = LoopbackPort.Free();
        WriteNginxConfig(gatewayPort, ports.Values);
        Nginx = Start("nginx", nginx, ["-p", nginxPrefix + "/", "-c", Path.Combine(nginxPrefix, "nginx.conf"), "-e", "stderr"], nginxPrefix, new Dictionary<string, string>());
        Address = new Uri($"http://127.0.0.1:{gatewayPort}/");
        await WaitUntilOkAsync(new Uri(Address, "health/live"), Nginx);
    }

    private void WriteNginxConfig(int gatewayPort, IEnumerable<int> apiPorts)
    {
        var config = File.ReadAllText(RepositoryPaths.InRepository("deploy/nginx/nginx.conf"));
        var listen = ListenLine().Matches(config);
        Assert.True(listen.Count == 1, "deploy/nginx/nginx.conf should have exactly one `listen 8080;` line.");
        File.WriteAllText(Path.Combine(nginxPrefix, "nginx.conf"), ListenLine().Replace(config, $"listen 127.0.0.1:{gatewayPort};"));

        // Compose's servers file, with Docker's resolver dropped and its one DNS-named server replaced by one
        // line per API process (same parameters).
        var upstream = File.ReadAllText(RepositoryPaths.InRepository("deploy/nginx/upstream.conf"));
        var server = ComposeServerLine().Match(upstream);
        Assert.True(server.Success, "deploy/nginx/upstream.conf should have a `server api:8080 resolve ...;` line.");
        var servers = string.Concat(apiPorts.Select(port => $"server 127.0.0.1:{port}{server.Groups["parameters"].Value};\n"));
        var local = ResolverLine().Replace(ComposeServerLine().Replace(upstream, servers), "");
        File.WriteAllText(Path.Combine(nginxPrefix, "upstream.conf"), local);
    }

    private ChildProcess Start(string name, string fileName, IEnumerable<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string> environment)
    {
        var process = ChildProcess.Start(name, fileName, arguments, workingDirectory, environment);
        processes.Add(process);
        return process;
    }

    private async Task WaitUntilOkAsync(Uri url, ChildProcess process)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + StartTimeout;
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
                throw new InvalidOperationException($"{process.Name} exited with code {process.ExitCode} while starting.\n{Diagnostics()}");
            try
            {
                using var response = await client.GetAsync(url);
                if (response.StatusCode == HttpStatusCode.OK)
                    return;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }
            await Task.Delay(200);
        }
        throw new TimeoutException($"{url} did not answer 200 within {StartTimeout}.\n{Diagnostics()}");
    }

    /// <summary>nginx from the Debian package; fails (never skips) with the fix when it is missing.</summary>
    private static string FindNginx()
    {
        var candidates = new[] { "/usr/sbin/nginx" }
            .Concat((Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Select(directory => Path.Combine(directory, "nginx")));
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("nginx is not installed. The gateway tests run the real nginx: run scripts/prerequisites.sh (it installs the Debian package).");
    }

    public async ValueTask DisposeAsync()
    {
        // The gateway first, so that no request reaches a replica being stopped; then the replicas.
        foreach (var process in Enumerable.Reverse(processes))
            process.Dispose();
        if (database is not null)
            await database.DisposeAsync();
        try
        {
            Directory.Delete(nginxPrefix, recursive: true);
        }
        catch (IOException)
        {
            // A worker still closing a temporary file; the folder is in /tmp.
        }
    }

    [GeneratedRegex(@"^\s*listen 8080;", RegexOptions.Multiline)]
    private static partial Regex ListenLine();

    [GeneratedRegex(@"^\s*server api:8080 resolve(?<parameters>[^;]*);\n?", RegexOptions.Multiline)]
    private static partial Regex ComposeServerLine();

    [GeneratedRegex(@"^\s*resolver [^;]*;\n?", RegexOptions.Multiline)]
    private static partial Regex ResolverLine();
}
