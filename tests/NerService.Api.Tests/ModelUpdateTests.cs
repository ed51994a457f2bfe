using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using NerService.Api.Monitoring;
using NerService.Api.Tagging;
using NerService.Model.Bundles;
using NerService.Model.Inference;
using static NerService.Api.Tests.ResponseAssertions;

namespace NerService.Api.Tests;

/// <summary>
/// Model updates without downtime: two tiny bundles of different names and versions in a models folder, one served
/// at start, the other loaded by <c>POST /models/default/load</c> while clients keep sending.
/// </summary>
[Collection(ServiceCollection.Name)]
public sealed class ModelUpdateTests : IDisposable
{
    private const string AdminKey = "admin-key";
    private const string TaggerKey = "tagger-key";
    private const string ReviewerKey = "reviewer-key";

    private static readonly string[] Texts =
    [
        "John Smith said in London that Reuters and the EU met in Paris.",
        "Germany and Paris said of the EU: John Smith to London.",
        "Reuters said the Smith in Germany of London.",
        "Paris in the EU said to John of Reuters.",
    ];

    private readonly string models = Directory.CreateTempSubdirectory("ner-models-").FullName;
    private readonly string outside = Directory.CreateTempSubdirectory("ner-outside-").FullName;

    private readonly ServiceFixture fixture;

    public ModelUpdateTests(ServiceFixture fixture)
    {
        this.fixture = fixture;
        TestBundle.Create(Path.Combine(models, "a.bundle"), seed: 7, name: "swap-a", version: "1.0.0");
        TestBundle.Create(Path.Combine(models, "b.bundle"), seed: 11, name: "swap-b", version: "2.0.0");
    }

    public void Dispose()
    {
        Directory.Delete(models, recursive: true);
        Directory.Delete(outside, recursive: true);
    }

    [Fact]
    public async Task SwappingTheModelUnderLoadFailsNoRequestAndEveryAnswerComesFromExactlyOneModel()
    {
        var expected = new Dictionary<string, IReadOnlyList<string>>
        {
            ["swap-a 1.0.0"] = Expected("a.bundle"),
            ["swap-b 2.0.0"] = Expected("b.bundle"),
        };
        // The check below means something only if the two models disagree on the texts.
        Assert.NotEqual(expected["swap-a 1.0.0"], expected["swap-b 2.0.0"]);

        await using var factory = Service();
        var address = factory.StartOnLoopback();
        var answers = new ConcurrentQueue<(string Model, int Text, string Entities, long? Id)>();
        var failures = new ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();

        async Task ClientAsync(int client)
        {
            using var http = Client(address, TaggerKey);
            for (var i = client; !stop.IsCancellationRequested; i++)
            {
                var text = i % Texts.Length;
                var store = i % 4 == 0;
                using var response = await http.PostAsJsonAsync("ner", new { text = Texts[text], store });
                var body = await response.Content.ReadAsStringAsync();
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    failures.Enqueue($"{(int)response.StatusCode}: {body}");
                    continue;
                }
                var json = JsonDocument.Parse(body).RootElement;
                var model = json.GetProperty("model");
                answers.Enqueue(($"{model.GetProperty("name").GetString()} {model.GetProperty("version").GetString()}", text,
                    Describe(json.GetProperty("entities")), store ? json.GetProperty("id").GetInt64() : null));
            }
        }

        async Task ReadinessAsync()
        {
            using var http = new HttpClient { BaseAddress = address };
            while (!stop.IsCancellationRequested)
            {
                using var response = await http.GetAsync("health/ready");
                if (response.StatusCode != HttpStatusCode.OK)
                    failures.Enqueue($"/health/ready answered {(int)response.StatusCode}");
                await Task.Delay(10);
            }
        }

        var clients = Enumerable.Range(0, 4).Select(ClientAsync).Append(ReadinessAsync()).ToList();
        using var admin = Client(address, AdminKey);
        try
        {
            // Requests before, during and after each switch: the switch starts once answers flow, and the clients keep
            // sending until the switch has returned and more answers have come from the model switched to.
            await WaitForAnswersAsync(answers, "swap-a 1.0.0", 20, clients);
            var loaded = await AssertOkJsonAsync(await admin.PostAsJsonAsync("models/default/load", new { bundle = "b.bundle" }));
            Assert.Equal("swap-b", loaded.GetProperty("serving").GetProperty("name").GetString());
            Assert.Equal("2.0.0", loaded.GetProperty("serving").GetProperty("version").GetString());
            Assert.Equal("1.0.0", loaded.GetProperty("previous").GetProperty("version").GetString());
            await WaitForAnswersAsync(answers, "swap-b 2.0.0", 40, clients);

            var restored = await AssertOkJsonAsync(await admin.PostAsync("models/default/restore", null));
            Assert.Equal("swap-a", restored.GetProperty("serving").GetProperty("name").GetString());
            var before = answers.Count(a => a.Model == "swap-a 1.0.0");
            await WaitForAnswersAsync(answers, "swap-a 1.0.0", before + 20, clients);
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(clients);
        }

        Assert.Empty(failures);
        Assert.All(answers, answer =>
        {
            Assert.True(expected.ContainsKey(answer.Model), $"An answer named the model '{answer.Model}'.");
            Assert.Equal(expected[answer.Model][answer.Text], answer.Entities);
        });
        // Stored documents record the model that tagged them, not the one serving when they were read.
        using var reviewer = Client(address, AdminKey);
        foreach (var stored in answers.Where(a => a.Id is not null).Take(200))
        {
            var document = await AssertOkJsonAsync(await reviewer.GetAsync($"documents/{stored.Id}"));
            var model = document.GetProperty("model");
            Assert.Equal(stored.Model, $"{model.GetProperty("name").GetString()} {model.GetProperty("version").GetString()}");
        }
    }

    [Fact]
    public async Task ARequestQueuedBeforeASwitchIsAnsweredByTheOldModelWhichIsFreedOnlyAfterIt()
    {
        // One inference thread that waits 3 s for its batch to fill keeps the first request in the old model's queue.
        await using var factory = Service(new Dictionary<string, string?>
        {
            ["Ner:Batching:InferenceThreads"] = "1",
            ["Ner:Batching:MaxDelayMs"] = "3000",
        });
        using var tagger = factory.CreateClient();
        tagger.DefaultRequestHeaders.Add("X-Api-Key", TaggerKey);
        using var admin = factory.CreateClient();
        admin.DefaultRequestHeaders.Add("X-Api-Key", AdminKey);
        var registry = factory.Services.GetRequiredService<TaggerRegistry>();
        var old = registry.Default;

        var inFlight = tagger.PostAsJsonAsync("/ner", new { text = Texts[0], store = false });
        // The request leases the old model before it reaches the queue, so it is the old model's whenever the switch
        // comes; waiting for the queue only makes the switch come while the request is still there.
        for (var waited = 0; old.Tagger.AdmittedTokens == 0 && !inFlight.IsCompleted; waited++)
        {
            Assert.True(waited < 3000, "The request did not reach the tagger within a minute.");
            await Task.Delay(20);
        }
        // A lease held by the test stands for a request that has not finished yet.
        Assert.True(registry.TryLease(null, out var held));
        await AssertOkJsonAsync(await admin.PostAsJsonAsync("/models/default/load", new { bundle = "b.bundle" }));

        var answer = await AssertOkJsonAsync(await inFlight);
        Assert.Equal("swap-a", answer.GetProperty("model").GetProperty("name").GetString());
        var after = await AssertOkJsonAsync(await tagger.PostAsJsonAsync("/ner", new { text = Texts[0], store = false }));
        Assert.Equal("swap-b", after.GetProperty("model").GetProperty("name").GetString());

        // The old model still serves whoever holds it, and is freed once the last holder lets go.
        Assert.Same(old, held.Model);
        Assert.False(old.Retired.IsCompleted);
        Assert.NotEmpty((await held.Model.Tagger.TagAsync(Texts[0], includeTokens: true)).Tokens!);
        held.Dispose();
        await old.Retired.WaitAsync(TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task AFailedLoadKeepsTheServedModelAndSaysWhy()
    {
        var corrupt = File.ReadAllBytes(Path.Combine(models, "b.bundle"));
        for (var i = corrupt.Length / 2; i < corrupt.Length / 2 + 64; i++)
            corrupt[i] ^= 0x5a;
        File.WriteAllBytes(Path.Combine(models, "corrupt.bundle"), corrupt);
        File.WriteAllText(Path.Combine(models, "notes.txt"), "not a bundle");
        TestBundle.Create(Path.Combine(outside, "elsewhere.bundle"), seed: 3, name: "elsewhere");
        File.CreateSymbolicLink(Path.Combine(models, "link.bundle"), Path.Combine(outside, "elsewhere.bundle"));

        await using var factory = Service();
        using var admin = factory.CreateClient();
        admin.DefaultRequestHeaders.Add("X-Api-Key", AdminKey);

        foreach (var (bundle, status, says) in new (string, HttpStatusCode, string)[]
        {
            ("corrupt.bundle", HttpStatusCode.UnprocessableEntity, "corrupt.bundle"),
            ("notes.txt", HttpStatusCode.UnprocessableEntity, "not a valid model bundle"),
            ("missing.bundle", HttpStatusCode.BadRequest, "no bundle 'missing.bundle'"),
            ("../" + Path.GetFileName(outside) + "/elsewhere.bundle", HttpStatusCode.BadRequest, "not inside"),
            (Path.Combine(outside, "elsewhere.bundle"), HttpStatusCode.BadRequest, "not inside"),
            ("link.bundle", HttpStatusCode.BadRequest, "not inside"),
            ("", HttpStatusCode.BadRequest, "bundle"),
        })
        {
            var problem = await AssertProblemAsync(await admin.PostAsJsonAsync("/models/default/load", new { bundle }), status);
            Assert.Contains(says, problem.GetProperty("detail").GetString());
            var model = await AssertOkJsonAsync(await admin.GetAsync("/model"));
            Assert.Equal("swap-a", model.GetProperty("name").GetString());
            var tagged = await AssertOkJsonAsync(await admin.PostAsJsonAsync("/ner", new { text = Texts[0], store = false }));
            Assert.Equal("1.0.0", tagged.GetProperty("model").GetProperty("version").GetString());
        }
        await AssertProblemAsync(await admin.PostAsJsonAsync("/models/fast/load", new { bundle = "b.bundle" }), HttpStatusCode.NotFound);
        Assert.Contains("one bundle",
            (await AssertProblemAsync(await admin.PostAsync("/models/default/restore", null), HttpStatusCode.Conflict)).GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData(null, HttpStatusCode.Unauthorized)]
    [InlineData(TaggerKey, HttpStatusCode.Forbidden)]
    [InlineData(ReviewerKey, HttpStatusCode.Forbidden)]
    public async Task OnlyAnAdminKeyMayLoadOrRestoreAModel(string? key, HttpStatusCode status)
    {
        await using var factory = Service();
        using var client = factory.CreateClient();
        if (key is not null)
            client.DefaultRequestHeaders.Add("X-Api-Key", key);

        await AssertProblemAsync(await client.PostAsJsonAsync("/models/default/load", new { bundle = "b.bundle" }), status);
        await AssertProblemAsync(await client.PostAsync("/models/default/restore", null), status);
        var model = await AssertOkJsonAsync(await client.GetAsync("/model"));
        Assert.Equal("swap-a", model.GetProperty("name").GetString());
    }

    [Fact]
    public async Task TheModelEndpointAndTheMetricsShowTheModelServingNow()
    {
        await using var factory = Service();
        using var admin = factory.CreateClient();
        admin.DefaultRequestHeaders.Add("X-Api-Key", AdminKey);
        using var scraper = new HttpClient { BaseAddress = factory.Services.GetRequiredService<MetricsServer>().Address };
        Assert.Contains("ner_model_info{model=\"default\",name=\"swap-a\",version=\"1.0.0\"} 1", await scraper.GetStringAsync("/metrics"));

        await AssertOkJsonAsync(await admin.PostAsJsonAsync("/models/default/load", new { bundle = "b.bundle" }));

        var model = await AssertOkJsonAsync(await admin.GetAsync("/model"));
        Assert.Equal("swap-b", model.GetProperty("name").GetString());
        Assert.Equal("2.0.0", model.GetProperty("models").GetProperty("default").GetProperty("version").GetString());
        var metrics = await scraper.GetStringAsync("/metrics");
        Assert.Contains("ner_model_info{model=\"default\",name=\"swap-b\",version=\"2.0.0\"} 1", metrics);
        Assert.DoesNotContain("name=\"swap-a\"", metrics);
        Assert.Contains("ner_model_switches_total{model=\"default\"} 1", metrics);
    }

    private NerServiceFactory Service(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["Ner:ModelsDirectory"] = models,
            // Off so that the expected entities are the model's own, sentence by sentence.
            ["Ner:DocumentConsistency"] = "0",
            ["Ner:ApiKeys:0:Key"] = AdminKey,
            ["Ner:ApiKeys:0:Tenant"] = "swaps",
            ["Ner:ApiKeys:0:Role"] = "admin",
            ["Ner:ApiKeys:1:Key"] = TaggerKey,
            ["Ner:ApiKeys:1:Tenant"] = "swaps",
            ["Ner:ApiKeys:1:Role"] = "tagger",
            ["Ner:ApiKeys:2:Key"] = ReviewerKey,
            ["Ner:ApiKeys:2:Tenant"] = "swaps",
            ["Ner:ApiKeys:2:Role"] = "reviewer",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            all[key] = value;
        return new NerServiceFactory(Path.Combine(models, "a.bundle"), fixture.ConnectionString, all);
    }

    private static HttpClient Client(Uri address, string key)
    {
        var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromMinutes(2) };
        client.DefaultRequestHeaders.Add("X-Api-Key", key);
        return client;
    }

    /// <summary>Each text's entities as that bundle tags it on its own, in the form <see cref="Describe"/> gives.</summary>
    private IReadOnlyList<string> Expected(string bundle)
    {
        using var model = NerModel.Load(Path.Combine(models, bundle));
        return [.. model.Tag(Texts).Select(t => string.Join("; ", t.Entities.Select(e => $"{e.Label} {e.Start}-{e.End}")))];
    }

    private static string Describe(JsonElement entities) =>
        string.Join("; ", entities.EnumerateArray().Select(e => $"{e.GetProperty("label").GetString()} {e.GetProperty("start").GetInt32()}-{e.GetProperty("end").GetInt32()}"));

    private static async Task WaitForAnswersAsync(ConcurrentQueue<(string Model, int Text, string Entities, long? Id)> answers, string model, int count, List<Task> clients)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (answers.Count(a => a.Model == model) < count)
        {
            // A client that failed would stop sending: surface its exception rather than waiting out the deadline.
            if (clients.FirstOrDefault(c => c.IsFaulted) is { } failed)
                await failed;
            Assert.True(DateTime.UtcNow < deadline, $"Fewer than {count} answers from {model} within two minutes.");
            await Task.Delay(20);
        }
    }
}
