using NerService.Model.Bundles;
using NerService.Model.Corpus;
using NerService.Model.Inference;
using NerService.Model.Network;
using NerService.Training.Training;

namespace NerService.Training.Tests;

/// <summary>A tiny teacher, trained once for the class, and students distilled from it.</summary>
public sealed class TinyTeacher : IDisposable
{
    public TinyTeacher()
    {
        File.WriteAllText(DataPath, TestCorpus.Conll);
        var options = new TrainingOptions
        {
            TrainPath = DataPath,
            ValidationPath = DataPath,
            OutputPath = Path.Combine(Directory, "teacher.bundle"),
            HiddenSize = 32,
            Dropout = 0,
            BatchSize = 2,
            LearningRate = 0.01,
            Epochs = 40,
            Patience = 12,
        };
        F1 = new Trainer(options, TextWriter.Null, TextWriter.Null).Run().Max(h => h.F1);
        BundlePath = options.OutputPath;
    }

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("ner-distil-").FullName;
    public string DataPath => Path.Combine(Directory, "tiny.conll");
    public string BundlePath { get; }
    public double F1 { get; }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}

public sealed class DistillationTests(TinyTeacher teacher) : IClassFixture<TinyTeacher>
{
    [Fact]
    public void TheStudentsSoftTargetLossFallsAsItLearnsFromTheTeacher()
    {
        Assert.Equal(1.0, teacher.F1);
        var history = new Trainer(StudentOptions("falls.bundle") with { Epochs = 12 }, TextWriter.Null, TextWriter.Null).Run();

        var soft = history.Select(h => h.SoftLoss!.Value).ToArray();
        Assert.True(soft[^1] < soft[0] / 2, $"soft-target loss by epoch: {string.Join(", ", soft)}");
        Assert.True(soft.Zip(soft.Skip(1)).Count(pair => pair.Second < pair.First) >= soft.Length / 2);
    }

    [Fact]
    public void AStudentTakesTheTeachersVocabularyTagsAndWordVectorsWithItsOwnArchitecture()
    {
        var options = StudentOptions("shape.bundle") with { Epochs = 1, Cell = RecurrentCell.Gru, HiddenSize = 8 };
        new Trainer(options, TextWriter.Null, TextWriter.Null).Run();

        using var student = ModelBundle.Load(options.OutputPath);
        using var source = ModelBundle.Load(teacher.BundlePath);
        Assert.Equal(source.Words.Words, student.Words.Words);
        Assert.Equal(source.TagSet.Tags, student.TagSet.Tags);
        Assert.Equal(RecurrentCell.Gru, student.Network.Config.Cell);
        Assert.Equal(8, student.Network.Config.HiddenSize);
        // Frozen: the student's word vectors are still the teacher's after training.
        Assert.Equal(WordVectors(source), WordVectors(student));
        Assert.Equal("teacher.bundle", student.Manifest.Training.Hyperparameters["teacher"]);
    }

    [Fact]
    public void SeededDistillationRunsRepeatExactlyAndAnotherSeedDoesNot()
    {
        var options = StudentOptions("a.bundle") with { CasingAugmentation = 0.5 };
        var first = new Trainer(options, TextWriter.Null, TextWriter.Null).Run();
        var second = new Trainer(options with { OutputPath = Path.Combine(teacher.Directory, "b.bundle") }, TextWriter.Null, TextWriter.Null).Run();
        var other = new Trainer(options with { OutputPath = Path.Combine(teacher.Directory, "c.bundle"), Seed = 5 }, TextWriter.Null, TextWriter.Null).Run();

        Assert.Equal(first.Select(h => h.Loss), second.Select(h => h.Loss));
        Assert.Equal(first.Select(h => h.SoftLoss), second.Select(h => h.SoftLoss));
        Assert.NotEqual(first.Select(h => h.Loss), other.Select(h => h.Loss));
    }

    [Fact]
    public void ATeacherThatCannotTeachIsRefusedWithAClearMessage()
    {
        var options = StudentOptions("refused.bundle") with { DistillationTemperature = 0 };
        var error = Assert.Throws<ArgumentException>(() => new Trainer(options, TextWriter.Null, TextWriter.Null).Run());
        Assert.Contains("--temperature", error.Message);
    }

    [Fact]
    public void AStudentThatIsItsTeacherHasNoSoftTargetLoss()
    {
        // Every token's teacher distribution must meet the same token's student logits: any misalignment between
        // the teacher's scores and the student's batch would show as a divergence here.
        var options = StudentOptions("self.bundle") with { InitFrom = teacher.BundlePath, DistillationTemperature = 1, LearningRate = 1e-12, Epochs = 1 };
        var history = new Trainer(options, TextWriter.Null, TextWriter.Null).Run();

        // KL divergence is never negative in exact arithmetic; float rounding leaves it a hair either side of 0.
        Assert.InRange(history[0].SoftLoss!.Value, -1e-6, 1e-5);
        Assert.Equal(1.0, history[0].F1);
    }

    [Fact]
    public void AReCasedSentenceIsTaughtWhatTheTeacherSaidOfItsOriginalCasing()
    {
        using var distillation = new Distillation(teacher.BundlePath, 0.5, 1, readsOriginalCasing: true);
        var cased = new ConllSentence(["John", "Smith", "visited", "Paris", "."], ["B-PER", "E-PER", "O", "S-LOC", "O"]);
        var lowered = Recasing.Apply(cased, TextCasing.Lower);
        var unseen = new ConllSentence(["Acme", "rose"], ["S-ORG", "O"]);
        distillation.Prepare([cased]);
        using var model = new NerModel(distillation.Bundle, TorchSharp.torch.CPU);
        var scores = model.PredictLogProbabilities([cased.Tokens, lowered.Tokens, unseen.Tokens]);
        var tags = distillation.Bundle.TagSet.Tags.Count;
        float Loss(float[] logits, params ConllSentence[] batch) =>
            distillation.Loss(TorchSharp.torch.tensor(logits, [logits.Length / tags, tags]), batch).item<float>();

        // A student that reads the lowercased sentence as the teacher read the cased one has nothing to learn...
        Assert.InRange(Loss(scores[0], lowered), -1e-6f, 1e-6f);
        // ...and the teacher's own reading of the lowercased text is not the target.
        Assert.True(Loss(scores[1], lowered) > 1e-6f, $"loss {Loss(scores[1], lowered)}");
        // A sentence the teacher never read as cased is left to the gold tags: it adds nothing.
        Assert.InRange(Loss([.. scores[0], .. scores[2]], lowered, unseen), -1e-6f, 1e-6f);
        Assert.Equal(0f, Loss(scores[2], unseen));
    }

    private static float[] WordVectors(ModelBundle bundle)
        => bundle.Network.state_dict()["word_embedding.weight"].data<float>().ToArray();

    private TrainingOptions StudentOptions(string bundle) => new()
    {
        TrainPath = teacher.DataPath,
        ValidationPath = teacher.DataPath,
        OutputPath = Path.Combine(teacher.Directory, bundle),
        TeacherPath = teacher.BundlePath,
        DistillationTemperature = 2,
        HiddenSize = 8,
        Dropout = 0,
        BatchSize = 2,
        LearningRate = 0.01,
        Epochs = 4,
        Patience = 40,
    };
}
