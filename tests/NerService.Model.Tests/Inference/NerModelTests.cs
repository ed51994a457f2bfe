using NerService.Model.Bundles;
using NerService.Model.Inference;

namespace NerService.Model.Tests.Inference;

public sealed class NerModelTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("ner-model-").FullName;
    private readonly NerModel model;

    public NerModelTests()
    {
        model = NerModel.Load(TestBundle.Create(Path.Combine(directory, "test.bundle")));
    }

    public void Dispose()
    {
        model.Dispose();
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public void WithDocumentConsistencyOffATextDecodesExactlyAsItsSentencesAlone()
    {
        var text = "Smith met John Smith in Paris. Paris said Smith and Leeds met Leeds. Leeds won.";
        var prepared = model.Prepare(text);
        var sentences = prepared.Sentences.Select(s => (IReadOnlyList<string>)s.Select(t => t.Text).ToArray()).ToArray();
        var scores = model.PredictLogProbabilities(sentences);
        var alone = scores.Select(s => model.Decode(s, NerService.Model.Inference.Decoding.Constrained)).ToArray();
        Assert.Equal(alone, model.DecodeText(sentences, scores, NerService.Model.Inference.Decoding.Constrained));

        var entities = model.Tag([text], includeTokens: true)[0];
        var tokens = entities.Tokens!.Select(t => t.Tag).ToArray();
        Assert.Equal(alone.SelectMany(path => path.Select(k => model.TagSet.Tags[k])), tokens);
    }

    [Fact]
    public void ACalibrationTemperatureChangesEntityProbabilitiesButNeverTheTags()
    {
        string[] texts = ["John Smith said in London that the EU and Reuters met in Paris .", "Germany said the the the london paris john ."];
        using var bundle = ModelBundle.Load(Path.Combine(directory, "test.bundle"));
        var calibratedPath = Path.Combine(directory, "calibrated.bundle");
        bundle.Save(calibratedPath, bundle.Manifest with { Calibration = new ProbabilityCalibration { Temperature = 3 } });
        using var calibrated = NerModel.Load(calibratedPath);
        Assert.Equal(3, calibrated.Temperature);
        using var sharp = new NerModel(ModelBundle.Load(calibratedPath), TorchSharp.torch.CPU) { Temperature = 0.25 };

        var plain = model.Tag(texts, includeTokens: true);
        var warm = calibrated.Tag(texts, includeTokens: true);
        var cold = sharp.Tag(texts, includeTokens: true);

        for (var i = 0; i < texts.Length; i++)
        {
            foreach (var other in new[] { warm[i], cold[i] })
            {
                Assert.Equal(plain[i].Tokens!.Select(t => t.Tag), other.Tokens!.Select(t => t.Tag));
                Assert.Equal(plain[i].Entities.Select(e => (e.Label, e.Start, e.End)), other.Entities.Select(e => (e.Label, e.Start, e.End)));
            }
        }
        var entities = plain.SelectMany(r => r.Entities).ToList();
        Assert.NotEmpty(entities);
        var warmScores = warm.SelectMany(r => r.Entities).Select(e => e.Score).ToList();
        // An untrained model's probabilities are small and flat; compare them by ratio.
        Assert.Contains(Enumerable.Range(0, entities.Count), e => Math.Abs(Math.Log(entities[e].Score / warmScores[e])) > 0.01);
    }

    [Fact]
    public void AlternativesAreOtherReadingsOfTheEntityTokensWithProbabilities()
    {
        const string text = "John Smith said in London that the EU and Reuters met in Paris .";
        var prepared = model.Prepare(text);
        var result = model.Tag([new TextToTag(prepared, IncludeAlternatives: true)], NerService.Model.Inference.Decoding.Constrained)[0];
        var plain = model.Tag([text])[0];

        Assert.Null(plain.PossibleEntities);
        Assert.All(plain.Entities, e => Assert.Null(e.Alternatives));
        Assert.NotNull(result.PossibleEntities);
        Assert.Equal(plain.Entities, result.Entities.Select(e => e with { Alternatives = null }));
        foreach (var entity in result.Entities)
        {
            Assert.NotNull(entity.Alternatives);
            foreach (var alternative in entity.Alternatives)
            {
                Assert.NotEqual((entity.Label, entity.Start, entity.End), (alternative.Label, alternative.Start, alternative.End));
                Assert.True(alternative.Start < entity.End && entity.Start < alternative.End, "an alternative reads some of the entity's tokens");
                Assert.Equal(text[alternative.Start..alternative.End], alternative.Text);
                Assert.InRange(alternative.Probability, (float)NerModel.MinAlternativeProbability, 1f);
            }
            Assert.True(entity.Score + entity.Alternatives.Where(a => (a.Start, a.End) == (entity.Start, entity.End)).Sum(a => a.Probability) <= 1.0001f);
        }
        foreach (var possible in result.PossibleEntities)
            Assert.DoesNotContain(result.Entities, e => e.Start < possible.End && possible.Start < e.End);
    }

    [Fact]
    public void AnOverlongSentenceIsTaggedInWindowsToItsLastToken()
    {
        var words = Enumerable.Range(0, 950).Select(i => i % 7 == 0 ? "London" : "the").ToArray();
        var text = string.Join(' ', words);
        var result = model.Tag([text], includeTokens: true)[0];
        Assert.Equal(1, result.SentenceCount);
        Assert.Equal(950, result.Tokens!.Count);
        Assert.Equal(text.Length, result.Tokens[^1].End);
    }

    [Fact]
    public void NarrowWindowsStillScoreEveryTokenOfASentence()
    {
        string[] sentence = ["John", "Smith", "flew", "to", "London", "."];
        using var narrow = new NerModel(ModelBundle.Load(Path.Combine(directory, "test.bundle")), TorchSharp.torch.CPU)
        {
            MaxSentenceTokens = 4,
            WindowOverlap = 2,
        };
        var windowed = narrow.PredictLogProbabilities([sentence])[0];
        var whole = model.PredictLogProbabilities([sentence])[0];
        Assert.Equal(whole.Length, windowed.Length);
        // Every token is scored, and scores stay distributions; a token's score changes only through the context it lost.
        for (var t = 0; t < sentence.Length; t++)
            Assert.Equal(1.0, windowed.Skip(t * model.TagSet.Count).Take(model.TagSet.Count).Sum(v => Math.Exp(v)), 4);
        Assert.NotEqual(whole, windowed);
    }

    [Fact]
    public void EntityOffsetsSliceTheOriginalTextEvenAroundEmojiAndCrLf()
    {
        const string text = "👋🏽 John Smith\r\nvisited  London 🇬🇧.\r\n\r\nReuters";
        var result = model.Tag([text], includeTokens: true)[0];
        foreach (var token in result.Tokens!)
            Assert.Equal(token.Text, text[token.Start..token.End]);
        foreach (var entity in result.Entities)
            Assert.Equal(entity.Text, text[entity.Start..entity.End]);
    }

    [Fact]
    public void ATextGetsTheSameScoresWhateverItSharesABatchWith()
    {
        const string text = "John Smith flew to London.";
        var alone = model.Tag([text], includeTokens: true)[0];
        var shared = model.Tag([text, "Internationalisation of Schleswig-Holstein's counterintelligence."], includeTokens: true)[0];

        // Equal to float precision (other batch shapes add in another order), not merely the same tags.
        Assert.Equal(alone.Tokens!.Select(t => t.Tag), shared.Tokens!.Select(t => t.Tag));
        Assert.Equal(alone.Tokens!.Select(t => t.Probability), shared.Tokens!.Select(t => t.Probability), (a, b) => Math.Abs(a - b) < 1e-6);
    }

    [Fact]
    public void ThreadsTaggingSideBySideGetTheSameScoresAsOneThreadAlone()
    {
        string[][] sentences =
        [
            ["John", "Smith", "flew", "to", "London", "."],
            ["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."],
            ["Peter", "Blackburn"],
            .. Enumerable.Range(3, 40).Select(n => Enumerable.Range(0, n).Select(i => i % 5 == 0 ? "Paris" : "the").ToArray()),
        ];
        // Each thread tags its own share, so that any state shared by mistake would mix different sentences.
        var shares = Enumerable.Range(0, 4).Select(t => sentences.Where((_, i) => i % 4 == t).ToArray()).ToArray();
        var expected = shares.Select(share => model.PredictLogProbabilities(share)).ToArray();

        var results = new float[shares.Length][][];
        var threads = Enumerable.Range(0, shares.Length).Select(t => new Thread(() =>
        {
            for (var round = 0; round < 20; round++)
                results[t] = model.PredictLogProbabilities(shares[t]);
        })).ToArray();
        foreach (var thread in threads)
            thread.Start();
        foreach (var thread in threads)
            thread.Join();

        for (var t = 0; t < shares.Length; t++)
            Assert.Equal(expected[t], results[t]);
    }

    [Fact]
    public void TaggingManySentencesInALoopKeepsNoTensorsAlive()
    {
        var before = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (var i = 0; i < 50; i++)
            model.Tag(["John Smith flew to London.", "EU rejects German call to boycott British lamb."]);
        Assert.Equal(before, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
