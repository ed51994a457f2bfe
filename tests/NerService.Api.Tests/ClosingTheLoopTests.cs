using System.Net.Http.Json;
using NerService.Api.Tests.Documents;
using NerService.Model.Inference;
using NerService.Training.Training;
using static NerService.Api.Tests.ResponseAssertions;

namespace NerService.Api.Tests;

/// <summary>
/// The way back to training: documents tagged and stored by the service, corrected by a person, exported as
/// CoNLL and read by the training code, which writes a model the service can load.
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
}
