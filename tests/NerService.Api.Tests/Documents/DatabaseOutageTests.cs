using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using NerService.Api.Database;
using NerService.Api.Documents;
using Npgsql;
using Xunit.Abstractions;

namespace NerService.Api.Tests.Documents;

/// <summary>Stops the shared test server: runs alone, after the parallel tests.</summary>
[CollectionDefinition(nameof(DatabaseOutage), DisableParallelization = true)]
public sealed class DatabaseOutage;

[Collection(nameof(DatabaseOutage))]
public sealed class DatabaseOutageTests(ITestOutputHelper output) : IAsyncLifetime
{
    private TestDatabase database = null!;
    private DocumentsTestApp app = null!;

    public async Task InitializeAsync()
    {
        database = await TestDatabase.CreateAsync();
        app = await DocumentsTestApp.StartAsync(database.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await app.DisposeAsync();
        await database.DisposeAsync();
    }

    [Fact]
    public async Task WhileTheDatabaseIsDownRequestsGet503AndNothingIsHalfWrittenThenTheServiceRecovers()
    {
        var writer = app.Services.GetRequiredService<DocumentWriter>();
        var existing = await writer.StoreAsync(TestDatabase.Document("Stored before the outage in Lima.", ("LOC", "Lima")));
        Assert.Equal(HttpStatusCode.OK, (await app.Client.GetAsync($"/documents/{existing}")).StatusCode);

        // A large batch in flight while the server stops: it is stored whole or not at all.
        var large = Enumerable.Range(0, 20_000).Select(i => TestDatabase.Document($"Bulk {i} in Quito.", ("LOC", "Quito"))).ToList();
        var inFlight = Task.Run(() => database.Store.InsertAsync(large));
        await Task.Delay(50);
        await PostgresScript("stop");
        try
        {
            var bulkStored = await inFlight.ContinueWith(t => t.IsCompletedSuccessfully);
            if (!bulkStored)
                Assert.IsType<DatabaseUnavailableException>(inFlight.Exception!.InnerException);

            await Assert.ThrowsAsync<DatabaseUnavailableException>(() => writer.StoreAsync(TestDatabase.Document("Stored during the outage.")));
            await Assert.ThrowsAsync<DatabaseUnavailableException>(() => database.Store.GetAsync(existing));
            foreach (var request in new Func<Task<HttpResponseMessage>>[]
            {
                () => app.Client.GetAsync($"/documents/{existing}"),
                () => app.Client.GetAsync("/documents?label=LOC"),
                () => app.Client.DeleteAsync($"/documents/{existing}"),
                () => app.Client.PutAsync($"/documents/{existing}/entities", new StringContent("""{"entities":[]}""", System.Text.Encoding.UTF8, "application/json")),
                () => app.Client.GetAsync("/documents/export?format=conll"),
                () => app.Client.GetAsync("/entities"),
            })
            {
                var response = await request();
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                Assert.Equal(TimeSpan.FromSeconds(5), response.Headers.RetryAfter?.Delta);
            }
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await app.Client.GetAsync("/health/ready")).StatusCode);
        }
        finally
        {
            await PostgresScript("start");
        }

        var documents = await database.ScalarAsync("SELECT count(*) FROM documents");
        output.WriteLine($"The batch in flight at the stop was {(inFlight.IsCompletedSuccessfully ? "stored whole" : "refused")}; {documents} documents after the restart.");
        var entities = await database.ScalarAsync("SELECT count(*) FROM entities");
        Assert.True(documents == entities && documents is 1 or 1 + 20_000, $"{documents} documents, {entities} entities");
        if (inFlight.IsCompletedSuccessfully)
            Assert.Equal(1 + 20_000, documents);

        // Recovery needs no restart of the service: pooled connections broken by the outage are replaced.
        var stored = await Eventually(() => writer.StoreAsync(TestDatabase.Document("Stored after the outage.")));
        Assert.Equal("Stored after the outage.", (await database.Store.GetAsync(stored))!.Text);
        await Eventually(async () => (await app.Client.GetAsync($"/documents/{existing}")).EnsureSuccessStatusCode());
        await Eventually(async () => (await app.Client.GetAsync("/health/ready")).EnsureSuccessStatusCode());
    }

    private static async Task<T> Eventually<T>(Func<Task<T>> action)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await action();
            }
            catch (Exception) when (attempt < 10)
            {
                await Task.Delay(500);
            }
        }
    }

    private static async Task PostgresScript(string command)
    {
        var script = Path.Combine(RepositoryRoot(), "scripts", "postgres.sh");
        var expected = new NpgsqlConnectionStringBuilder(TestDatabase.ServerConnectionString).Port;
        using var process = Process.Start(new ProcessStartInfo("bash", [script, command])
        {
            RedirectStandardError = true,
            Environment = { ["NERSERVICE_POSTGRES_PORT"] = expected.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        })!;
        var errors = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"scripts/postgres.sh {command} failed ({process.ExitCode}): {errors}");
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "NerService.sln")))
                return directory.FullName;
        }
        throw new InvalidOperationException("The repository root (with NerService.sln) is not above " + AppContext.BaseDirectory);
    }
}
