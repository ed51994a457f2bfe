using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using NerService.Api.Monitoring;
using NerService.Api.Tagging;
using static NerService.Api.Tests.ResponseAssertions;

namespace NerService.Api.Tests;

/// <summary>Two models served side by side: the default one and "fast" (another tiny bundle with a name of its own).</summary>
[Collection(ServiceCollection.Name)]
public sealed class ModelSelectionTests(ServiceFixture fixture)
{
    private const string Text = "John Smith visited Paris.";

    [Fact]
    public async Task ARequestNamingTheFastModelIsTaggedByItAndOneNamingNoneByTheDefault()
    {
        await using var factory = TwoModels();
        using var client = factory.CreateClient();

        var fast = await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text = Text, model = "fast", store = false }));
        var unnamed = await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text = Text, store = false }));
        var named = await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text = Text, model = "default", store = false }));
        var batch = await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner/batch", new { documents = new[] { new { text = Text } }, model = "fast", store = false }));

        Assert.Equal("test-fast-bundle", fast.GetProperty("model").GetProperty("name").GetString());
        Assert.Equal("test-bundle", unnamed.GetProperty("model").GetProperty("name").GetString());
        Assert.Equal("test-bundle", named.GetProperty("model").GetProperty("name").GetString());
        Assert.Equal("test-fast-bundle", batch.GetProperty("model").GetProperty("name").GetString());
        Assert.Single(batch.GetProperty("results").EnumerateArray());
    }

    [Theory]
    [InlineData("/ner")]
    [InlineData("/ner/batch")]
    public async Task AnUnknownModelIs400ProblemDetailsListingTheKnownOnesAndNothingIsStored(string path)
    {
        await using var factory = TwoModels();
        using var client = factory.CreateClient();

        object body = path == "/ner" ? new { text = Text, model = "turbo" } : new { documents = new[] { new { text = Text } }, model = "turbo" };
        var response = await client.PostAsJsonAsync(path, body);

        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Null(response.Headers.Location);
        Assert.Contains("'turbo'", problem.GetProperty("detail").GetString());
        Assert.Equal(["default", "fast"], problem.GetProperty("knownModels").EnumerateArray().Select(m => m.GetString()));
        Assert.True(problem.GetProperty("errors").TryGetProperty("model", out _));
    }

    [Fact]
    public async Task TheModelEndpointListsEveryServedModelWithItsMetrics()
    {
        await using var factory = TwoModels();
        using var client = factory.CreateClient();

        var described = await AssertOkJsonAsync(await client.GetAsync("/model"));

        Assert.Equal("test-bundle", described.GetProperty("name").GetString());
        Assert.Equal("default", described.GetProperty("defaultModel").GetString());
        var models = described.GetProperty("models");
        Assert.Equal(["default", "fast"], models.EnumerateObject().Select(m => m.Name));
        Assert.Equal("test-bundle", models.GetProperty("default").GetProperty("name").GetString());
        Assert.Equal("test-fast-bundle", models.GetProperty("fast").GetProperty("name").GetString());
        Assert.Equal(0, models.GetProperty("fast").GetProperty("validationMetrics").GetProperty("f1").GetDouble());
    }

    [Fact]
    public async Task TaggingMetricsAreCountedForEachModelApart()
    {
        await using var factory = TwoModels();
        using var client = factory.CreateClient();
        await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text = Text, model = "fast", store = false }));
        await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text = Text, model = "fast", store = false }));
        await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text = "Paris.", store = false }));

        // On the metrics listener (Ner:Metrics:Port), not on the public port.
        using var scraper = new HttpClient { BaseAddress = factory.Services.GetRequiredService<MetricsServer>().Address };
        var metrics = await (await scraper.GetAsync("/metrics")).Content.ReadAsStringAsync();

        Assert.Contains("ner_tokens_processed_total{model=\"fast\"} 10", metrics);
        Assert.Contains("ner_tokens_processed_total{model=\"default\"} 2", metrics);
        Assert.Contains("ner_texts_tagged_total{model=\"fast\"} 2", metrics);
        Assert.Contains("ner_queue_length{model=\"fast\"} 0", metrics);
        Assert.Contains("ner_queue_length{model=\"default\"} 0", metrics);
    }

    [Fact]
    public async Task AModelsOwnBatchingSettingsApplyToItsTaggerAlone()
    {
        await using var factory = new NerServiceFactory(fixture, new Dictionary<string, string?>
        {
            ["Ner:Models:fast:BundlePath"] = fixture.FastBundlePath,
            ["Ner:Models:fast:InferenceThreads"] = "1",
            ["Ner:Models:fast:MaxBatchSentences"] = "2",
            ["Ner:Batching:InferenceThreads"] = "2",
        });
        using var client = factory.CreateClient();
        var texts = Enumerable.Range(0, 5).Select(i => new { text = $"Sentence number {i} about Paris." }).ToArray();
        await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner/batch", new { documents = texts, model = "fast", store = false }));
        await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner/batch", new { documents = texts, store = false }));

        var registry = factory.Services.GetRequiredService<TaggerRegistry>();
        Assert.Equal(1, registry.Models.Single(m => m.Name == "fast").Tagger.InferenceThreads);
        Assert.Equal(2, registry.Models.Single(m => m.Name == "default").Tagger.InferenceThreads);
        using var scraper = new HttpClient { BaseAddress = factory.Services.GetRequiredService<MetricsServer>().Address };
        var metrics = await (await scraper.GetAsync("/metrics")).Content.ReadAsStringAsync();
        // Five one-sentence texts queued together: at most two a pass for "fast", all five in one for the default.
        Assert.Contains("ner_batch_sentences_sum{model=\"fast\"} 5", metrics);
        Assert.True(BatchCount(metrics, "fast") >= 3, metrics);
        Assert.Contains("ner_batch_sentences_sum{model=\"default\"} 5", metrics);
    }

    private static double BatchCount(string metrics, string model)
    {
        var prefix = $"ner_batch_sentences_count{{model=\"{model}\"}} ";
        var line = metrics.Split('\n').Single(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return double.Parse(line[prefix.Length..], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task AStoredDocumentNamesTheModelThatTaggedIt()
    {
        await using var factory = TwoModels();
        using var client = factory.CreateClient();

        var stored = await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text = Text, model = "fast" }));
        var document = await AssertOkJsonAsync(await client.GetAsync($"/documents/{stored.GetProperty("id").GetInt64()}"));

        Assert.Equal("test-fast-bundle", document.GetProperty("model").GetProperty("name").GetString());
    }

    private NerServiceFactory TwoModels() => new(fixture, new Dictionary<string, string?> { ["Ner:Models:fast:BundlePath"] = fixture.FastBundlePath });
}
