using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using NerService.Model.Bundles;

namespace NerService.Api.Tests;

/// <summary>One tiny random bundle for the whole test run; it is only read, so sharing it keeps tests independent.</summary>
public sealed class TestBundleFixture : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("ner-api-tests-").FullName;

    public TestBundleFixture() => BundlePath = TestBundle.Create(Path.Combine(directory, "test.bundle"));

    public string BundlePath { get; }

    public void Dispose() => Directory.Delete(directory, recursive: true);
}

/// <summary>Tests share the bundle; running them one class at a time also keeps this 2-core machine responsive.</summary>
[CollectionDefinition(Name)]
public sealed class ServiceCollection : ICollectionFixture<TestBundleFixture>
{
    public const string Name = "service";
}

/// <summary>The service in memory (or on a real socket with <see cref="StartOnLoopback"/>), serving the test bundle.</summary>
public sealed class NerServiceFactory(string bundlePath, IReadOnlyDictionary<string, string?>? settings = null) : WebApplicationFactory<Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        // Production, so that the tests see what clients see (no developer exception page).
        builder.UseEnvironment("Production");
        builder.ConfigureAppConfiguration(configuration =>
        {
            var all = new Dictionary<string, string?> { ["Ner:BundlePath"] = bundlePath };
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
