using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using NerService.Api.Documents;
using NerService.Model.Inference;

namespace NerService.Api.Tests.Documents;

/// <summary><c>GET /documents?order=least-confident</c>, the stored lowest entity score, and <c>GET /documents/count</c>.</summary>
public sealed class LeastConfidentOrderTests : DocumentsAppTests
{
    /// <summary>Stores a document whose entities (found by substring) have the given scores.</summary>
    private async Task<long> Store(string text, params (string Label, string Text, float Score)[] entities) =>
        (await Database.Store.InsertAsync([Document(text, "test-model", "1.0", entities)]))[0];

    internal static NewDocument Document(string text, string model, string version, params (string Label, string Text, float Score)[] entities) =>
        new(text, entities.Select(e =>
        {
            var start = text.IndexOf(e.Text, StringComparison.Ordinal);
            return new EntitySpan(e.Label, start, start + e.Text.Length, e.Text, e.Score);
        }).ToList(), model, version);

    private static async Task<JsonElement> Json(HttpResponseMessage response)
    {
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    private static long[] Ids(JsonElement page) => page.GetProperty("documents").EnumerateArray().Select(d => d.GetProperty("id").GetInt64()).ToArray();

    private async Task<List<long>> AllPages(string query, int limit)
    {
        var ids = new List<long>();
        string? cursor = null;
        do
        {
            var page = await Json(await Client.GetAsync($"/documents?{query}&limit={limit}{(cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor))}"));
            Assert.True(Ids(page).Length <= limit);
            ids.AddRange(Ids(page));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);
        return ids;
    }

    private static async Task AssertBadRequest(HttpResponseMessage response, string detailContains)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(400, problem.GetProperty("status").GetInt32());
        Assert.Contains(detailContains, problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task LeastConfidentOrderListsTheLowestEntityScoreFirstAndDocumentsWithoutEntitiesLast()
    {
        var sure = await Store("Angela Merkel visited Paris.", ("PER", "Angela Merkel", 0.99f), ("LOC", "Paris", 0.97f));
        var none = await Store("Nothing to see here.");
        var unsure = await Store("Siemens sued Apple in Cologne.", ("ORG", "Siemens", 0.98f), ("ORG", "Cologne", 0.41f));
        var middling = await Store("Reuters reported it.", ("ORG", "Reuters", 0.75f));

        var page = await Json(await Client.GetAsync("/documents?order=least-confident"));

        Assert.Equal([unsure, middling, sure, none], Ids(page));
        var scores = page.GetProperty("documents").EnumerateArray().Select(d => d.GetProperty("lowestEntityScore")).ToArray();
        Assert.Equal(0.41, scores[0].GetDouble(), 5);
        Assert.Equal(0.75, scores[1].GetDouble(), 5);
        Assert.Equal(JsonValueKind.Null, scores[3].ValueKind);
        // The default order is unchanged: newest first.
        Assert.Equal([middling, unsure, none, sure], Ids(await Json(await Client.GetAsync("/documents"))));
        Assert.Equal([middling, unsure, none, sure], Ids(await Json(await Client.GetAsync("/documents?order=newest"))));
    }

    [Fact]
    public async Task LeastConfidentPagesComposeWithFiltersAndVisitEveryMatchingDocumentOnce()
    {
        var expected = new List<(float Score, long Id)>();
        for (var i = 0; i < 23; i++)
        {
            // Repeated scores, so that the id breaks ties across page boundaries.
            var score = 0.5f + (i % 5) * 0.1f;
            var label = i % 3 == 0 ? "PER" : "LOC";
            var id = await Store($"Document {i} about Berlin.", (label, "Berlin", score));
            if (label == "LOC")
                expected.Add((score, id));
        }
        var noEntities = await Store("A document about nothing.");

        var visited = await AllPages("order=least-confident&label=LOC", limit: 4);

        Assert.Equal(expected.OrderBy(e => e.Score).ThenBy(e => e.Id).Select(e => e.Id), visited);
        var everything = await AllPages("order=least-confident", limit: 5);
        Assert.Equal(24, everything.Count);
        Assert.Equal(noEntities, everything[^1]);
        Assert.Equal(everything.Distinct().Count(), everything.Count);
    }

    [Fact]
    public async Task LeastConfidentOrderComposesWithReviewedTimeAndModelFilters()
    {
        var old = await Database.Store.InsertAsync([Document("Old text about Rome.", "old-model", "1.0", ("LOC", "Rome", 0.3f))]);
        var reviewed = await Store("Reviewed text about Oslo.", ("LOC", "Oslo", 0.2f));
        var open = await Store("Open text about Lima.", ("LOC", "Lima", 0.6f));
        var newer = await Database.Store.InsertAsync([Document("Newer text about Bern.", "test-model", "2.0", ("LOC", "Bern", 0.1f))]);
        await Json(await Client.PutAsJsonAsync($"/documents/{reviewed}/entities", new { entities = new[] { new { label = "LOC", start = 20, end = 24 } } }));

        Assert.Equal([newer[0], open], Ids(await Json(await Client.GetAsync("/documents?order=least-confident&reviewed=false&model=test-model"))));
        Assert.Equal([newer[0]], Ids(await Json(await Client.GetAsync("/documents?order=least-confident&modelVersion=2.0"))));
        Assert.Equal([old[0]], Ids(await Json(await Client.GetAsync("/documents?order=least-confident&model=old-model"))));
        var future = Uri.EscapeDataString(DateTimeOffset.UtcNow.AddMinutes(5).ToString("O"));
        Assert.Empty(Ids(await Json(await Client.GetAsync($"/documents?order=least-confident&from={future}"))));
        Assert.Equal([newer[0], reviewed, old[0], open], Ids(await Json(await Client.GetAsync($"/documents?order=least-confident&to={future}"))));
    }

    [Fact]
    public async Task CorrectingADocumentKeepsTheScoreTheModelTaggedItWith()
    {
        var id = await Store("Siemens sued Apple.", ("ORG", "Siemens", 0.9f), ("PER", "Apple", 0.35f));

        var corrected = await Json(await Client.PutAsJsonAsync($"/documents/{id}/entities", new { entities = new[] { new { label = "ORG", start = 13, end = 18 } } }));

        Assert.True(corrected.GetProperty("reviewed").GetBoolean());
        Assert.Equal(0.35, corrected.GetProperty("lowestEntityScore").GetDouble(), 5);
        Assert.Equal(0.35, (await Json(await Client.GetAsync($"/documents/{id}"))).GetProperty("lowestEntityScore").GetDouble(), 5);
    }

    [Theory]
    [InlineData("order=confident", "Unknown order 'confident'")]
    [InlineData("order=LEAST-CONFIDENT", "Unknown order")]
    [InlineData("order=least-confident&cursor=nonsense", "not one this service issued")]
    public async Task ABadOrderOrCursorIsRefusedWith400ProblemDetails(string query, string detail) =>
        await AssertBadRequest(await Client.GetAsync($"/documents?{query}"), detail);

    [Fact]
    public async Task ACursorOfOneOrderIsRefusedByTheOther()
    {
        for (var i = 0; i < 3; i++)
            await Store($"Text {i} about Berlin.", ("LOC", "Berlin", 0.5f));
        var newestCursor = (await Json(await Client.GetAsync("/documents?limit=1"))).GetProperty("nextCursor").GetString()!;
        var confidenceCursor = (await Json(await Client.GetAsync("/documents?limit=1&order=least-confident"))).GetProperty("nextCursor").GetString()!;

        await AssertBadRequest(await Client.GetAsync($"/documents?order=least-confident&cursor={Uri.EscapeDataString(newestCursor)}"), "for this order");
        await AssertBadRequest(await Client.GetAsync($"/documents?cursor={Uri.EscapeDataString(confidenceCursor)}"), "for this order");
    }

    [Fact]
    public async Task CountingReturnsTheMatchingDocumentsAndHowManyAreReviewed()
    {
        var paris = await Store("Angela Merkel visited Paris.", ("PER", "Angela Merkel", 0.9f), ("LOC", "Paris", 0.9f));
        await Store("Siemens sued Apple.", ("ORG", "Siemens", 0.9f));
        await Store("Nothing here.");
        await Json(await Client.PutAsJsonAsync($"/documents/{paris}/entities", new { entities = Array.Empty<object>() }));

        var all = await Json(await Client.GetAsync("/documents/count"));
        var withOrg = await Json(await Client.GetAsync("/documents/count?label=ORG"));
        var reviewedOnly = await Json(await Client.GetAsync("/documents/count?reviewed=true"));

        Assert.Equal((3, 1), (all.GetProperty("documents").GetInt64(), all.GetProperty("reviewed").GetInt64()));
        Assert.Equal((1, 0), (withOrg.GetProperty("documents").GetInt64(), withOrg.GetProperty("reviewed").GetInt64()));
        Assert.Equal((1, 1), (reviewedOnly.GetProperty("documents").GetInt64(), reviewedOnly.GetProperty("reviewed").GetInt64()));
        await AssertBadRequest(await Client.GetAsync("/documents/count?reviewed=maybe"), "'reviewed' must be true or false");
    }

    [Fact]
    public void ConfidenceCursorsRoundTripExactlyAndNeverDecodeAsTheOtherOrder()
    {
        foreach (var score in new[] { 0f, 0.123456789f, 1f, float.PositiveInfinity, float.Epsilon })
        {
            var encoded = new ConfidenceCursor(score, 1234567890123).Encode();
            Assert.True(ConfidenceCursor.TryDecode(encoded, out var decoded));
            Assert.Equal(new ConfidenceCursor(score, 1234567890123), decoded);
            Assert.False(DocumentCursor.TryDecode(encoded, out _));
        }
        Assert.False(ConfidenceCursor.TryDecode(new DocumentCursor(DateTime.UtcNow, 5).Encode(), out _));
        Assert.False(ConfidenceCursor.TryDecode(new ConfidenceCursor(float.NaN, 5).Encode(), out _));
    }
}
