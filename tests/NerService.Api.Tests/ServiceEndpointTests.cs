using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using NerService.Api.Monitoring;
using static NerService.Api.Tests.ResponseAssertions;

namespace NerService.Api.Tests;

[Collection(ServiceCollection.Name)]
public sealed class ServiceEndpointTests(ServiceFixture fixture)
{
    [Fact]
    public async Task GettingTheModelDescribesTheServedBundle()
    {
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();

        var model = await AssertOkJsonAsync(await client.GetAsync("/model"));

        Assert.Equal("test-bundle", model.GetProperty("name").GetString());
        Assert.Equal("0.0.1", model.GetProperty("version").GetString());
        Assert.Equal(["LOC", "MISC", "ORG", "PER"], model.GetProperty("entityTypes").EnumerateArray().Select(e => e.GetString()).Order());
        Assert.Contains("B-PER", model.GetProperty("tags").EnumerateArray().Select(e => e.GetString()));
        Assert.False(string.IsNullOrEmpty(model.GetProperty("taggingScheme").GetString()));
        Assert.Equal(JsonValueKind.Object, model.GetProperty("validationMetrics").ValueKind);
        Assert.Equal(JsonValueKind.Object, model.GetProperty("dataChecksums").ValueKind);
    }

    [Fact]
    public async Task LivenessAnswersOk()
    {
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();

        var health = await AssertOkJsonAsync(await client.GetAsync("/health/live"));

        Assert.Equal("Healthy", health.GetProperty("status").GetString());
    }

    [Fact]
    public async Task ReadinessReportsTheLoadedModelAndTheDatabase()
    {
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();

        var health = await AssertOkJsonAsync(await client.GetAsync("/health/ready"));

        Assert.Equal("Healthy", health.GetProperty("status").GetString());
        Assert.Equal("Healthy", health.GetProperty("checks").GetProperty("model").GetProperty("status").GetString());
        Assert.Equal("Healthy", health.GetProperty("checks").GetProperty("database").GetProperty("status").GetString());
    }

    [Fact]
    public async Task MetricsReportRequestsQueueBatchesInferenceAndTokens()
    {
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();
        await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text = "John Smith visited Paris." }));

        // On the metrics listener (Ner:Metrics:Port), not on the public port.
        using var scraper = new HttpClient { BaseAddress = factory.Services.GetRequiredService<MetricsServer>().Address };
        var response = await scraper.GetAsync("/metrics");
        var metrics = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("http_request_duration_seconds_bucket{", metrics);
        Assert.Contains("http_request_duration_seconds_count{code=\"200\",method=\"POST\",controller=\"\",action=\"\",endpoint=\"/ner/\"} 1", metrics);
        Assert.Contains("ner_queue_length{model=\"default\"} 0", metrics);
        Assert.Contains("ner_batch_texts_count{model=\"default\"} 1", metrics);
        Assert.Contains("ner_batch_tokens_bucket{model=\"default\",", metrics);
        Assert.Contains("ner_inference_seconds_count{model=\"default\"} 1", metrics);
        Assert.Contains("ner_tokens_processed_total{model=\"default\"} 5", metrics);
        Assert.Contains("ner_store_batch_documents_count 1", metrics);
        Assert.Contains("ner_admitted_tokens{model=\"default\"} 0", metrics);
    }

    [Theory]
    [InlineData("/metrics")]
    [InlineData("/Metrics")]
    [InlineData("/METRICS")]
    [InlineData("/metrics/")]
    [InlineData("/metrics?x=1")]
    public async Task ThePublicPortDoesNotServeMetricsInAnySpelling(string path)
    {
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();

        var response = await client.GetAsync(path);

        await AssertProblemAsync(response, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task TheOpenApiDocumentDocumentsEveryErrorResponseWithExamples()
    {
        var document = await OpenApiDocumentAsync();

        foreach (var path in new[] { "/ner", "/ner/batch" })
        {
            var operation = document.GetProperty("paths").GetProperty(path).GetProperty("post");
            Assert.Contains(operation.GetProperty("parameters").EnumerateArray(),
                p => p.GetProperty("name").GetString() == "Idempotency-Key" && p.GetProperty("in").GetString() == "header");
            Assert.True(operation.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").TryGetProperty("example", out _));
            var responses = operation.GetProperty("responses");
            Assert.True(responses.GetProperty("200").GetProperty("content").GetProperty("application/json").TryGetProperty("example", out _));
            foreach (var status in new[] { "400", "401", "413", "415", "429", "500", "503" })
            {
                var problem = responses.GetProperty(status).GetProperty("content").GetProperty("application/problem+json");
                Assert.True(problem.TryGetProperty("example", out _), $"{path} {status}");
            }
        }
        Assert.True(document.GetProperty("paths").GetProperty("/model").GetProperty("get").GetProperty("responses").TryGetProperty("200", out _));

        var load = document.GetProperty("paths").GetProperty("/models/{name}/load").GetProperty("post");
        Assert.True(load.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").TryGetProperty("example", out _));
        var loadResponses = load.GetProperty("responses");
        Assert.True(loadResponses.GetProperty("200").GetProperty("content").GetProperty("application/json").TryGetProperty("example", out _));
        foreach (var status in new[] { "400", "401", "403", "404", "422", "503" })
            Assert.True(loadResponses.GetProperty(status).GetProperty("content").GetProperty("application/problem+json").TryGetProperty("example", out _), $"load {status}");
        Assert.True(document.GetProperty("paths").GetProperty("/models/{name}/restore").GetProperty("post").GetProperty("responses").TryGetProperty("409", out _));
    }

    [Fact]
    public async Task TheOpenApiDocumentNamesAndDescribesTheDocumentFilters()
    {
        var document = await OpenApiDocumentAsync();

        foreach (var path in new[] { "/documents", "/documents/count" })
        {
            var parameters = document.GetProperty("paths").GetProperty(path).GetProperty("get").GetProperty("parameters").EnumerateArray()
                .ToDictionary(p => p.GetProperty("name").GetString()!);
            foreach (var name in new[] { "label", "text", "prefix", "q", "from", "to", "reviewed", "model", "modelVersion", "tenant" })
            {
                Assert.True(parameters.TryGetValue(name, out var parameter), $"{path} lacks '{name}'");
                Assert.Equal("query", parameter.GetProperty("in").GetString());
                Assert.False(string.IsNullOrEmpty(parameter.TryGetProperty("description", out var description) ? description.GetString() : null), $"{path} '{name}' has no description");
            }
        }
    }

    private async Task<JsonElement> OpenApiDocumentAsync()
    {
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();
        return await AssertOkJsonAsync(await client.GetAsync("/swagger/v1/swagger.json"));
    }

    [Fact]
    public async Task SwaggerUiIsServed()
    {
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();

        var response = await client.GetAsync("/swagger/index.html");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("swagger-ui", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task TheRootServesThePage()
    {
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();

        var response = await client.GetAsync("/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("<textarea id=\"text\"", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AnUnknownRouteAnswersAProblem()
    {
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();

        await AssertProblemAsync(await client.GetAsync("/no-such-thing"), HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("/documents/not-a-number")]
    [InlineData("/documents/99999999999999999999")]
    public async Task ADocumentIdThatIsNotAWholeNumberMatchesNoRouteAndAnswersAProblem(string path)
    {
        // {id:long}: such a path names no document at all, so routing answers before any handler or database.
        await using var factory = new NerServiceFactory(fixture);
        using var client = factory.CreateClient();

        await AssertProblemAsync(await client.GetAsync(path), HttpStatusCode.NotFound);
        await AssertProblemAsync(await client.DeleteAsync(path), HttpStatusCode.NotFound);
        await AssertProblemAsync(await client.PutAsJsonAsync(path + "/entities", new { entities = Array.Empty<object>() }), HttpStatusCode.NotFound);
    }
}
