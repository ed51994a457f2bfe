using NerService.Model.Bundles;
using NerService.Model.Corpus;
using NerService.Model.Inference;
using NerService.Model.Network;
using static TorchSharp.torch;

namespace NerService.Training.Training;

/// <summary>
/// Weight-space ensembling (Wortsman et al. 2022, "Robust fine-tuning of zero-shot models"): the weights
/// (1 − w) · A + w · B of two bundles of one lineage, B fine-tuned from A. Between a model trained on cased text
/// and its casing-robust fine-tuning, w trades cased accuracy for the other casings in one network of the same
/// size and speed. Only bundles with the same vocabularies, tags and network shape can be mixed.
/// </summary>
public static class WeightInterpolation
{
    /// <summary>The mixed bundle, with <paramref name="to"/>'s manifest and no calibration (fit it again).</summary>
    public static ModelBundle Interpolate(ModelBundle from, ModelBundle to, double weight)
    {
        if (weight is < 0 or > 1 || double.IsNaN(weight))
            throw new ArgumentException($"--weight must be in [0, 1], not {weight}.");
        if (from.Network.Config != to.Network.Config)
            throw new InvalidOperationException($"The bundles' networks differ: {from.Network.Config} and {to.Network.Config}.");
        if (!from.Words.Words.SequenceEqual(to.Words.Words) || from.Characters.Characters != to.Characters.Characters
            || !from.TagSet.Tags.SequenceEqual(to.TagSet.Tags))
            throw new InvalidOperationException("The bundles' vocabularies or tags differ: only a model and one fine-tuned from it can be mixed.");

        var mixed = new TaggerNetwork(to.Network.Config);
        using (NewDisposeScope())
        using (no_grad())
        {
            var sources = from.Network.state_dict();
            var targets = to.Network.state_dict();
            foreach (var (name, tensor) in mixed.state_dict())
                tensor.copy_(sources[name].mul(1 - weight).add(targets[name].mul(weight)));
        }
        var hyperparameters = new Dictionary<string, string>(to.Manifest.Training.Hyperparameters)
        {
            ["interpolatedFrom"] = from.Manifest.Name + " " + from.Manifest.Version,
            ["interpolationWeight"] = weight.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        var manifest = to.Manifest with
        {
            Calibration = null,
            Training = to.Manifest.Training with { Hyperparameters = hyperparameters },
        };
        return new ModelBundle(manifest, to.Words, to.Characters, mixed);
    }

    /// <summary>
    /// The mixed bundle's manifest with its own validation scores, as training records them (precision, recall,
    /// f1, TYPE.f1, and CASING.f1 at every casing): the scores it inherited were <c>to</c>'s, and <c>GET /model</c>
    /// shows them.
    /// </summary>
    public static BundleManifest WithValidationMetrics(ModelBundle mixed, IReadOnlyList<ConllSentence> validation)
    {
        // The model takes the bundle over; a copy of the weights keeps the caller's bundle usable.
        using var model = new NerModel(Trainer.Copy(mixed), CPU);
        var metrics = Evaluator.Evaluate(model, validation, Decoding.Constrained).Metrics;
        var byCasing = Recasing.All.ToDictionary(
            casing => casing.ToString().ToLowerInvariant(),
            casing => casing == TextCasing.Original ? metrics.F1
                : Evaluator.Evaluate(model, Recasing.Apply(validation, casing), Decoding.Constrained).Metrics.F1);
        return mixed.Manifest with
        {
            Training = mixed.Manifest.Training with
            {
                ValidationMetrics = Trainer.ValidationScores(metrics, byCasing),
                CreatedAt = DateTimeOffset.UtcNow,
            },
        };
    }
}
