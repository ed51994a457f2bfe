using NerService.Model.Corpus;
using NerService.Model.Inference;
using NerService.Training.Training;

namespace NerService.Training.Tests;

public sealed class TrainingRunTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("ner-train-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void ATinyRunOverfitsAFewSentencesToAPerfectScore()
    {
        var options = TinyOptions("overfit.bundle") with { Epochs = 40, Patience = 12, LearningRate = 0.01, HiddenSize = 32 };
        var history = new Trainer(options, TextWriter.Null, TextWriter.Null).Run();

        Assert.Equal(1.0, history.Max(h => h.F1));
        using var model = NerModel.Load(options.OutputPath);
        var sentences = ConllReader.ReadFile(options.ValidationPath, model.TagSet.Scheme);
        Assert.Equal(1.0, Evaluator.Evaluate(model, sentences, Decoding.Constrained).Metrics.F1);
        Assert.True(File.Exists(Path.ChangeExtension(options.OutputPath, ".training.jsonl")));
        Assert.True(new FileInfo(Path.ChangeExtension(options.OutputPath, ".learning-curve.png")).Length > 1000);
        Assert.Equal(1.0, model.Info.ValidationMetrics["f1"]);
        Assert.StartsWith("sha256:", model.Info.DataChecksums["tiny.conll"]);
    }

    [Fact]
    public void ValidationDuringTrainingScoresTheNetworkWithoutDropout()
    {
        var options = TinyOptions("dropout.bundle") with { Dropout = 0.5, Epochs = 12, Patience = 12, HiddenSize = 32, LearningRate = 0.01 };
        var history = new Trainer(options, TextWriter.Null, TextWriter.Null).Run();

        // The bundle holds the best epoch; scoring it afresh must give the F1 that training recorded for that epoch.
        using var model = NerModel.Load(options.OutputPath);
        var sentences = ConllReader.ReadFile(options.ValidationPath, model.TagSet.Scheme);
        Assert.Equal(history.Max(h => h.F1), Evaluator.Evaluate(model, sentences, Decoding.Constrained).Metrics.F1, 10);
    }

    [Fact]
    public void ASecondStageStartsFromTheGivenBundlesWeights()
    {
        var first = TinyOptions("stage1.bundle") with { Epochs = 40, Patience = 12, LearningRate = 0.01, HiddenSize = 32 };
        Assert.Equal(1.0, new Trainer(first, TextWriter.Null, TextWriter.Null).Run().Max(h => h.F1));

        var second = TinyOptions("stage2.bundle") with { InitFrom = first.OutputPath, FineTuneEmbeddings = true, Epochs = 1, LearningRate = 1e-6 };
        var history = new Trainer(second, TextWriter.Null, TextWriter.Null).Run();

        Assert.Equal(1.0, history[0].F1); // a fresh network scores 0 after one epoch on this data
    }

    [Fact]
    public void TheSameSeedTrainsTheSameModel()
    {
        var first = new Trainer(TinyOptions("a.bundle"), TextWriter.Null, TextWriter.Null).Run();
        var second = new Trainer(TinyOptions("b.bundle"), TextWriter.Null, TextWriter.Null).Run();
        Assert.Equal(first.Select(h => h.Loss), second.Select(h => h.Loss));
        var third = new Trainer(TinyOptions("c.bundle") with { Seed = 99 }, TextWriter.Null, TextWriter.Null).Run();
        Assert.NotEqual(first.Select(h => h.Loss), third.Select(h => h.Loss));
    }

    [Fact]
    public void AResumedRunContinuesWhereTheInterruptedOneStopped()
    {
        var uninterrupted = new Trainer(TinyOptions("whole.bundle") with { Epochs = 4 }, TextWriter.Null, TextWriter.Null).Run();

        var options = TinyOptions("resumed.bundle") with { Epochs = 2 };
        new Trainer(options, TextWriter.Null, TextWriter.Null).Run();
        var resumed = new Trainer(options with { Epochs = 4, Resume = true }, TextWriter.Null, TextWriter.Null).Run();

        Assert.Equal(4, resumed.Count);
        Assert.Equal(uninterrupted.Select(h => h.Epoch), resumed.Select(h => h.Epoch));
        Assert.Equal(uninterrupted.Select(h => h.Loss), resumed.Select(h => h.Loss));
        Assert.Equal(4, File.ReadAllLines(Path.ChangeExtension(options.OutputPath, ".training.jsonl")).Length);
    }

    [Fact]
    public void WeightAveragingKeepsTheMeanOfEachEpochsWeights()
    {
        // Averaging only watches training: a plain run stopped after each epoch shows the weights it averages.
        var plain = TinyOptions("plain.bundle") with { Patience = 10 };
        var epochWeights = new List<float[][]>();
        for (var epochs = 1; epochs <= 3; epochs++)
        {
            new Trainer(plain with { Epochs = epochs, Resume = epochs > 1 }, TextWriter.Null, TextWriter.Null).Run();
            epochWeights.Add(Weights(plain.OutputPath + ".checkpoint"));
        }

        var averaged = TinyOptions("averaged.bundle") with { Patience = 10, Epochs = 3, AverageWeights = true };
        var history = new Trainer(averaged, TextWriter.Null, TextWriter.Null).Run();

        var mean = Weights(averaged.OutputPath + ".checkpoint.average");
        for (var p = 0; p < mean.Length; p++)
        {
            var expected = mean[p].Select((_, i) => epochWeights.Average(w => (double)w[p][i]));
            Assert.Equal(expected, mean[p].Select(v => (double)v), (a, b) => Math.Abs(a - b) < 1e-5);
        }
        Assert.All(history, h => Assert.NotNull(h.F1LastWeights));
        // The saved bundle is the mean of the best epoch's weights, scored as training recorded it.
        using var model = NerModel.Load(averaged.OutputPath);
        var sentences = ConllReader.ReadFile(averaged.ValidationPath, model.TagSet.Scheme);
        Assert.Equal(history.Max(h => h.F1), Evaluator.Evaluate(model, sentences, Decoding.Constrained).Metrics.F1, 10);
    }

    [Fact]
    public void RunningTextAddsTheSentencesTheServiceWouldCutDifferently()
    {
        var options = TinyOptions("running.bundle") with { Epochs = 1, AddRunningText = true };
        // A headline without a full stop: as running text it runs into the sentence after it.
        File.WriteAllText(options.TrainPath, TestCorpus.Conll.Replace("-DOCSTART- -X- -X- O\n", "-DOCSTART- -X- -X- O\n\nGERMANY NNP B-NP B-LOC\nWINS VBZ B-VP O\n"));
        var log = new StringWriter();

        new Trainer(options, log, TextWriter.Null).Run();

        Assert.Contains("train: 5 sentences, 24 tokens", log.ToString());
        Assert.Contains("running text (original): 1 more sentences, 7 tokens", log.ToString());
    }

    [Fact]
    public void AResumedAveragingStageContinuesWhereTheInterruptedOneStopped()
    {
        var first = TinyOptions("base.bundle") with { Epochs = 3, Dropout = 0.5 };
        new Trainer(first, TextWriter.Null, TextWriter.Null).Run();
        var stage = TinyOptions("stage.bundle") with { InitFrom = first.OutputPath, FineTuneEmbeddings = true, AverageWeights = true, Patience = 10 };

        var uninterrupted = new Trainer(stage with { Epochs = 4 }, TextWriter.Null, TextWriter.Null).Run();
        var resumedOptions = stage with { OutputPath = Path.Combine(directory, "stage-resumed.bundle") };
        new Trainer(resumedOptions with { Epochs = 2 }, TextWriter.Null, TextWriter.Null).Run();
        var resumed = new Trainer(resumedOptions with { Epochs = 4, Resume = true }, TextWriter.Null, TextWriter.Null).Run();

        Assert.Equal(uninterrupted.Select(h => h.Loss), resumed.Select(h => h.Loss));
        Assert.Equal(uninterrupted.Select(h => h.F1), resumed.Select(h => h.F1));
        Assert.Equal(Weights(stage.OutputPath + ".checkpoint.average"), Weights(resumedOptions.OutputPath + ".checkpoint.average"));
    }

    private static float[][] Weights(string bundlePath)
    {
        using var bundle = NerService.Model.Bundles.ModelBundle.Load(bundlePath);
        return bundle.Network.parameters().Select(p => p.data<float>().ToArray()).ToArray();
    }

    private TrainingOptions TinyOptions(string bundle)
    {
        var data = Path.Combine(directory, "tiny.conll");
        File.WriteAllText(data, TestCorpus.Conll);
        return new TrainingOptions
        {
            TrainPath = data,
            ValidationPath = data,
            OutputPath = Path.Combine(directory, bundle),
            HiddenSize = 16,
            Dropout = 0,
            BatchSize = 2,
            LearningRate = 0.02,
            Epochs = 3,
            Patience = 10,
        };
    }
}
