using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using static NerService.Api.Tests.ResponseAssertions;

namespace NerService.Api.Tests;

/// <summary>POST /ner and /ner/batch storing what they tag, through the whole service and a real PostgreSQL.</summary>
[Collection(ServiceCollection.Name)]
public sealed class StoringTests(ServiceFixture fixture)
{
    [Fact]
    public async Task PostingTextStoresTheDocumentAndAnswersItsIdAndLocation()
    {
        const string text = "John Smith visited Paris with Reuters staff.";
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();

        var response = await client.PostAsJsonAsync("/ner", new { text });

        var tagged = await AssertOkJsonAsync(response);
        var id = tagged.GetProperty("id").GetInt64();
        Assert.Equal($"/documents/{id}", response.Headers.Location?.OriginalString);
        var stored = await AssertOkJsonAsync(await client.GetAsync(response.Headers.Location));
        Assert.Equal(id, stored.GetProperty("id").GetInt64());
        Assert.Equal(text, stored.GetProperty("text").GetString());
        Assert.Equal("test-bundle", stored.GetProperty("model").GetProperty("name").GetString());
        Assert.Equal(Spans(tagged), Spans(stored));
    }

    [Fact]
    public async Task PostingWithStoreFalseTagsWithoutStoring()
    {
        var marker = Marker();
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();

        var response = await client.PostAsJsonAsync("/ner", new { text = $"John Smith wrote {marker} in Paris.", store = false });

        var tagged = await AssertOkJsonAsync(response);
        Assert.False(tagged.TryGetProperty("id", out _));
        Assert.Null(response.Headers.Location);
        var found = await AssertOkJsonAsync(await client.GetAsync($"/documents?q={marker}"));
        Assert.Empty(found.GetProperty("documents").EnumerateArray());
    }

    [Fact]
    public async Task RetryingWithTheSameIdempotencyKeyAnswersTheSameDocumentAndStoresItOnce()
    {
        var marker = Marker();
        var key = Guid.NewGuid().ToString();
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();

        // Concurrent retries: the key, not the timing, decides.
        var ids = await Task.WhenAll(Enumerable.Range(0, 5).Select(async _ =>
            (await AssertOkJsonAsync(await client.SendAsync(Post("/ner", new { text = $"Reuters reported {marker} from Berlin." }, key))))
                .GetProperty("id").GetInt64()));
        var otherKey = (await AssertOkJsonAsync(await client.SendAsync(Post("/ner", new { text = $"Reuters reported {marker} from Berlin." }, Guid.NewGuid().ToString()))))
            .GetProperty("id").GetInt64();

        Assert.Single(ids.Distinct());
        Assert.NotEqual(ids[0], otherKey);
        var found = await AssertOkJsonAsync(await client.GetAsync($"/documents?q={marker}"));
        Assert.Equal([ids[0], otherKey], found.GetProperty("documents").EnumerateArray().Select(d => d.GetProperty("id").GetInt64()).Order());
    }

    [Fact]
    public async Task ABatchKeyedKAndASingleRequestKeyedKHash0AreDifferentDocuments()
    {
        var marker = Marker();
        var key = Guid.NewGuid().ToString();
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();

        var batch = await AssertOkJsonAsync(await client.SendAsync(Post("/ner/batch", new { documents = new[] { new { text = $"Batch {marker} in Paris." } } }, key)));
        var single = await AssertOkJsonAsync(await client.SendAsync(Post("/ner", new { text = $"Single {marker} in Rome." }, key + "#0")));
        var batchRetry = await AssertOkJsonAsync(await client.SendAsync(Post("/ner/batch", new { documents = new[] { new { text = $"Batch {marker} in Paris." } } }, key)));

        var batchId = batch.GetProperty("results")[0].GetProperty("documentId").GetInt64();
        Assert.NotEqual(batchId, single.GetProperty("id").GetInt64());
        Assert.Equal(batchId, batchRetry.GetProperty("results")[0].GetProperty("documentId").GetInt64());
        var stored = await AssertOkJsonAsync(await client.GetAsync($"/documents/{single.GetProperty("id").GetInt64()}"));
        Assert.StartsWith("Single", stored.GetProperty("text").GetString());
    }

    [Fact]
    public async Task AnIdempotencyKeyOverTheLimitReturns400NamingTheHeader()
    {
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();

        var problem = await AssertProblemAsync(await client.SendAsync(Post("/ner", new { text = "Paris" }, new string('k', 201))), HttpStatusCode.BadRequest);

        Assert.True(problem.GetProperty("errors").TryGetProperty("Idempotency-Key", out _));
    }

    [Fact]
    public async Task TextWithANulCharacterIsRefusedWhenItIsToBeStoredAndTaggedWhenNot()
    {
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();

        var refused = await AssertProblemAsync(await client.PostAsync("/ner", Json("""{"text": "John \u0000 Smith"}""")), HttpStatusCode.BadRequest);
        await AssertOkJsonAsync(await client.PostAsync("/ner", Json("""{"text": "John \u0000 Smith", "store": false}""")));

        Assert.Contains("NUL", refused.GetProperty("detail").GetString());
        Assert.True(refused.GetProperty("errors").TryGetProperty("text", out _));
    }

    [Fact]
    public async Task PostingABatchStoresEachTaggedDocumentWithItsOwnId()
    {
        string[] texts = ["John Smith said in London.", "Reuters reported from Paris.", "Nul \0 here", ""];
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();
        var body = new { documents = texts.Select((text, i) => new { id = $"doc-{i}", text }) };
        var key = Guid.NewGuid().ToString();

        var first = (await AssertOkJsonAsync(await client.SendAsync(Post("/ner/batch", body, key)))).GetProperty("results").EnumerateArray().ToList();
        var retried = (await AssertOkJsonAsync(await client.SendAsync(Post("/ner/batch", body, key)))).GetProperty("results").EnumerateArray().ToList();

        Assert.Equal(400, first[2].GetProperty("error").GetProperty("status").GetInt32());
        Assert.False(first[2].TryGetProperty("documentId", out _));
        var ids = new[] { 0, 1, 3 }.Select(i => first[i].GetProperty("documentId").GetInt64()).ToList();
        Assert.Equal(3, ids.Distinct().Count());
        Assert.Equal(ids, new[] { 0, 1, 3 }.Select(i => retried[i].GetProperty("documentId").GetInt64()));
        foreach (var (i, id) in new[] { 0, 1, 3 }.Zip(ids))
        {
            var stored = await AssertOkJsonAsync(await client.GetAsync($"/documents/{id}"));
            Assert.Equal(texts[i], stored.GetProperty("text").GetString());
            Assert.Equal(Spans(first[i]), Spans(stored));
        }
    }

    [Fact]
    public async Task PostingABatchWithStoreFalseGivesNoDocumentIds()
    {
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();

        var result = await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner/batch",
            new { documents = new[] { new { id = "a", text = "John Smith in Paris \0." } }, store = false }));

        var only = Assert.Single(result.GetProperty("results").EnumerateArray());
        Assert.False(only.TryGetProperty("documentId", out _));
        Assert.False(only.TryGetProperty("error", out _));
    }

    [Fact]
    public async Task CorrectionsAcceptTheLoadedModelsLabelsAndRefuseOthers()
    {
        const string text = "Angela Merkel met Siemens in Munich.";
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();
        var modelLabels = (await AssertOkJsonAsync(await client.GetAsync("/model"))).GetProperty("entityTypes").EnumerateArray().Select(e => e.GetString()!).Order().ToList();
        var id = (await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text }))).GetProperty("id").GetInt64();

        var unknown = await AssertProblemAsync(await client.PutAsJsonAsync($"/documents/{id}/entities",
            new { entities = new[] { new { label = "GPE", start = 29, end = 35 } } }), HttpStatusCode.BadRequest);
        var corrected = await AssertOkJsonAsync(await client.PutAsJsonAsync($"/documents/{id}/entities",
            new { entities = modelLabels.Take(2).Select((label, i) => new { label, start = i * 18, end = i == 0 ? 13 : 25 }) }));

        Assert.Contains($"known labels: {string.Join(", ", modelLabels)}", unknown.GetProperty("detail").GetString());
        Assert.True(corrected.GetProperty("reviewed").GetBoolean());
        Assert.Equal(["Angela Merkel", "Siemens"], corrected.GetProperty("entities").EnumerateArray().Select(e => e.GetProperty("text").GetString()));
    }

    /// <summary>A word no other test's text contains, to find this test's documents by full-text search.</summary>
    private static string Marker() => "m" + Guid.NewGuid().ToString("N")[..12];

    private static HttpRequestMessage Post(string path, object body, string idempotencyKey) => new(HttpMethod.Post, path)
    {
        Content = JsonContent.Create(body),
        Headers = { { "Idempotency-Key", idempotencyKey } },
    };

    private static List<(string?, string?, int, int)> Spans(JsonElement result) => result.GetProperty("entities").EnumerateArray()
        .Select(e => (e.GetProperty("label").GetString(), e.GetProperty("text").GetString(), e.GetProperty("start").GetInt32(), e.GetProperty("end").GetInt32()))
        .ToList();
}
