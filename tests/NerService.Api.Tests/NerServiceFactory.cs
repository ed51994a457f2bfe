using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using NerService.Api.Documents;
using NerService.Api.Tests.Documents;
using NerService.Model.Bundles;

namespace NerService.Api.Tests;

/// <summary>
/// What the service needs, shared by the whole test run: one tiny random bundle (only read) and one migrated
/// database on the test PostgreSQL server. Tests that share the database find their documents by the ids they
/// were given and never count rows, so they stay independent of each other and of order.
/// </summary>
public sealed class ServiceFixture : IAsyncLifetime
{
    private readonly string directory = Directory.CreateTempSubdirectory("ner-api-tests-").FullName;
    private TestDatabase database = null!;

    public ServiceFixture()
    {
        BundlePath = TestBundle.Create(Path.Combine(directory, "test.bundle"));
        FastBundlePath = TestBundle.Create(Path.Combine(directory, "test-fast.bundle"), seed: 11, name: "test-fast-bundle");
    }

    public string BundlePath { get; }

    /// <summary>Another tiny bundle, with a name of its own, to serve as a second model.</summary>
    public string FastBundlePath { get; }

    public string ConnectionString => database.ConnectionString;

    public DocumentStore Store => database.Store;

    public async Task InitializeAsync() => database = await TestDatabase.CreateAsync();

    public async Task DisposeAsync()
    {
        await database.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }
}

/// <summary>Tests share the fixture; running them one class at a time also keeps this 2-core machine responsive.</summary>
[CollectionDefinition(Name)]
public sealed class ServiceCollection : ICollectionFixture<ServiceFixture>
{
    public const string Name = "service";
}

/// <summary>
/// The service in memory (or on a real socket with <see cref="StartOnLoopback"/>), serving the test bundle and
/// storing into the fixture's database; <paramref name="settings"/> win over both.
/// </summary>
public sealed class NerServiceFactory(string bundlePath, string connectionString, IReadOnlyDictionary<string, string?>? settings = null)
    : WebApplicationFactory<Program>
{
    public NerServiceFactory(ServiceFixture fixture, IReadOnlyDictionary<string, string?>? settings = null)
        : this(fixture.BundlePath, fixture.ConnectionString, settings)
    {
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        // Production, so that the tests see what clients see (no developer exception page).
        builder.UseEnvironment("Production");
        builder.ConfigureAppConfiguration(configuration =>
        {
            var all = new Dictionary<string, string?>
            {
                ["Ner:BundlePath"] = bundlePath,
                ["ConnectionStrings:Postgres"] = connectionString,
                // Any free port for the metrics listener: many services run side by side in the tests.
                ["Ner:Metrics:Port"] = "0",
            };
            foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
                all[key] = value;
            configuration.AddInMemoryCollection(all);
        });
    }

    /// <summary>Starts Kestrel on 127.0.0.1 with a free port and returns its address.</summary>
    public Uri StartOnLoopback()
    {
        UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        StartServer();
        var address = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new Uri(address + "/");
    }
}
