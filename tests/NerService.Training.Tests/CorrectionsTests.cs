using NerService.Model.Corpus;
using NerService.Model.Inference;
using NerService.Training.Training;

namespace NerService.Training.Tests;

/// <summary>Fine-tuning a trained bundle on reviewed documents mixed with its original training data.</summary>
public sealed class CorrectionsTests : IDisposable
{
    // As GET /documents/export?format=conll&reviewed=true writes a reviewed document: a reviewer marked Acme.
    private const string Corrected = """
        Mary B-PER
        met O
        Acme B-ORG
        in O
        London B-LOC
        . O

        """;

    private readonly string directory = Directory.CreateTempSubdirectory("ner-corrections-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void FineTuningWithCorrectionsMixedInLearnsAWordTheModelTaggedOAndKeepsTheRest()
    {
        var original = Write("tiny.conll", TestCorpus.Conll);
        var corrections = Write("reviewed.conll", Corrected);
        var trained = Train(original, original, "base.bundle", []);
        const string text = "Mary met Acme in London.";
        using (var model = NerModel.Load(trained))
            Assert.DoesNotContain(model.Tag([text])[0].Entities, e => e.Text == "Acme");

        // Validated on the original data and the corrections together: the kept epoch must get both right.
        var validation = Write("validation.conll", TestCorpus.Conll + "\n\n" + string.Join('\n',
            Corrected.Split('\n').Select(line => line.Split(' ') is [var token, var tag] ? $"{token} X X {tag}" : line)));
        var output = new StringWriter();
        var fineTuned = Train(original, validation, "fine-tuned.bundle", [corrections], trained, output);

        using var tuned = NerModel.Load(fineTuned);
        var acme = Assert.Single(tuned.Tag([text])[0].Entities, e => e.Text == "Acme");
        Assert.Equal("ORG", acme.Label);
        Assert.Equal(1.0, Evaluator.Evaluate(tuned, ConllReader.ReadFile(original, tuned.TagSet.Scheme), Decoding.Constrained).Metrics.F1);
        Assert.Equal(("tiny-model", "1.1.0"), (tuned.Info.Name, tuned.Info.Version));
        Assert.StartsWith("sha256:", tuned.Info.DataChecksums["reviewed.conll"]);
        Assert.Contains("corrections: 1 sentences, 6 tokens, 3 entities from reviewed.conll; each repeated 3 times per epoch: 3 of 7 training sentences", output.ToString());
    }

    [Fact]
    public void CorrectionsWithALabelTheModelDoesNotPredictAreRefusedNamingTheFile()
    {
        var original = Write("tiny.conll", TestCorpus.Conll.Replace("B-MISC", "O"));
        var trained = Train(original, original, "no-misc.bundle", [], epochs: 1);
        var corrections = Write("misc.conll", "German B-MISC\nfarmers O\n");

        var refused = Assert.Throws<InvalidOperationException>(() => Train(original, original, "refused.bundle", [corrections], trained, epochs: 1));
        Assert.Contains("misc.conll", refused.Message);
        Assert.Contains("MISC", refused.Message);
        Assert.Throws<ArgumentException>(() => new Trainer(Options(original, original, "weightless.bundle", [corrections], trained, 1) with { CorrectionsWeight = 0 },
            TextWriter.Null, TextWriter.Null).Run());
    }

    private string Train(string train, string validation, string bundle, string[] corrections, string? initFrom = null, TextWriter? output = null, int epochs = 40)
    {
        var options = Options(train, validation, bundle, corrections, initFrom, epochs);
        new Trainer(options, output ?? TextWriter.Null, TextWriter.Null).Run();
        return options.OutputPath;
    }

    private TrainingOptions Options(string train, string validation, string bundle, string[] corrections, string? initFrom, int epochs) => new()
    {
        TrainPath = train,
        ValidationPath = validation,
        OutputPath = Path.Combine(directory, bundle),
        InitFrom = initFrom,
        Corrections = corrections,
        CorrectionsWeight = 3,
        HiddenSize = 32,
        Dropout = 0,
        BatchSize = 2,
        LearningRate = 0.01,
        Epochs = initFrom is null ? epochs : Math.Min(epochs, 10),
        Patience = initFrom is null ? 12 : 3,
        Name = initFrom is null ? "tiny-model" : null,
        Version = initFrom is null ? null : "1.1.0",
        Seed = 1,
    };

    private string Write(string name, string content)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllText(path, content);
        return path;
    }
}
