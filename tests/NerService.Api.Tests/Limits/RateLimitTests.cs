using System.Net;
using System.Net.Http.Json;
using static NerService.Api.Tests.ResponseAssertions;

namespace NerService.Api.Tests.Limits;

/// <summary>
/// Per-client rate limits. In memory every request comes from the same (unknown) address, so each test's
/// requests are one client.
/// </summary>
[Collection(ServiceCollection.Name)]
public sealed class RateLimitTests(ServiceFixture fixture)
{
    [Fact]
    public async Task TaggingIsChargedByTheCharactersOfItsTextsNotByRequests()
    {
        await using var factory = new NerServiceFactory(fixture, new Dictionary<string, string?>
        {
            ["Ner:RateLimit:CharactersPerWindow"] = "100",
            ["Ner:RateLimit:WindowSeconds"] = "600",
        });
        using var client = factory.CreateClient();

        await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text = new string('a', 60), store = false }));
        using var tooMuch = await client.PostAsJsonAsync("/ner", new { text = new string('b', 60), store = false });
        await AssertProblemAsync(tooMuch, HttpStatusCode.TooManyRequests);
        Assert.True(tooMuch.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), "A 429 should say when to retry.");

        // What is left of the window (40 characters) still serves smaller texts, counted over a batch's documents.
        await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text = new string('c', 30), store = false }));
        var batch = new { documents = new[] { new { text = new string('d', 6) }, new { text = new string('e', 6) } }, store = false };
        await AssertProblemAsync(await client.PostAsJsonAsync("/ner/batch", batch), HttpStatusCode.TooManyRequests);
        await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text = new string('f', 10), store = false }));
        await AssertProblemAsync(await client.PostAsJsonAsync("/ner", new { text = "g", store = false }), HttpStatusCode.TooManyRequests);
    }

    [Fact]
    public async Task EveryEndpointButTheHealthProbesCountsAgainstTheRequestLimit()
    {
        await using var factory = new NerServiceFactory(fixture, new Dictionary<string, string?>
        {
            ["Ner:RateLimit:PermitsPerWindow"] = "3",
            ["Ner:RateLimit:WindowSeconds"] = "600",
        });
        using var client = factory.CreateClient();
        for (var i = 0; i < 3; i++)
            await AssertOkJsonAsync(await client.GetAsync("/model"));

        var entities = Json("""{"entities":[]}""");
        foreach (var request in new Func<Task<HttpResponseMessage>>[]
        {
            () => client.GetAsync("/model"),
            () => client.GetAsync("/documents"),
            () => client.GetAsync("/documents/1"),
            () => client.GetAsync("/documents/export?format=conll"),
            () => client.GetAsync("/entities"),
            () => client.DeleteAsync("/documents/1"),
            () => client.PutAsync("/documents/1/entities", entities),
            () => client.PostAsJsonAsync("/ner", new { text = "John Smith visited Paris.", store = false }),
            () => client.PostAsJsonAsync("/ner/batch", new { documents = new[] { new { text = "Paris" } }, store = false }),
            () => client.GetAsync("/swagger/v1/swagger.json"),
        })
        {
            using var response = await request();
            await AssertProblemAsync(response, HttpStatusCode.TooManyRequests);
            Assert.True(response.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), "A 429 should say when to retry.");
        }

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
    }
}
