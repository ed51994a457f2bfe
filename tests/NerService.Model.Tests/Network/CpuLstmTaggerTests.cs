using NerService.Model.Features;
using NerService.Model.Network;
using static TorchSharp.torch;

namespace NerService.Model.Tests.Network;

/// <summary>The C# forward pass must give what libtorch's gives, token for token, whatever the sizes.</summary>
public class CpuLstmTaggerTests
{
    private static readonly string[][] Sentences =
    [
        .. InferencePathTests.Sentences,
        ["ÄÖÜ", "naïve", "🙂", "x", "Schleswig-Holstein-Internationalisation"],
        [],
        ["a"],
    ];

    [Theory]
    [InlineData(true, 8, 3, true)]
    [InlineData(true, 8, 3, false)]
    [InlineData(false, 8, 3, true)]
    [InlineData(true, 5, 4, false)]
    [InlineData(true, 64, 3, true)]
    [InlineData(true, 64, 3, false)]
    public void TheCpuTaggerGivesTheLogProbabilitiesOfLibtorchsForwardPass(bool bidirectional, int hidden, int kernelWidth, bool wordGateTable)
    {
        var (network, builder, words, characters) = Network(bidirectional, hidden, kernelWidth);
        var tagger = CpuLstmTagger.TryCreate(network, words, characters, CPU, wordGateTableBytes: wordGateTable ? long.MaxValue : 0);
        Assert.NotNull(tagger);
        Assert.Equal(wordGateTable, tagger.HasWordGateTable);
        using var _ = inference_mode();
        using var scope = NewDisposeScope();
        using var batch = builder.Build(Sentences, CPU);
        var expected = network.TokenLogProbabilities(batch).data<float>().ToArray();

        var actual = tagger.LogProbabilities(Sentences);

        Assert.Equal(Sentences.Length, actual.Length);
        var tags = network.Config.TagCount;
        var offset = 0;
        for (var s = 0; s < Sentences.Length; s++)
        {
            Assert.Equal(Sentences[s].Length * tags, actual[s].Length);
            for (var i = 0; i < actual[s].Length; i++)
            {
                var difference = Math.Abs(expected[offset + i] - actual[s][i]);
                Assert.True(difference < 1e-5, $"sentence {s}, token {i / tags}, tag {i % tags}: differs by {difference}");
            }
            offset += actual[s].Length;
        }
    }

    [Fact]
    public void TheWordGateTableChangesNoScoreByABit()
    {
        var (network, _, words, characters) = Network(true, 8, 3);
        var withTable = CpuLstmTagger.TryCreate(network, words, characters, CPU, wordGateTableBytes: long.MaxValue)!;
        var without = CpuLstmTagger.TryCreate(network, words, characters, CPU, wordGateTableBytes: 0)!;
        Assert.Equal(without.LogProbabilities(Sentences), withTable.LogProbabilities(Sentences));
    }

    [Fact]
    public void ASentenceGetsTheSameScoresAloneAsInABatch()
    {
        var (network, _, words, characters) = Network(true, 8, 3);
        var tagger = CpuLstmTagger.TryCreate(network, words, characters, CPU)!;
        var together = tagger.LogProbabilities(Sentences);
        for (var s = 0; s < Sentences.Length; s++)
            Assert.Equal(together[s], tagger.LogProbabilities([Sentences[s]])[0]);
    }

    [Fact]
    public void OnlyASingleLayerLstmOnTheCpuHasOne()
    {
        var (lstm, _, words, characters) = Network(true, 8, 3);
        Assert.NotNull(CpuLstmTagger.TryCreate(lstm, words, characters, CPU));
        var (gru, _) = InferencePathTests.Network(RecurrentCell.Gru, true, 1, 3);
        Assert.Null(CpuLstmTagger.TryCreate(gru, words, characters, CPU));
        var (twoLayers, _) = InferencePathTests.Network(RecurrentCell.Lstm, true, 2, 3);
        Assert.Null(CpuLstmTagger.TryCreate(twoLayers, words, characters, CPU));
    }

    private static (TaggerNetwork Network, BatchBuilder Builder, WordVocabulary Words, CharVocabulary Characters) Network(bool bidirectional, int hidden, int kernelWidth)
    {
        var small = InferencePathTests.SmallNetwork(RecurrentCell.Lstm, bidirectional, 1, kernelWidth, hidden, seed: 11);
        // Untrained weights are small: widen them so that the gates and the tag layer work far from zero.
        using (no_grad())
        {
            foreach (var parameter in small.Network.parameters())
                parameter.mul_(3);
        }
        return small;
    }
}
