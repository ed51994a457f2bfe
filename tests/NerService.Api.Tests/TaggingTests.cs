using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using static NerService.Api.Tests.ResponseAssertions;

namespace NerService.Api.Tests;

[Collection(ServiceCollection.Name)]
public sealed class TaggingTests(ServiceFixture fixture)
{
    private const string News = "John Smith said in London on Monday that Reuters and the EU would meet in Paris. Germany agreed.";

    [Fact]
    public async Task PostingTextReturnsEntitiesWhoseOffsetsSliceTheText()
    {
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();

        var result = await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text = News }));

        Assert.Equal("test-bundle", result.GetProperty("model").GetProperty("name").GetString());
        Assert.Equal("0.0.1", result.GetProperty("model").GetProperty("version").GetString());
        Assert.False(result.TryGetProperty("tokens", out _));
        var entities = result.GetProperty("entities").EnumerateArray().ToList();
        Assert.NotEmpty(entities);
        foreach (var entity in entities)
        {
            var start = entity.GetProperty("start").GetInt32();
            var end = entity.GetProperty("end").GetInt32();
            Assert.Equal(News[start..end], entity.GetProperty("text").GetString());
            Assert.Contains(entity.GetProperty("label").GetString(), new[] { "PER", "LOC", "ORG", "MISC" });
            Assert.InRange(entity.GetProperty("score").GetSingle(), 0f, 1f);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \n\t ")]
    public async Task PostingEmptyOrWhitespaceTextReturnsNoEntities(string text)
    {
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();

        var result = await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text }));

        Assert.Empty(result.GetProperty("entities").EnumerateArray());
    }

    [Fact]
    public async Task PostingWithIncludeTokensReturnsEveryTokenWithItsTag()
    {
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();

        var result = await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text = News, includeTokens = true }));

        var tokens = result.GetProperty("tokens").EnumerateArray().ToList();
        Assert.Contains(tokens, t => t.GetProperty("text").GetString() == "Smith");
        foreach (var token in tokens)
        {
            Assert.Equal(News[token.GetProperty("start").GetInt32()..token.GetProperty("end").GetInt32()], token.GetProperty("text").GetString());
            Assert.False(string.IsNullOrEmpty(token.GetProperty("tag").GetString()));
        }
    }

    [Fact]
    public async Task CodePointOffsetsCountASurrogatePairAsOneCharacter()
    {
        const string text = "😀 John Smith 🎉 met Reuters in Paris.";
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();

        var utf16 = await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text, includeTokens = true }));
        var codePoints = await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text, includeTokens = true, offsetUnit = "codepoint" }));

        var utf16Tokens = utf16.GetProperty("tokens").EnumerateArray().ToList();
        var codePointTokens = codePoints.GetProperty("tokens").EnumerateArray().ToList();
        Assert.Equal(utf16Tokens.Count, codePointTokens.Count);
        for (var i = 0; i < utf16Tokens.Count; i++)
        {
            var start = utf16Tokens[i].GetProperty("start").GetInt32();
            var end = utf16Tokens[i].GetProperty("end").GetInt32();
            Assert.Equal(text[..start].EnumerateRunes().Count(), codePointTokens[i].GetProperty("start").GetInt32());
            Assert.Equal(text[..end].EnumerateRunes().Count(), codePointTokens[i].GetProperty("end").GetInt32());
        }
        Assert.Contains(codePointTokens, t => t.GetProperty("text").GetString() == "Paris" && t.GetProperty("start").GetInt32() == text.IndexOf("Paris", StringComparison.Ordinal) - 2);
    }

    [Fact]
    public async Task LoneSurrogatesAndNulCharactersAreTaggedWithoutError()
    {
        // Lone surrogates are read as U+FFFD, one unit for one, so offsets still index the caller's string.
        // NUL cannot be stored (StoringTests), so this text is only tagged.
        const string asRead = "John\uFFFD Smith \0 visited \uFFFDParis \uFFFD";
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();

        var response = await client.PostAsync("/ner",
            Json("""{"text": "John\ud800 Smith \u0000 visited \udc00Paris \ud83d", "includeTokens": true, "store": false}"""));

        var result = await AssertOkJsonAsync(response);
        var tokens = result.GetProperty("tokens").EnumerateArray().ToList();
        Assert.Contains(tokens, t => t.GetProperty("text").GetString()!.Contains("Paris", StringComparison.Ordinal));
        foreach (var token in tokens)
            Assert.Equal(asRead[token.GetProperty("start").GetInt32()..token.GetProperty("end").GetInt32()], token.GetProperty("text").GetString());
    }

    [Fact]
    public async Task PostingTextOverTheLimitReturns413Problem()
    {
        await using var factory = new NerServiceFactory(fixture, new Dictionary<string, string?> { ["Ner:Limits:MaxTextCharacters"] = "20" });
        using var client = factory.CreateClient();

        var response = await client.PostAsJsonAsync("/ner", new { text = new string('a', 21) });

        var problem = await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("20", problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("""{"text": 5}""", "text")]
    [InlineData("""{"text": "Paris", "includeTokens": "yes"}""", "includeTokens")]
    [InlineData("""{"text": "Paris", "offsetUnit": "bytes"}""", "offsetUnit")]
    [InlineData("""{"txt": "Paris"}""", "text")]
    [InlineData("""{"text": null}""", "text")]
    [InlineData("""["Paris"]""", "body")]
    public async Task PostingAMissingOrMistypedFieldReturns400NamingTheField(string json, string field)
    {
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();

        var problem = await AssertProblemAsync(await client.PostAsync("/ner", Json(json)), HttpStatusCode.BadRequest);

        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
        Assert.Contains(field, problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("""{"text": "Paris""")]
    [InlineData("""{text: 'Paris'}""")]
    [InlineData("")]
    public async Task PostingInvalidJsonReturns400Problem(string json)
    {
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();

        await AssertProblemAsync(await client.PostAsync("/ner", Json(json)), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task PostingInvalidUtf8Returns400Problem()
    {
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();
        var bytes = new ByteArrayContent([.. "{\"text\": \"Pa"u8, 0xC3, 0x28, .. "ris\"}"u8]);
        bytes.Headers.ContentType = new("application/json");

        await AssertProblemAsync(await client.PostAsync("/ner", bytes), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task PostingPlainTextReturns415Problem()
    {
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();

        var response = await client.PostAsync("/ner", new StringContent("John Smith lives in Paris."));

        await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task PostingNoJsonBodyReturns400ProblemNamingTheBody()
    {
        // Recognised from the request and the endpoint's metadata, not from the framework's message text.
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();

        foreach (var body in new[] { "", "null" })
        {
            var response = await client.PostAsync("/ner", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

            var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest);
            Assert.Equal("The request body is missing.", problem.GetProperty("title").GetString());
            Assert.Equal("A JSON body is required.", problem.GetProperty("errors").GetProperty("body")[0].GetString());
        }
    }

    [Fact]
    public async Task AFullQueueAnswers503WithRetryAfterAtOnce()
    {
        // One inference thread, one text per batch and room for one waiting: concurrent long texts must overflow the queue.
        await using var factory = new NerServiceFactory(fixture, new Dictionary<string, string?>
        {
            ["Ner:Batching:InferenceThreads"] = "1",
            ["Ner:Batching:QueueCapacity"] = "1",
            ["Ner:Batching:MaxBatchSentences"] = "1",
        });
        using var client = factory.CreateClient();
        var text = string.Join(" ", Enumerable.Repeat("John Smith of Reuters said the EU met in London", 40));

        var responses = await Task.WhenAll(Enumerable.Range(0, 48).Select(_ => client.PostAsJsonAsync("/ner", new { text })));

        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, r.StatusCode.ToString()));
        var rejected = responses.Where(r => r.StatusCode == HttpStatusCode.ServiceUnavailable).ToList();
        Assert.NotEmpty(rejected);
        Assert.Contains(responses, r => r.StatusCode == HttpStatusCode.OK);
        await AssertProblemAsync(rejected[0], HttpStatusCode.ServiceUnavailable);
        Assert.True(rejected[0].Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task ACancelledRequestLeavesTheServiceAnswering()
    {
        await using var factory = new NerServiceFactory(fixture, new Dictionary<string, string?> { ["Ner:Batching:MaxDelayMs"] = "500" });
        using var client = factory.CreateClient();
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.PostAsJsonAsync("/ner", new { text = News }, cancellation.Token));

        await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text = News }));
    }
}
