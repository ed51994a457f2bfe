using System.Net;
using System.Net.Http.Json;
using static NerService.Api.Tests.ResponseAssertions;

namespace NerService.Api.Tests;

[Collection(ServiceCollection.Name)]
public sealed class AccessControlTests(ServiceFixture fixture)
{
    private static readonly Dictionary<string, string?> TwoKeys = new()
    {
        ["Ner:ApiKeys:0:Key"] = "first-key",
        ["Ner:ApiKeys:0:Tenant"] = "first",
        ["Ner:ApiKeys:0:Role"] = "admin",
        // The second key is configured by its SHA-256 only.
        ["Ner:ApiKeys:1:KeySha256"] = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData("second-key"u8)).ToLowerInvariant(),
        ["Ner:ApiKeys:1:Tenant"] = "second",
        ["Ner:ApiKeys:1:Role"] = "tagger",
    };

    [Fact]
    public async Task WithKeysConfiguredTaggingWithoutAKeyReturns401Problem()
    {
        await using var factory = new NerServiceFactory(fixture, TwoKeys);
        using var client = factory.CreateClient();

        var response = await client.PostAsJsonAsync("/ner", new { text = "Paris" });

        await AssertProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "ApiKey");
    }

    [Fact]
    public async Task WithKeysConfiguredTheKeyIsCheckedBeforeTheBodyIsReadAndBound()
    {
        await using var factory = new NerServiceFactory(fixture, TwoKeys);
        using var client = factory.CreateClient();

        // A body that cannot be bound: a check after binding would answer 400 naming the JSON error.
        await AssertProblemAsync(await client.PostAsync("/ner", Json("{ this is not json")), HttpStatusCode.Unauthorized);
        await AssertProblemAsync(await client.PostAsync("/ner/batch", Json("[1, 2")), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task ATaggerKeyStoresButReadingStoredDocumentsGets403Problem()
    {
        await using var factory = new NerServiceFactory(fixture, TwoKeys);
        using var client = factory.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", "second-key");

        var stored = await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text = "Angela Merkel visited Paris." }));
        var problem = await AssertProblemAsync(await client.GetAsync($"/documents/{stored.GetProperty("id").GetInt64()}"), HttpStatusCode.Forbidden);

        Assert.Contains("needs reviewer", problem.GetProperty("detail").GetString());
        Assert.Equal("second", (await fixture.Store.GetAsync(stored.GetProperty("id").GetInt64(), Api.Documents.DocumentStore.AllTenants))!.Tenant);
    }

    [Fact]
    public async Task WithKeysConfiguredAnUnknownKeyReturns401Problem()
    {
        await using var factory = new NerServiceFactory(fixture, TwoKeys);
        using var client = factory.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", "first-ke");

        await AssertProblemAsync(await client.PostAsJsonAsync("/ner/batch", new { documents = Array.Empty<object>() }), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task WithKeysConfiguredAKnownKeyIsServedAndHealthStaysOpen()
    {
        await using var factory = new NerServiceFactory(fixture, TwoKeys);
        using var client = factory.CreateClient();

        using var request = new HttpRequestMessage(HttpMethod.Post, "/ner") { Content = JsonContent.Create(new { text = "Paris" }) };
        request.Headers.Add("X-Api-Key", "second-key");
        await AssertOkJsonAsync(await client.SendAsync(request));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/model")).StatusCode);
    }

    [Theory]
    [InlineData("/documents")]
    [InlineData("/documents/export?format=conll")]
    [InlineData("/entities")]
    public async Task WithKeysConfiguredStoredDocumentsNeedAKeyToo(string path)
    {
        await using var factory = new NerServiceFactory(fixture, TwoKeys);
        using var client = factory.CreateClient();

        await AssertProblemAsync(await client.GetAsync(path), HttpStatusCode.Unauthorized);
        client.DefaultRequestHeaders.Add("X-Api-Key", "first-key");
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(path)).StatusCode);
    }

    [Fact]
    public async Task AClientPastItsRateLimitGets429ProblemWithRetryAfter()
    {
        await using var factory = new NerServiceFactory(fixture, new Dictionary<string, string?>
        {
            ["Ner:RateLimit:PermitsPerWindow"] = "2",
            ["Ner:RateLimit:WindowSeconds"] = "60",
        });
        using var client = factory.CreateClient();

        await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text = "Paris" }));
        await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text = "Paris" }));
        var response = await client.PostAsJsonAsync("/ner", new { text = "Paris" });

        await AssertProblemAsync(response, HttpStatusCode.TooManyRequests);
        Assert.InRange(response.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task RateLimitsCountEachKeySeparately()
    {
        var settings = new Dictionary<string, string?>(TwoKeys)
        {
            ["Ner:RateLimit:PermitsPerWindow"] = "1",
            ["Ner:RateLimit:WindowSeconds"] = "60",
        };
        await using var factory = new NerServiceFactory(fixture, settings);
        using var first = factory.CreateClient();
        first.DefaultRequestHeaders.Add("X-Api-Key", "first-key");
        using var second = factory.CreateClient();
        second.DefaultRequestHeaders.Add("X-Api-Key", "second-key");

        await AssertOkJsonAsync(await first.PostAsJsonAsync("/ner", new { text = "Paris" }));
        await AssertOkJsonAsync(await second.PostAsJsonAsync("/ner", new { text = "Paris" }));
        await AssertProblemAsync(await first.PostAsJsonAsync("/ner", new { text = "Paris" }), HttpStatusCode.TooManyRequests);
    }
}
