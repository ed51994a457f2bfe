using NerService.Model.Bundles;
using NerService.Model.Inference;
using NerService.Model.Network;
using NerService.Training.Training;

namespace NerService.Training.Tests;

public sealed class WeightInterpolationTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("ner-interpolate-").FullName;

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.25)]
    [InlineData(1.0)]
    public void EveryWeightIsTheMixOfTheTwoBundlesWeights(double weight)
    {
        using var from = ModelBundle.Load(TestBundle.Create(Path.Combine(directory, "a.bundle"), seed: 1));
        using var to = ModelBundle.Load(TestBundle.Create(Path.Combine(directory, "b.bundle"), seed: 2));

        using var mixed = WeightInterpolation.Interpolate(from, to, weight);

        var a = from.Network.state_dict();
        var b = to.Network.state_dict();
        foreach (var (name, tensor) in mixed.Network.state_dict())
        {
            var expected = a[name].data<float>().ToArray().Zip(b[name].data<float>(), (x, y) => (float)((1 - weight) * x + weight * y)).ToArray();
            var actual = tensor.data<float>().ToArray();
            Assert.Equal(expected.Length, actual.Length);
            for (var i = 0; i < actual.Length; i++)
                Assert.Equal(expected[i], actual[i], 1e-6f);
        }
    }

    [Fact]
    public void TheMixedBundleLoadsAndTagsWithTheSecondsManifestAndNoCalibration()
    {
        using var from = ModelBundle.Load(TestBundle.Create(Path.Combine(directory, "a.bundle"), seed: 1));
        using var to = ModelBundle.Load(TestBundle.Create(Path.Combine(directory, "b.bundle"), seed: 2, name: "fine-tuned"));
        var path = Path.Combine(directory, "mixed.bundle");
        using (var mixed = WeightInterpolation.Interpolate(from, to, 0.85))
            mixed.Save(path);

        using var model = NerModel.Load(path);
        Assert.Equal("fine-tuned", model.Info.Name);
        Assert.Single(model.Tag(["John Smith flew to Paris."]));
        using var saved = ModelBundle.Load(path);
        Assert.Null(saved.Manifest.Calibration);
        Assert.Equal("0.85", saved.Manifest.Training.Hyperparameters["interpolationWeight"]);
        Assert.Equal("test-bundle 0.0.1", saved.Manifest.Training.Hyperparameters["interpolatedFrom"]);
    }

    [Fact]
    public void TheMixedBundleRecordsItsOwnValidationScoresAtEveryCasing()
    {
        using var from = ModelBundle.Load(TestBundle.Create(Path.Combine(directory, "a.bundle"), seed: 1));
        using var to = ModelBundle.Load(TestBundle.Create(Path.Combine(directory, "b.bundle"), seed: 2));
        var dataPath = Path.Combine(directory, "valid.conll");
        File.WriteAllText(dataPath, TestCorpus.Conll);
        var validation = NerService.Model.Corpus.ConllReader.ReadFile(dataPath, to.TagSet.Scheme);
        using var mixed = WeightInterpolation.Interpolate(from, to, 0.5);

        var manifest = WeightInterpolation.WithValidationMetrics(mixed, validation);

        var path = Path.Combine(directory, "scored.bundle");
        mixed.Save(path, manifest);
        using var model = NerModel.Load(path);
        var expected = Evaluator.Evaluate(model, validation, NerService.Model.Inference.Decoding.Constrained).Metrics;
        Assert.Equal(expected.F1, manifest.Training.ValidationMetrics["f1"]);
        Assert.Equal(expected.F1, manifest.Training.ValidationMetrics["original.f1"]);
        Assert.All(["precision", "recall", "lower.f1", "upper.f1", "title.f1"], key => Assert.True(manifest.Training.ValidationMetrics.ContainsKey(key), key));
        Assert.True(manifest.Training.CreatedAt > to.Manifest.Training.CreatedAt);
    }

    [Fact]
    public void BundlesOfDifferentShapesOrAWeightOutsideZeroToOneAreRefused()
    {
        using var from = ModelBundle.Load(TestBundle.Create(Path.Combine(directory, "a.bundle"), seed: 1));
        using var wider = new ModelBundle(from.Manifest, from.Words, from.Characters, new TaggerNetwork(from.Network.Config with { HiddenSize = 8 }));

        Assert.Throws<InvalidOperationException>(() => WeightInterpolation.Interpolate(from, wider, 0.5));
        Assert.Throws<ArgumentException>(() => WeightInterpolation.Interpolate(from, from, 1.5));
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);
}
