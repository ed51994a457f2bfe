using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using NerService.Api.Documents;

namespace NerService.Api.Tests.Documents;

public sealed class DocumentsApiTests : DocumentsAppTests
{
    private async Task<long> Store(string text, params (string Label, string Text)[] entities) =>
        (await Database.Store.InsertAsync([TestDatabase.Document(text, entities)]))[0];

    private static async Task<JsonElement> Json(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    private static async Task AssertProblem(HttpResponseMessage response, HttpStatusCode status, string detailContains)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await Json(response);
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.Contains(detailContains, problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task GettingADocumentReturnsItsTextEntitiesModelAndTime()
    {
        var id = await Store("Angela Merkel visited Paris.", ("PER", "Angela Merkel"), ("LOC", "Paris"));

        var response = await Client.GetAsync($"/documents/{id}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var document = await Json(response);
        Assert.Equal(id, document.GetProperty("id").GetInt64());
        Assert.Equal("Angela Merkel visited Paris.", document.GetProperty("text").GetString());
        Assert.Equal("test-model", document.GetProperty("model").GetProperty("name").GetString());
        Assert.Equal("1.0", document.GetProperty("model").GetProperty("version").GetString());
        Assert.False(document.GetProperty("reviewed").GetBoolean());
        Assert.True(document.GetProperty("createdAt").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(-1));
        var entity = document.GetProperty("entities")[1];
        Assert.Equal("Paris", entity.GetProperty("text").GetString());
        Assert.Equal("LOC", entity.GetProperty("label").GetString());
        Assert.Equal(22, entity.GetProperty("start").GetInt32());
        Assert.Equal(27, entity.GetProperty("end").GetInt32());
        Assert.Equal(0.9, entity.GetProperty("score").GetDouble(), 3);
    }

    [Theory]
    [InlineData("/documents/424242")]
    [InlineData("/documents/-1")]
    public async Task UnknownDocumentIdReturns404ProblemDetails(string path)
    {
        await AssertProblem(await Client.GetAsync(path), HttpStatusCode.NotFound, "There is no document with id");
        await AssertProblem(await Client.DeleteAsync(path), HttpStatusCode.NotFound, "There is no document with id");
        await AssertProblem(await Client.PutAsJsonAsync(path + "/entities", new { entities = Array.Empty<object>() }), HttpStatusCode.NotFound, "There is no document with id");
    }

    [Fact]
    public async Task DeletingADocumentReturns204AndItIsGone()
    {
        var id = await Store("Delete me.");

        Assert.Equal(HttpStatusCode.NoContent, (await Client.DeleteAsync($"/documents/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Client.GetAsync($"/documents/{id}")).StatusCode);
    }

    [Fact]
    public async Task ListingWithFiltersFollowsTheCursorToTheLastPage()
    {
        var ids = new List<long>();
        for (var i = 0; i < 5; i++)
            ids.Add(await Store($"Match {i}: flooding in Dresden.", ("LOC", "Dresden")));
        await Store("Other: sunshine in Dresden.", ("LOC", "Dresden"));

        var seen = new List<long>();
        var url = "/documents?q=flooding&prefix=dres&label=LOC&limit=2";
        var pages = 0;
        while (true)
        {
            var page = await Json(await Client.GetAsync(url));
            pages++;
            seen.AddRange(page.GetProperty("documents").EnumerateArray().Select(d => d.GetProperty("id").GetInt64()));
            if (page.GetProperty("nextCursor").ValueKind == JsonValueKind.Null)
                break;
            url = "/documents?q=flooding&prefix=dres&label=LOC&limit=2&cursor=" + Uri.EscapeDataString(page.GetProperty("nextCursor").GetString()!);
        }

        Assert.Equal(3, pages);
        Assert.Equal(Enumerable.Reverse(ids), seen);
    }

    [Theory]
    [InlineData("cursor=not-ours", "cursor")]
    [InlineData("cursor=AAAAAAAAAAAAAAAAAAAAAA%3D%3D", "cursor")]
    [InlineData("limit=0", "'limit'")]
    [InlineData("limit=101", "'limit'")]
    [InlineData("limit=ten", "'limit'")]
    [InlineData("from=yesterday", "'from'")]
    [InlineData("to=2025-13-45", "'to'")]
    [InlineData("reviewed=maybe", "'reviewed'")]
    [InlineData("q=a%00b", "NUL")]
    public async Task BadListParametersReturn400NamingTheProblem(string query, string named)
    {
        await AssertProblem(await Client.GetAsync("/documents?" + query), HttpStatusCode.BadRequest, named);
    }

    [Fact]
    public async Task ListingByTimeRangeAcceptsIsoTimes()
    {
        var id = await Store("Now.");
        var from = Uri.EscapeDataString(DateTimeOffset.UtcNow.AddMinutes(-5).ToString("O"));
        var to = Uri.EscapeDataString(DateTimeOffset.UtcNow.AddMinutes(5).ToString("O"));

        var page = await Json(await Client.GetAsync($"/documents?from={from}&to={to}&reviewed=false"));

        Assert.Equal([id], page.GetProperty("documents").EnumerateArray().Select(d => d.GetProperty("id").GetInt64()));
    }

    [Fact]
    public async Task CorrectingEntitiesReplacesThemAndMarksTheDocumentReviewed()
    {
        var id = await Store("Jordan played in Chicago.", ("LOC", "Jordan"));

        var response = await Client.PutAsJsonAsync($"/documents/{id}/entities", new
        {
            entities = new object[] { new { label = "PER", start = 0, end = 6 }, new { label = "LOC", start = 17, end = 24, text = "Chicago" } },
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var document = await Json(await Client.GetAsync($"/documents/{id}"));
        Assert.True(document.GetProperty("reviewed").GetBoolean());
        var entities = document.GetProperty("entities").EnumerateArray().ToList();
        Assert.Equal(["PER:Jordan", "LOC:Chicago"], entities.Select(e => e.GetProperty("label").GetString() + ":" + e.GetProperty("text").GetString()));
        Assert.All(entities, e => Assert.Equal(JsonValueKind.Null, e.GetProperty("score").ValueKind));
    }

    [Theory]
    [InlineData("""{"entities":[{"label":"LOC","start":17,"end":99}]}""", "not a non-empty range inside the text")]
    [InlineData("""{"entities":[{"label":"CITY","start":17,"end":24}]}""", "unknown label 'CITY'; known labels: LOC, MISC, ORG, PER")]
    [InlineData("""{"entities":[{"label":"LOC","start":17,"end":24},{"label":"LOC","start":20,"end":24}]}""", "overlaps")]
    [InlineData("""{"entities":[{"label":"LOC","start":17,"end":24,"text":"chicago"}]}""", "is not the text at 17..24")]
    [InlineData("""{"entities":[{"label":"LOC","start":17}]}""", "'label', 'start' and 'end' are required")]
    [InlineData("""{"entities":[{"label":"LOC","start":"x","end":24}]}""", "invalid JSON at $.entities[0].start")]
    [InlineData("""{"entities":""", "invalid JSON")]
    [InlineData("""{}""", "needs an 'entities' array")]
    public async Task InvalidCorrectionReturns400NamingTheProblem(string body, string problem)
    {
        var id = await Store("Jordan played in Chicago.", ("PER", "Jordan"));

        var response = await Client.PutAsync($"/documents/{id}/entities", new StringContent(body, Encoding.UTF8, "application/json"));

        await AssertProblem(response, HttpStatusCode.BadRequest, problem);
        Assert.False((await Database.Store.GetAsync(id, DocumentStore.AllTenants))!.Reviewed);
    }

    [Theory]
    [InlineData("""{"entities":[{"label":"LOC","start":1,"end":8}]}""", "splits a character made of two UTF-16 code units")]
    [InlineData("""{"entities":[{"label":"MISC","start":0,"end":1}]}""", "splits a character made of two UTF-16 code units")]
    [InlineData("""{"entities":[{"label":"LOC","start":3,"end":8,"text":"\ud800aris"}]}""", "invalid JSON at $.entities[0].text")]
    public async Task ASpanThatSplitsASurrogatePairIsRefusedWith400(string body, string problem)
    {
        var id = await Store("\U0001F600 Paris", ("LOC", "Paris"));

        var response = await Client.PutAsync($"/documents/{id}/entities", new StringContent(body, Encoding.UTF8, "application/json"));

        await AssertProblem(response, HttpStatusCode.BadRequest, problem);
        var stored = (await Database.Store.GetAsync(id, DocumentStore.AllTenants))!;
        Assert.False(stored.Reviewed);
        Assert.Equal("Paris", Assert.Single(stored.Entities).Text);
    }

    [Fact]
    public async Task ACorrectionOfMoreEntitiesThanTheLimitIsRefusedWith400()
    {
        var id = await Store("Jordan played in Chicago.", ("PER", "Jordan"));
        var entities = Enumerable.Range(0, DocumentValidation.MaxCorrectedEntities + 1).Select(i => new { label = "LOC", start = i, end = i + 1 });

        await AssertProblem(await Client.PutAsJsonAsync($"/documents/{id}/entities", new { entities }), HttpStatusCode.BadRequest, "at most");
    }

    [Fact]
    public async Task AListPageCarriesAtMost100EntitiesPerDocumentAndSaysSo()
    {
        var words = Enumerable.Range(0, 150).Select(i => $"w{i}").ToArray();
        var many = await Store(string.Join(' ', words), words.Select(word => ("MISC", word)).ToArray());
        var few = await Store("Jordan played in Chicago.", ("PER", "Jordan"), ("LOC", "Chicago"));

        var page = await Json(await Client.GetAsync("/documents"));
        var whole = await Json(await Client.GetAsync($"/documents/{many}"));

        var listed = page.GetProperty("documents").EnumerateArray().ToDictionary(d => d.GetProperty("id").GetInt64());
        Assert.Equal(DocumentStore.MaxEntitiesPerListedDocument, listed[many].GetProperty("entities").GetArrayLength());
        Assert.True(listed[many].GetProperty("entitiesTruncated").GetBoolean());
        Assert.Equal(words.Take(100), listed[many].GetProperty("entities").EnumerateArray().Select(e => e.GetProperty("text").GetString()));
        Assert.Equal(2, listed[few].GetProperty("entities").GetArrayLength());
        Assert.False(listed[few].GetProperty("entitiesTruncated").GetBoolean());
        Assert.Equal(150, whole.GetProperty("entities").GetArrayLength());
        Assert.False(whole.GetProperty("entitiesTruncated").GetBoolean());
    }

    [Fact]
    public async Task AnExportTheDatabaseStallsEndsWithin503InsteadOfWaitingForever()
    {
        await Store("Jordan played in Chicago.", ("PER", "Jordan"));
        await using var impatient = await DocumentsTestApp.StartAsync(Database.ConnectionString + ";Command Timeout=2");
        // Another session holds the table: every read of it waits until that session ends.
        await using var connection = await Database.DataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var lockTable = new Npgsql.NpgsqlCommand("LOCK TABLE documents IN ACCESS EXCLUSIVE MODE", connection, transaction))
            await lockTable.ExecuteNonQueryAsync();

        // Without a command timeout the export would wait for the lock as long as it is held.
        var response = await impatient.Client.GetAsync("/documents/export").WaitAsync(TimeSpan.FromSeconds(60));

        await AssertProblem(response, HttpStatusCode.ServiceUnavailable, "cannot be reached");
        await transaction.RollbackAsync();
    }

    [Fact]
    public async Task AnExportOfMoreDocumentsThanOneBatchHoldsEveryDocumentOnceInOrder()
    {
        var count = DocumentStore.ExportBatchDocuments * 2 + 7;
        await Database.Store.InsertAsync(Enumerable.Range(0, count).Select(i => TestDatabase.Document($"Doc{i:D4} in Oslo.", ("LOC", "Oslo"))).ToList());

        var lines = (await Client.GetStringAsync("/documents/export")).Split('\n');

        Assert.Equal(Enumerable.Range(0, count).Select(i => $"Doc{i:D4} O"), lines.Where(line => line.StartsWith("Doc", StringComparison.Ordinal)));
        Assert.Equal(count, lines.Count(line => line == "Oslo B-LOC"));
    }

    [Fact]
    public async Task CorrectionThatIsNotJsonReturns415()
    {
        var id = await Store("Text.");
        var response = await Client.PutAsync($"/documents/{id}/entities", new StringContent("entities", Encoding.UTF8, "text/plain"));
        await AssertProblem(response, HttpStatusCode.UnsupportedMediaType, "application/json");
    }

    [Theory]
    [InlineData("format=json", "Unknown export format 'json'")]
    [InlineData("format=conll&reviewed=yes", "'reviewed'")]
    public async Task ExportWithBadParametersReturns400(string query, string problem)
    {
        await AssertProblem(await Client.GetAsync("/documents/export?" + query), HttpStatusCode.BadRequest, problem);
    }

    [Fact]
    public async Task ExportStreamsReviewedDocumentsAsConll()
    {
        var reviewed = await Store("Angela Merkel visited Paris.", ("PER", "Angela Merkel"));
        await Store("Not reviewed in Rome.", ("LOC", "Rome"));
        var correction = await Client.PutAsJsonAsync($"/documents/{reviewed}/entities", new
        {
            entities = new object[] { new { label = "PER", start = 0, end = 13 }, new { label = "LOC", start = 22, end = 27 } },
        });
        Assert.Equal(HttpStatusCode.OK, correction.StatusCode);

        var response = await Client.GetAsync("/documents/export?format=conll&reviewed=true");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Angela B-PER\nMerkel I-PER\nvisited O\nParis B-LOC\n. O\n\n", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ExportOfNoDocumentsIsEmpty()
    {
        var response = await Client.GetAsync("/documents/export?format=conll&reviewed=true");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task TopEntitiesReturnsCountsForALabelAndPrefix()
    {
        await Store("Paris and Paris and Rome.", ("LOC", "Paris"), ("LOC", "Paris"), ("LOC", "Rome"));
        await Store("Paris Hilton.", ("PER", "Paris Hilton"));

        var body = await Json(await Client.GetAsync("/entities?label=LOC&prefix=pa"));

        var entity = Assert.Single(body.GetProperty("entities").EnumerateArray());
        Assert.Equal("Paris", entity.GetProperty("text").GetString());
        Assert.Equal("LOC", entity.GetProperty("label").GetString());
        Assert.Equal(2, entity.GetProperty("count").GetInt64());
        await AssertProblem(await Client.GetAsync("/entities?limit=-3"), HttpStatusCode.BadRequest, "'limit'");
    }

    [Fact]
    public async Task ReadinessIncludesTheDatabase()
    {
        var response = await Client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task MigrationAtStartUpPreparesAnEmptyDatabaseWhenConfigured()
    {
        await using var empty = await TestDatabase.CreateAsync(migrate: false);
        await using (var unmigrated = await DocumentsTestApp.StartAsync(empty.ConnectionString))
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await unmigrated.Client.GetAsync("/health/ready")).StatusCode);

        await using var migrating = await DocumentsTestApp.StartAsync(empty.ConnectionString, ("Database:MigrateOnStartup", "true"));

        Assert.Equal(HttpStatusCode.OK, (await migrating.Client.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await migrating.Client.GetAsync("/documents")).StatusCode);
    }
}
