using System.Net.Http.Json;
using Microsoft.Playwright;
using NerService.Api.Tests.Documents;
using NerService.Model.Inference;
using NerService.Training.Training;
using static NerService.Api.Tests.ResponseAssertions;

namespace NerService.Api.Tests;

/// <summary>
/// The way back to training: documents tagged and stored by the service, corrected by a person, exported as
/// CoNLL and read by the training code, which writes a model the service can load, and serves without a restart.
/// </summary>
[Collection(ServiceCollection.Name)]
public sealed class ClosingTheLoopTests(ServiceFixture fixture) : IAsyncLifetime
{
    private readonly string directory = Directory.CreateTempSubdirectory("ner-loop-").FullName;

    // A database of its own, so that the export holds exactly this test's documents.
    private TestDatabase database = null!;

    public async Task InitializeAsync() => database = await TestDatabase.CreateAsync();

    public async Task DisposeAsync()
    {
        await database.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task ACorrectedDocumentIsExportedAndTrainsAModelThatLoads()
    {
        await using var factory = new NerServiceFactory(fixture.BundlePath, database.ConnectionString);
        using var client = factory.CreateClient();
        const string text = "Angela Merkel visited Paris. Siemens opened an office in Munich.";
        var id = (await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text }))).GetProperty("id").GetInt64();
        await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text = "Never reviewed: Zanzibar." }));

        await AssertOkJsonAsync(await client.PutAsJsonAsync($"/documents/{id}/entities", new
        {
            entities = new[]
            {
                new { label = "PER", start = 0, end = 13, text = "Angela Merkel" },
                new { label = "LOC", start = 22, end = 27, text = "Paris" },
                new { label = "ORG", start = 29, end = 36, text = "Siemens" },
                new { label = "LOC", start = 57, end = 63, text = "Munich" },
            },
        }));
        var export = await client.GetAsync("/documents/export?format=conll&reviewed=true");
        var conll = await export.Content.ReadAsStringAsync();

        Assert.True(export.IsSuccessStatusCode, conll);
        var lines = conll.Split('\n');
        Assert.Equal(["Angela B-PER", "Merkel I-PER", "visited O", "Paris B-LOC", ". O", "", "Siemens B-ORG"], lines[..7]);
        Assert.Contains("Munich B-LOC", lines);
        Assert.DoesNotContain("Zanzibar", conll);

        var exported = Path.Combine(directory, "reviewed.conll");
        await File.WriteAllTextAsync(exported, conll);
        var bundle = Path.Combine(directory, "loop.bundle");
        var epochs = new Trainer(new TrainingOptions
        {
            TrainPath = exported,
            ValidationPath = exported,
            OutputPath = bundle,
            EmbeddingsPath = null,
            HiddenSize = 8,
            Epochs = 3,
            BatchSize = 2,
            Name = "closing-the-loop",
        }, TextWriter.Null, TextWriter.Null).Run();

        Assert.Equal(3, epochs.Count);
        using var model = NerModel.Load(bundle);
        Assert.Equal("closing-the-loop", model.Info.Name);
        Assert.Equal(["LOC", "ORG", "PER"], model.Info.EntityTypes.Order());
        Assert.Single(model.Tag(["Angela Merkel visited Paris."]));
    }

    [Fact]
    public async Task ACorrectionExportedFineTunedAndLoadedChangesHowTheServiceTagsTheSameText()
    {
        var models = Directory.CreateDirectory(Path.Combine(directory, "models")).FullName;
        var original = Path.Combine(directory, "original.conll");
        // A few sentences a tiny model learns perfectly: it has never seen Acme, and tags it O.
        await File.WriteAllTextAsync(original, TestCorpus.Conll);
        var served = Path.Combine(models, "loop.bundle");
        Train(new TrainingOptions
        {
            TrainPath = original,
            ValidationPath = original,
            OutputPath = served,
            EmbeddingsPath = null,
            HiddenSize = 32,
            Dropout = 0,
            BatchSize = 2,
            LearningRate = 0.01,
            Epochs = 40,
            Patience = 12,
            Name = "loop",
            Version = "1.0.0",
        });
        await using var factory = new NerServiceFactory(served, database.ConnectionString, new Dictionary<string, string?>
        {
            ["Ner:ModelsDirectory"] = models,
            ["Ner:DocumentConsistency"] = "0",
        });
        var address = factory.StartOnLoopback();
        using var client = new HttpClient { BaseAddress = address };
        const string text = "Mary met Acme in London.";

        // 1. Tagged and stored: the model misses Acme.
        var tagged = await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text }));
        Assert.Equal(["Mary PER", "London LOC"], Entities(tagged));
        var id = tagged.GetProperty("id").GetInt64();

        // 2. Corrected by a reviewer in the review page (headless Chromium): Acme selected, the ORG key, accepted.
        using (var playwright = await Playwright.CreateAsync())
        {
            await using var browser = await ReviewPageTests.LaunchAsync(playwright);
            var page = await browser.NewPageAsync();
            await page.GotoAsync(new Uri(address, "review/").ToString());
            await page.ClickAsync($"#documents tbody tr[data-id='{id}']");
            await ReviewPageTests.DoubleClickWordAsync(page, "Acme");
            await page.Keyboard.PressAsync("o");
            await Assertions.Expect(ReviewPageTests.Mark(page, "Acme")).ToHaveAttributeAsync("data-label", "ORG");
            await page.Keyboard.PressAsync("Enter");
            await Assertions.Expect(page.Locator("#progress")).ToHaveTextAsync("1 / 1 reviewed");
        }

        // 3. Exported.
        var export = await client.GetAsync("/documents/export?format=conll&reviewed=true");
        var conll = await export.Content.ReadAsStringAsync();
        Assert.True(export.IsSuccessStatusCode, conll);
        Assert.Contains("Acme B-ORG", conll);
        var corrections = Path.Combine(directory, "reviewed.conll");
        await File.WriteAllTextAsync(corrections, conll);

        // 4. Fine-tuned from the served bundle with the correction mixed into the original data; validated on both,
        // so that the kept epoch has learned the correction without forgetting the rest.
        var validation = Path.Combine(directory, "validation.conll");
        await File.WriteAllTextAsync(validation, TestCorpus.Conll + "\n\n" + string.Join('\n',
            conll.Split('\n').Select(line => line.Split(' ') is [var token, var tag] ? $"{token} X X {tag}" : line)));
        Train(new TrainingOptions
        {
            TrainPath = original,
            ValidationPath = validation,
            OutputPath = Path.Combine(models, "loop.v2.bundle"),
            InitFrom = served,
            Corrections = [corrections],
            CorrectionsWeight = 3,
            BatchSize = 2,
            LearningRate = 0.01,
            Epochs = 10,
            Patience = 3,
            Version = "1.1.0",
        });

        // 5. Loaded without a restart: the same text is now tagged as corrected, by the new version.
        var loaded = await AssertOkJsonAsync(await client.PostAsJsonAsync("/models/default/load", new { bundle = "loop.v2.bundle" }));
        Assert.Equal("1.1.0", loaded.GetProperty("serving").GetProperty("version").GetString());
        var retagged = await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text, store = false }));
        Assert.Equal(["Mary PER", "Acme ORG", "London LOC"], Entities(retagged));
        Assert.Equal("1.1.0", retagged.GetProperty("model").GetProperty("version").GetString());
    }

    private static void Train(TrainingOptions options) => new Trainer(options, TextWriter.Null, TextWriter.Null).Run();

    private static string[] Entities(System.Text.Json.JsonElement response) =>
        [.. response.GetProperty("entities").EnumerateArray().Select(e => $"{e.GetProperty("text").GetString()} {e.GetProperty("label").GetString()}")];
}
