using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using static NerService.Api.Tests.ResponseAssertions;

namespace NerService.Api.Tests;

/// <summary><c>minScore</c> and <c>alternatives</c> on POST /ner and POST /ner/batch, against the real service.</summary>
[Collection(ServiceCollection.Name)]
public sealed class ConfidenceTests(ServiceFixture fixture)
{
    private const string News = "John Smith said in London on Monday that Reuters and the EU would meet in Paris. Germany agreed.";

    [Fact]
    public async Task MinScoreLeavesOutExactlyTheEntitiesScoredBelowIt()
    {
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();
        var all = Entities(await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text = News, store = false })));
        Assert.True(all.Select(e => e.Score).Distinct().Count() > 1, "the test needs entities of different scores");

        foreach (var threshold in all.Select(e => (double)e.Score).Append(0.0).Append(1.0))
        {
            var kept = Entities(await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text = News, store = false, minScore = threshold })));
            Assert.Equal(all.Where(e => e.Score >= threshold), kept);
        }
    }

    [Fact]
    public async Task MinScoreFiltersEveryDocumentOfABatchAndWhatIsStored()
    {
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();
        var all = Entities(await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text = News, store = false })));
        var threshold = all.Select(e => (double)e.Score).Order().ElementAt(all.Count / 2);
        var expected = all.Where(e => e.Score >= threshold).ToList();
        Assert.NotEqual(all.Count, expected.Count);

        var batch = await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner/batch",
            new { documents = new[] { new { id = "a", text = News }, new { id = "b", text = News } }, minScore = threshold }));
        foreach (var result in batch.GetProperty("results").EnumerateArray())
        {
            Assert.Equal(expected, Entities(result));
            var stored = await AssertOkJsonAsync(await client.GetAsync($"/documents/{result.GetProperty("documentId").GetInt64()}"));
            Assert.Equal(expected, Entities(stored));
        }
    }

    [Theory]
    [InlineData("/ner", """{"text": "Paris", "minScore": 1.5}""")]
    [InlineData("/ner", """{"text": "Paris", "minScore": -0.01}""")]
    [InlineData("/ner", """{"text": "Paris", "minScore": "high"}""")]
    [InlineData("/ner", """{"text": "Paris", "minScore": true}""")]
    [InlineData("/ner/batch", """{"documents": [{"text": "Paris"}], "minScore": 2}""")]
    [InlineData("/ner/batch", """{"documents": [{"text": "Paris"}], "minScore": [0.5]}""")]
    public async Task AMinScoreOutsideZeroToOneOrNotANumberIs400NamingTheField(string path, string json)
    {
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();

        var problem = await AssertProblemAsync(await client.PostAsync(path, Json(json)), HttpStatusCode.BadRequest);

        Assert.True(problem.GetProperty("errors").TryGetProperty("minScore", out _), problem.ToString());
        Assert.Contains("minScore", problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("/ner", """{"text": "Paris", "alternatives": "yes"}""")]
    [InlineData("/ner/batch", """{"documents": [{"text": "Paris"}], "alternatives": 1}""")]
    public async Task AnAlternativesFlagThatIsNotABooleanIs400NamingTheField(string path, string json)
    {
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();

        var problem = await AssertProblemAsync(await client.PostAsync(path, Json(json)), HttpStatusCode.BadRequest);

        Assert.True(problem.GetProperty("errors").TryGetProperty("alternatives", out _), problem.ToString());
    }

    [Fact]
    public async Task AlternativesGiveOtherReadingsOfEachEntityAndThePossibleEntitiesWithProbabilities()
    {
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();

        var plain = await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text = News, store = false }));
        var result = await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text = News, store = false, alternatives = true }));

        Assert.False(plain.TryGetProperty("possibleEntities", out _));
        Assert.All(plain.GetProperty("entities").EnumerateArray(), e => Assert.False(e.TryGetProperty("alternatives", out _)));
        Assert.Equal(Entities(plain), Entities(result));
        var readings = 0;
        foreach (var entity in result.GetProperty("entities").EnumerateArray())
        {
            var (start, end) = (entity.GetProperty("start").GetInt32(), entity.GetProperty("end").GetInt32());
            var previous = 1f;
            foreach (var alternative in entity.GetProperty("alternatives").EnumerateArray())
            {
                var (label, altStart, altEnd, probability) = Reading(alternative);
                Assert.NotEqual((entity.GetProperty("label").GetString(), start, end), (label, altStart, altEnd));
                Assert.True(altStart < end && start < altEnd, $"{alternative} does not overlap {entity}");
                Assert.InRange(probability, 0.01f, previous);
                previous = probability;
                readings++;
            }
        }
        var entities = Entities(result);
        foreach (var possible in result.GetProperty("possibleEntities").EnumerateArray())
        {
            var (_, start, end, probability) = Reading(possible);
            Assert.DoesNotContain(entities, e => e.Start < end && start < e.End);
            Assert.InRange(probability, 0.01f, 1f);
            readings++;
        }
        Assert.True(readings > 0, "an untrained model is unsure of everything, so it must offer some alternatives");
    }

    [Fact]
    public async Task ABatchWithAlternativesGivesEachDocumentTheSameAsASingleRequest()
    {
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();

        var single = await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text = News, store = false, alternatives = true }));
        var batch = await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner/batch",
            new { documents = new[] { new { id = "a", text = News }, new { id = "b", text = "" } }, store = false, alternatives = true }));

        var results = batch.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(single.GetProperty("entities").ToString(), results[0].GetProperty("entities").ToString());
        Assert.Equal(single.GetProperty("possibleEntities").ToString(), results[0].GetProperty("possibleEntities").ToString());
        Assert.Equal(0, results[1].GetProperty("possibleEntities").GetArrayLength());
    }

    private static List<(string Label, int Start, int End, float Score)> Entities(JsonElement result) =>
        result.GetProperty("entities").EnumerateArray()
            .Select(e => (e.GetProperty("label").GetString()!, e.GetProperty("start").GetInt32(), e.GetProperty("end").GetInt32(), e.GetProperty("score").GetSingle()))
            .ToList();

    private static (string Label, int Start, int End, float Probability) Reading(JsonElement reading) =>
        (reading.GetProperty("label").GetString()!, reading.GetProperty("start").GetInt32(), reading.GetProperty("end").GetInt32(),
            reading.GetProperty("probability").GetSingle());
}
