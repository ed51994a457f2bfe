using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using NerService.Api.Documents;
using static NerService.Api.Tests.ResponseAssertions;

namespace NerService.Api.Tests.Documents;

/// <summary>
/// Stored documents belong to the tenant of the key that stored them: every read, search, count, correction,
/// deletion and export reaches only that tenant's documents, except for an admin; roles decide what a key may do.
/// </summary>
public sealed class TenancyTests : IAsyncLifetime
{
    private TestDatabase database = null!;
    private DocumentsTestApp app = null!;

    public async Task InitializeAsync()
    {
        database = await TestDatabase.CreateAsync();
        app = await DocumentsTestApp.StartAsync(database.ConnectionString,
            ("Ner:ApiKeys:0:Key", "alice-reviewer-key"), ("Ner:ApiKeys:0:Tenant", "alice"), ("Ner:ApiKeys:0:Role", "reviewer"),
            ("Ner:ApiKeys:1:Key", "bob-reviewer-key"), ("Ner:ApiKeys:1:Tenant", "bob"), ("Ner:ApiKeys:1:Role", "Reviewer"),
            ("Ner:ApiKeys:2:Key", "bob-tagger-key"), ("Ner:ApiKeys:2:Tenant", "bob"), ("Ner:ApiKeys:2:Role", "tagger"),
            // Configured by its hash: the configuration need not hold the key itself.
            ("Ner:ApiKeys:3:KeySha256", Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes("ops-admin-key")))),
            ("Ner:ApiKeys:3:Tenant", "ops"), ("Ner:ApiKeys:3:Role", "admin"));
    }

    public async Task DisposeAsync()
    {
        await app.DisposeAsync();
        await database.DisposeAsync();
    }

    private async Task<long> Store(string tenant, string text, params (string Label, string Text)[] entities) =>
        (await database.Store.InsertAsync([TestDatabase.Document(text, entities) with { Tenant = tenant }]))[0];

    private HttpRequestMessage Request(HttpMethod method, string path, string key, object? body = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.Add("X-Api-Key", key);
        return request;
    }

    private async Task<HttpResponseMessage> Send(HttpMethod method, string path, string key, object? body = null) =>
        await app.Client.SendAsync(Request(method, path, key, body));

    private static List<long> Ids(JsonElement page) =>
        page.GetProperty("documents").EnumerateArray().Select(d => d.GetProperty("id").GetInt64()).Order().ToList();

    [Fact]
    public async Task AReviewerReadsSearchesCountsAndCorrectsOnlyItsOwnTenantsDocuments()
    {
        var alices = await Store("alice", "Alice flew to Paris.", ("LOC", "Paris"));
        var bobs = await Store("bob", "Bob flew to Paris.", ("LOC", "Paris"));

        var page = await AssertOkJsonAsync(await Send(HttpMethod.Get, "/documents", "alice-reviewer-key"));
        var search = await AssertOkJsonAsync(await Send(HttpMethod.Get, "/documents?q=flew&prefix=par", "alice-reviewer-key"));
        var counts = await AssertOkJsonAsync(await Send(HttpMethod.Get, "/entities", "alice-reviewer-key"));
        var own = await AssertOkJsonAsync(await Send(HttpMethod.Get, $"/documents/{alices}", "alice-reviewer-key"));

        Assert.Equal([alices], Ids(page));
        Assert.Equal([alices], Ids(search));
        Assert.Equal("alice", own.GetProperty("tenant").GetString());
        var paris = Assert.Single(counts.GetProperty("entities").EnumerateArray());
        Assert.Equal(1, paris.GetProperty("count").GetInt64());
        // Another tenant's document is not found, whatever the request does with it.
        await AssertProblemAsync(await Send(HttpMethod.Get, $"/documents/{bobs}", "alice-reviewer-key"), HttpStatusCode.NotFound);
        await AssertProblemAsync(await Send(HttpMethod.Put, $"/documents/{bobs}/entities", "alice-reviewer-key", new { entities = Array.Empty<object>() }), HttpStatusCode.NotFound);
        var untouched = (await database.Store.GetAsync(bobs, DocumentStore.AllTenants))!;
        Assert.False(untouched.Reviewed);
        Assert.Single(untouched.Entities);
    }

    [Theory]
    [InlineData("DELETE", "/documents/{id}", "bob-reviewer-key", "needs admin")]
    [InlineData("GET", "/documents/export?format=conll", "bob-reviewer-key", "needs admin")]
    [InlineData("GET", "/documents", "bob-tagger-key", "needs reviewer")]
    [InlineData("GET", "/documents/{id}", "bob-tagger-key", "needs reviewer")]
    [InlineData("PUT", "/documents/{id}/entities", "bob-tagger-key", "needs reviewer")]
    [InlineData("GET", "/entities", "bob-tagger-key", "needs reviewer")]
    public async Task AKeyWhoseRoleLacksTheRightGets403ProblemDetailsAndChangesNothing(string method, string path, string key, string detail)
    {
        var id = await Store("bob", "Bob flew to Oslo.", ("LOC", "Oslo"));

        var response = await Send(new HttpMethod(method), path.Replace("{id}", id.ToString()), key,
            method == "PUT" ? new { entities = Array.Empty<object>() } : null);

        var problem = await AssertProblemAsync(response, HttpStatusCode.Forbidden);
        Assert.Contains(detail, problem.GetProperty("detail").GetString());
        var stored = (await database.Store.GetAsync(id, DocumentStore.AllTenants))!;
        Assert.False(stored.Reviewed);
        Assert.Single(stored.Entities);
    }

    [Fact]
    public async Task AnAdminReachesEveryTenantCanNarrowToOneAndDeletesAnyDocument()
    {
        var alices = await Store("alice", "Alice flew to Paris.", ("LOC", "Paris"));
        var bobs = await Store("bob", "Bob flew to Paris.", ("LOC", "Paris"));

        var all = await AssertOkJsonAsync(await Send(HttpMethod.Get, "/documents", "ops-admin-key"));
        var bobsOnly = await AssertOkJsonAsync(await Send(HttpMethod.Get, "/documents?tenant=bob", "ops-admin-key"));
        var counts = await AssertOkJsonAsync(await Send(HttpMethod.Get, "/entities", "ops-admin-key"));
        var export = await Send(HttpMethod.Get, "/documents/export", "ops-admin-key");
        var aliceExport = await Send(HttpMethod.Get, "/documents/export?tenant=alice", "ops-admin-key");

        Assert.Equal([alices, bobs], Ids(all));
        Assert.Equal([bobs], Ids(bobsOnly));
        Assert.Equal(2, Assert.Single(counts.GetProperty("entities").EnumerateArray()).GetProperty("count").GetInt64());
        Assert.Contains("Alice", await export.Content.ReadAsStringAsync());
        Assert.Contains("Bob", await export.Content.ReadAsStringAsync());
        Assert.DoesNotContain("Bob", await aliceExport.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NoContent, (await Send(HttpMethod.Delete, $"/documents/{bobs}", "ops-admin-key")).StatusCode);
        Assert.Null(await database.Store.GetAsync(bobs, DocumentStore.AllTenants));
    }

    [Fact]
    public async Task ANonAdminNamingAnotherTenantIsRefusedWith400()
    {
        await Store("bob", "Bob flew to Paris.", ("LOC", "Paris"));

        var problem = await AssertProblemAsync(await Send(HttpMethod.Get, "/documents?tenant=bob", "alice-reviewer-key"), HttpStatusCode.BadRequest);

        Assert.Contains("admin", problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.OK, (await Send(HttpMethod.Get, "/documents?tenant=alice", "alice-reviewer-key")).StatusCode);
    }

    [Fact]
    public async Task AnUnknownKeyGets401ProblemDetailsBeforeTheBodyIsRead()
    {
        var id = await Store("alice", "Alice flew to Paris.", ("LOC", "Paris"));

        // Not JSON at all: a check after reading the body would answer 400 or 415.
        var request = Request(HttpMethod.Put, $"/documents/{id}/entities", "alice-reviewer-ke");
        request.Content = new StringContent("{ not json", Encoding.UTF8, "text/plain");
        var response = await app.Client.SendAsync(request);

        await AssertProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "ApiKey");
    }
}
