using NerService.Model.Features;
using NerService.Model.Network;
using static TorchSharp.torch;

namespace NerService.Model.Tests.Network;

/// <summary>
/// Inference reads only the real tokens and computes the character features by table lookup instead of a
/// convolution; training keeps the plain forward pass. Both must give the same numbers.
/// </summary>
public class InferencePathTests
{
    internal static readonly string[][] Sentences =
    [
        ["John", "Smith", "flew", "to", "London", "."],
        ["EU"],
        ["Internationalisation", "of", "Schleswig-Holstein", "'s", "counterintelligence", "units", "in", "1996", "."],
        ["the", "Paris", "talks"],
        ["the", "Paris", "talks"],
    ];

    [Theory]
    [InlineData(RecurrentCell.Lstm, true, 1, 3)]
    [InlineData(RecurrentCell.Gru, true, 2, 3)]
    [InlineData(RecurrentCell.Rnn, false, 1, 5)]
    [InlineData(RecurrentCell.Lstm, true, 1, 4)]
    public void InferenceGivesEveryRealTokenTheLogSoftmaxOfTheTrainingForwardPass(RecurrentCell cell, bool bidirectional, int layers, int kernelWidth)
    {
        var (network, builder) = Network(cell, bidirectional, layers, kernelWidth);
        using var _ = inference_mode();
        using var scope = NewDisposeScope();
        using var batch = builder.Build(Sentences, CPU);
        var expected = network.call(batch).log_softmax(2);                   // [batch, time, tags]
        var actual = network.TokenLogProbabilities(batch);                    // [tokens, tags]

        Assert.Equal(Sentences.Sum(s => s.Length), actual.shape[0]);
        var row = 0;
        for (var b = 0; b < Sentences.Length; b++)
        {
            for (var t = 0; t < Sentences[b].Length; t++, row++)
            {
                var difference = (expected[b, t] - actual[row]).abs().max().item<float>();
                Assert.True(difference < 1e-5, $"sentence {b}, token {t}: differs by {difference}");
            }
        }
    }

    [Fact]
    public void TheProfilersThreePartsTogetherAreExactlyTheInferencePath()
    {
        // NerService.Benchmarks profile times the parts one by one: they must compute what prediction computes.
        var (network, builder) = Network(RecurrentCell.Lstm, true, 1, 3);
        using var _ = inference_mode();
        using var scope = NewDisposeScope();
        using var batch = builder.Build(Sentences, CPU);
        var whole = network.TokenLogProbabilities(batch);
        var parts = network.TagLogProbabilities(network.EncodedTokens(network.InferenceInput(batch), batch));
        Assert.True(whole.allclose(parts, rtol: 0, atol: 0));
    }

    [Fact]
    public void OneSentenceAloneIsReadWithoutPacking()
    {
        var (network, builder) = Network(RecurrentCell.Lstm, true, 1, 3);
        using var _ = inference_mode();
        using var scope = NewDisposeScope();
        using var batch = builder.Build([Sentences[2]], CPU);
        var expected = network.call(batch).log_softmax(2)[0];
        var actual = network.TokenLogProbabilities(batch);
        Assert.True((expected - actual).abs().max().item<float>() < 1e-5);
    }

    [Fact]
    public void AnEmptySentenceGetsNoRowsAloneOrInABatch()
    {
        var (network, builder) = Network(RecurrentCell.Lstm, true, 1, 3);
        using var _ = inference_mode();
        using var scope = NewDisposeScope();
        using var alone = builder.Build([[]], CPU);
        using var together = builder.Build([[], Sentences[0], []], CPU);
        Assert.Equal(0, network.TokenLogProbabilities(alone).shape[0]);
        Assert.Equal(Sentences[0].Length, network.TokenLogProbabilities(together).shape[0]);
    }

    [Fact]
    public void ABatchOfShortWordsPadsCharactersOnlyAsFarAsTheConvolutionReaches()
    {
        var (network, builder) = Network(RecurrentCell.Lstm, true, 1, 3);
        using var scope = NewDisposeScope();
        using var shortWords = builder.Build([["EU", "of", "the"]], CPU);
        using var longWord = builder.Build([["EU", "of", "the", "Internationalisation"]], CPU);
        // The longest word (3) plus the kernel's reach (2): past that, padding only repeats the CNN's bias.
        Assert.Equal(5, shortWords.Chars.shape[1]);
        Assert.Equal(network.Config.MaxWordCharacters, longWord.Chars.shape[1]);
    }

    internal static (TaggerNetwork Network, BatchBuilder Builder) Network(RecurrentCell cell, bool bidirectional, int layers, int kernelWidth)
    {
        var (network, builder, _, _) = SmallNetwork(cell, bidirectional, layers, kernelWidth, hidden: 8, seed: 5);
        return (network, builder);
    }

    /// <summary>A small random network in evaluation mode, with its vocabularies (a few words; printable ASCII and Ä Ö Ü ï).</summary>
    internal static (TaggerNetwork Network, BatchBuilder Builder, WordVocabulary Words, CharVocabulary Characters) SmallNetwork(
        RecurrentCell cell, bool bidirectional, int layers, int kernelWidth, int hidden, int seed)
    {
        manual_seed(seed);
        var words = new WordVocabulary(["<pad>", "<unk>", "john", "smith", "london", "paris", "the", "of", "."]);
        var characters = new CharVocabulary(new string(Enumerable.Range(32, 95).Select(c => (char)c).ToArray()) + "ÄÖÜï");
        var config = new NetworkConfig
        {
            WordVocabularySize = words.Count,
            WordDimension = 6,
            CharVocabularySize = characters.Count,
            CharDimension = 5,
            CharFilters = 7,
            CharKernelWidth = kernelWidth,
            CasingDimension = 3,
            Cell = cell,
            Bidirectional = bidirectional,
            Layers = layers,
            HiddenSize = hidden,
            TagCount = 9,
        };
        var network = new TaggerNetwork(config);
        network.eval();
        return (network, new BatchBuilder(words, characters, config), words, characters);
    }
}
