using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using NerService.Api.Database;
using NerService.Api.Documents;
using NerService.Model.Bundles;
using Npgsql;
using Xunit.Abstractions;
using static NerService.Api.Tests.ResponseAssertions;

namespace NerService.Api.Tests.Documents;

/// <summary>Stops the shared test server: runs alone, after the parallel tests.</summary>
[CollectionDefinition(nameof(DatabaseOutage), DisableParallelization = true)]
public sealed class DatabaseOutage;

[Collection(nameof(DatabaseOutage))]
public sealed class DatabaseOutageTests(ITestOutputHelper output) : DocumentsAppTests
{
    [Fact]
    public async Task WhileTheDatabaseIsDownRequestsGet503AndNothingIsHalfWrittenThenTheServiceRecovers()
    {
        var writer = App.Services.GetRequiredService<DocumentWriter>();
        var existing = await writer.StoreAsync(TestDatabase.Document("Stored before the outage in Lima.", ("LOC", "Lima")));
        Assert.Equal(HttpStatusCode.OK, (await App.Client.GetAsync($"/documents/{existing}")).StatusCode);

        // A large batch in flight while the server stops: it is stored whole or not at all.
        var large = Enumerable.Range(0, 20_000).Select(i => TestDatabase.Document($"Bulk {i} in Quito.", ("LOC", "Quito"))).ToList();
        var inFlight = Task.Run(() => Database.Store.InsertAsync(large));
        await Task.Delay(50);
        await PostgresScript("stop");
        try
        {
            var bulkStored = await inFlight.ContinueWith(t => t.IsCompletedSuccessfully);
            if (!bulkStored)
                Assert.IsType<DatabaseUnavailableException>(inFlight.Exception!.InnerException);

            await Assert.ThrowsAsync<DatabaseUnavailableException>(() => writer.StoreAsync(TestDatabase.Document("Stored during the outage.")));
            await Assert.ThrowsAsync<DatabaseUnavailableException>(() => Database.Store.GetAsync(existing, DocumentStore.AllTenants));
            foreach (var request in new Func<Task<HttpResponseMessage>>[]
            {
                () => App.Client.GetAsync($"/documents/{existing}"),
                () => App.Client.GetAsync("/documents?label=LOC"),
                () => App.Client.DeleteAsync($"/documents/{existing}"),
                () => App.Client.PutAsync($"/documents/{existing}/entities", new StringContent("""{"entities":[]}""", System.Text.Encoding.UTF8, "application/json")),
                () => App.Client.GetAsync("/documents/export?format=conll"),
                () => App.Client.GetAsync("/entities"),
            })
            {
                var response = await request();
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                Assert.Equal(TimeSpan.FromSeconds(5), response.Headers.RetryAfter?.Delta);
            }
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await App.Client.GetAsync("/health/ready")).StatusCode);
        }
        finally
        {
            await PostgresScript("start");
        }

        var documents = await Database.ScalarAsync("SELECT count(*) FROM documents");
        output.WriteLine($"The batch in flight at the stop was {(inFlight.IsCompletedSuccessfully ? "stored whole" : "refused")}; {documents} documents after the restart.");
        var entities = await Database.ScalarAsync("SELECT count(*) FROM entities");
        Assert.True(documents == entities && documents is 1 or 1 + 20_000, $"{documents} documents, {entities} entities");
        if (inFlight.IsCompletedSuccessfully)
            Assert.Equal(1 + 20_000, documents);

        // Recovery needs no restart of the service: pooled connections broken by the outage are replaced.
        var stored = await Eventually(() => writer.StoreAsync(TestDatabase.Document("Stored after the outage.")));
        Assert.Equal("Stored after the outage.", (await Database.Store.GetAsync(stored, DocumentStore.AllTenants))!.Text);
        await Eventually(async () => (await App.Client.GetAsync($"/documents/{existing}")).EnsureSuccessStatusCode());
        await Eventually(async () => (await App.Client.GetAsync("/health/ready")).EnsureSuccessStatusCode());
    }

    internal static async Task<T> Eventually<T>(Func<Task<T>> action)
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

    internal static async Task PostgresScript(string command)
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

/// <summary>POST /ner through an outage: tagging goes on, storing answers 503 and stores nothing, then recovers.</summary>
[Collection(nameof(DatabaseOutage))]
public sealed class StoringOutageTests : IAsyncLifetime
{
    private readonly string directory = Directory.CreateTempSubdirectory("ner-outage-").FullName;
    private TestDatabase database = null!;
    private NerServiceFactory factory = null!;

    public async Task InitializeAsync()
    {
        database = await TestDatabase.CreateAsync();
        factory = new NerServiceFactory(TestBundle.Create(Path.Combine(directory, "test.bundle")), database.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await factory.DisposeAsync();
        await database.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task WhileTheDatabaseIsDownTaggingWorksAndStoringAnswers503ThenTheServiceRecovers()
    {
        using var client = factory.CreateClient();
        await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text = "Stored before the outage in Lima." }));

        await DatabaseOutageTests.PostgresScript("stop");
        try
        {
            var tagged = await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text = "John Smith in Lima.", store = false }));
            Assert.False(tagged.TryGetProperty("id", out _));
            await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner/batch", new { documents = new[] { new { id = "a", text = "John Smith in Lima." } }, store = false }));

            foreach (var request in new Func<Task<HttpResponseMessage>>[]
            {
                () => client.PostAsJsonAsync("/ner", new { text = "John Smith in Lima." }),
                () => client.PostAsJsonAsync("/ner", new { text = "John Smith in Lima.", store = true }),
                () => client.PostAsJsonAsync("/ner/batch", new { documents = new[] { new { id = "a", text = "John Smith in Lima." } } }),
            })
            {
                var response = await request();
                var problem = await AssertProblemAsync(response, HttpStatusCode.ServiceUnavailable);
                Assert.Equal(TimeSpan.FromSeconds(5), response.Headers.RetryAfter?.Delta);
                Assert.Null(response.Headers.Location);
                Assert.False(problem.TryGetProperty("id", out _));
                Assert.Contains("nothing was stored", problem.GetProperty("detail").GetString());
            }

            var readiness = await client.GetAsync("/health/ready");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, readiness.StatusCode);
            var checks = JsonDocument.Parse(await readiness.Content.ReadAsStringAsync()).RootElement.GetProperty("checks");
            Assert.Equal("Unhealthy", checks.GetProperty("database").GetProperty("status").GetString());
            Assert.Equal("Healthy", checks.GetProperty("model").GetProperty("status").GetString());
        }
        finally
        {
            await DatabaseOutageTests.PostgresScript("start");
        }

        // No restart of the service: broken pooled connections are replaced by themselves.
        var stored = await DatabaseOutageTests.Eventually(async () =>
            (await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text = "Stored after the outage." }))).GetProperty("id").GetInt64());
        await DatabaseOutageTests.Eventually(async () => (await client.GetAsync("/health/ready")).EnsureSuccessStatusCode());
        // The test's own pool also held connections the restart broke.
        var after = await DatabaseOutageTests.Eventually(() => database.Store.GetAsync(stored, DocumentStore.AllTenants));
        Assert.Equal("Stored after the outage.", after!.Text);
        Assert.Equal(2, await DatabaseOutageTests.Eventually(() => database.ScalarAsync("SELECT count(*) FROM documents")));
    }
}
