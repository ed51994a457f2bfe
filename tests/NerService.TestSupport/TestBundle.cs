using NerService.Model.Bundles;
using NerService.Model.Corpus;
using NerService.Model.Decoding;
using NerService.Model.Features;
using NerService.Model.Network;

namespace NerService.TestSupport;

/// <summary>
/// A tiny, randomly initialised bundle (PER, LOC, ORG, MISC in IOB2) for tests and demos that need a real
/// bundle but not a trained one: it loads and runs exactly like a trained model, with meaningless output.
/// </summary>
public static class TestBundle
{
    public static string Create(string path, int seed = 7, string name = "test-bundle", string version = "0.0.1")
    {
        TorchSharp.torch.manual_seed(seed);
        var words = new List<string> { WordVocabulary.PaddingToken, WordVocabulary.UnknownToken };
        words.AddRange(["the", "in", "of", "to", "said", "john", "smith", "london", "paris", "reuters", "germany", "eu", "."]);
        var characters = new string(Enumerable.Range(32, 95).Select(c => (char)c).ToArray());
        var tags = TagSet.For(TaggingScheme.Iob2, ["LOC", "MISC", "ORG", "PER"]);
        var config = new NetworkConfig
        {
            WordVocabularySize = words.Count,
            WordDimension = 8,
            CharVocabularySize = characters.Length + 2,
            CharDimension = 8,
            CharFilters = 8,
            CasingDimension = 4,
            HiddenSize = 16,
            TagCount = tags.Count,
            Dropout = 0,
        };
        var manifest = new BundleManifest
        {
            Name = name,
            Version = version,
            Scheme = tags.Scheme,
            Tags = tags.Tags,
            Network = config,
            Training = new TrainingMetadata { ValidationMetrics = new Dictionary<string, double> { ["f1"] = 0 } },
        };
        using var bundle = new ModelBundle(manifest, new WordVocabulary(words), new CharVocabulary(characters), new TaggerNetwork(config));
        bundle.Save(path);
        return path;
    }
}
