using System.Net;
using System.Net.Http.Json;
using static NerService.Api.Tests.ResponseAssertions;

namespace NerService.Api.Tests;

[Collection(ServiceCollection.Name)]
public sealed class BatchTests(ServiceFixture fixture)
{
    [Fact]
    public async Task PostingABatchReturnsEachDocumentsEntitiesInOrder()
    {
        string[] texts = ["John Smith said in London.", "", "Reuters reported from Paris that Germany and the EU agreed."];
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();

        var result = await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner/batch",
            new { documents = texts.Select((text, i) => new { id = $"doc-{i}", text }) }));

        var results = result.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(["doc-0", "doc-1", "doc-2"], results.Select(r => r.GetProperty("id").GetString()));
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.False(results[i].TryGetProperty("error", out _));
            foreach (var entity in results[i].GetProperty("entities").EnumerateArray())
                Assert.Equal(texts[i][entity.GetProperty("start").GetInt32()..entity.GetProperty("end").GetInt32()], entity.GetProperty("text").GetString());
        }
        Assert.Empty(results[1].GetProperty("entities").EnumerateArray());
        Assert.Equal("test-bundle", result.GetProperty("model").GetProperty("name").GetString());
    }

    [Fact]
    public async Task ABatchTagsTheSameAsSingleRequests()
    {
        const string text = "John Smith said in London that Reuters and the EU would meet in Paris.";
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();

        var single = await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text }));
        var batch = await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner/batch", new { documents = new[] { new { id = "a", text } } }));

        Assert.Equal(single.GetProperty("entities").ToString(), batch.GetProperty("results")[0].GetProperty("entities").ToString());
    }

    [Fact]
    public async Task AnInvalidDocumentGetsItsOwnErrorWhileTheOthersAreTagged()
    {
        await using var factory = new NerServiceFactory(fixture, new Dictionary<string, string?> { ["Ner:Limits:MaxTextCharacters"] = "40" });
        using var client = factory.CreateClient();

        var result = await AssertOkJsonAsync(await client.PostAsync("/ner/batch", Json("""
            {"documents": [
                {"id": "ok", "text": "John Smith visited Paris."},
                {"id": "no-text"},
                null,
                {"id": "too-long", "text": "John Smith visited Paris, London and Germany last week."},
                {"id": "also-ok", "text": "Reuters said."}
            ]}
            """)));

        var results = result.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(5, results.Count);
        Assert.True(results[0].TryGetProperty("entities", out _));
        Assert.Equal(400, results[1].GetProperty("error").GetProperty("status").GetInt32());
        Assert.Contains("documents[1].text", results[1].GetProperty("error").GetProperty("detail").GetString());
        Assert.Equal(400, results[2].GetProperty("error").GetProperty("status").GetInt32());
        Assert.Equal(413, results[3].GetProperty("error").GetProperty("status").GetInt32());
        Assert.Equal("too-long", results[3].GetProperty("id").GetString());
        Assert.True(results[4].TryGetProperty("entities", out _));
    }

    [Fact]
    public async Task PostingMoreDocumentsThanTheLimitReturns400Problem()
    {
        await using var factory = new NerServiceFactory(fixture, new Dictionary<string, string?> { ["Ner:Limits:MaxBatchDocuments"] = "2" });
        using var client = factory.CreateClient();

        var response = await client.PostAsJsonAsync("/ner/batch", new { documents = Enumerable.Range(0, 3).Select(i => new { id = $"{i}", text = "Paris" }) });

        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("documents", out _));
        Assert.Contains("2", problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("""{}""", "documents")]
    [InlineData("""{"documents": "Paris"}""", "documents")]
    [InlineData("""{"documents": [{"id": "a", "text": 5}]}""", "documents[0].text")]
    public async Task PostingABatchWithAMissingOrMistypedFieldReturns400NamingTheField(string json, string field)
    {
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();

        var problem = await AssertProblemAsync(await client.PostAsync("/ner/batch", Json(json)), HttpStatusCode.BadRequest);

        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }
}
