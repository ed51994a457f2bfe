using CsCheck;
using NerService.Model.Corpus;
using static NerService.Model.Tests.Corpus.TagSequenceTests;

namespace NerService.Model.Tests.Corpus;

public class EntityMetricsTests
{
    private static (IReadOnlyList<string> Gold, IReadOnlyList<string> Predicted) Pair(string gold, string predicted) =>
        (Tags(gold), Tags(predicted));

    /// <summary>
    /// Three sentences with a boundary error (New York / New), a type error (Apple ORG / LOC), an I- after O
    /// that conlleval counts as a chunk (Mary), a missed MISC and a chunk that runs too long (European Union met).
    /// </summary>
    private static readonly (IReadOnlyList<string> Gold, IReadOnlyList<string> Predicted)[] ThreeSentences =
    [
        // John Smith lives in New York .
        Pair("B-PER I-PER O O B-LOC I-LOC O", "B-PER I-PER O O B-LOC O O"),
        // Apple hired Mary in Dutch
        Pair("B-ORG O B-PER O B-MISC", "B-LOC O I-PER O O"),
        // The European Union met in Brussels
        Pair("O B-ORG I-ORG O O B-LOC", "O B-ORG I-ORG I-ORG O B-LOC"),
    ];

    [Fact]
    public void HandComputedScoresMatchWhatConllevalPrints()
    {
        var metrics = EntityMetrics.Compute(ThreeSentences, TaggingScheme.Iob2);

        // Gold: PER 2, LOC 2, ORG 2, MISC 1. Predicted: PER 2, LOC 3, ORG 1. Correct: John Smith, Mary, Brussels.
        Assert.Equal(new ChunkScores(3, 7, 6), metrics.Overall);
        Assert.Equal(3.0 / 6, metrics.Precision, 12);
        Assert.Equal(3.0 / 7, metrics.Recall, 12);
        Assert.Equal(6.0 / 13, metrics.F1, 12);
        Assert.Equal(18, metrics.TokenCount);
        Assert.Equal(13, metrics.CorrectTokenCount);
        Assert.Equal(["LOC", "MISC", "ORG", "PER"], metrics.ByType.Keys);
        Assert.Equal(new ChunkScores(1, 2, 3), metrics.ByType["LOC"]);
        Assert.Equal(new ChunkScores(0, 1, 0), metrics.ByType["MISC"]);
        Assert.Equal(new ChunkScores(0, 2, 1), metrics.ByType["ORG"]);
        Assert.Equal(new ChunkScores(2, 2, 2), metrics.ByType["PER"]);
        Assert.Equal(0.4, metrics.ByType["LOC"].F1, 12);

        // The output of conlleval.pl (version 2004-01-26) on these three sentences.
        Assert.Equal(
            """
            processed 18 tokens with 7 phrases; found: 6 phrases; correct: 3.
            accuracy:  72.22%; precision:  50.00%; recall:  42.86%; FB1:  46.15
                          LOC: precision:  33.33%; recall:  50.00%; FB1:  40.00  3
                         MISC: precision:   0.00%; recall:   0.00%; FB1:   0.00  0
                          ORG: precision:   0.00%; recall:   0.00%; FB1:   0.00  1
                          PER: precision: 100.00%; recall: 100.00%; FB1: 100.00  2

            """.ReplaceLineEndings("\n"),
            metrics.ToConllevalReport());
    }

    [Fact]
    public void TheSameEntitiesInBioesScoreTheSame()
    {
        var bioes = ThreeSentences.Select(s => Pair(
            string.Join(' ', TagSequence.Convert(s.Gold, TaggingScheme.Iob2, TaggingScheme.Bioes)),
            string.Join(' ', TagSequence.Convert(s.Predicted, TaggingScheme.Iob2, TaggingScheme.Bioes))));

        var metrics = EntityMetrics.Compute(bioes, TaggingScheme.Bioes);

        Assert.Equal(new ChunkScores(3, 7, 6), metrics.Overall);
    }

    [Fact]
    public void APerfectPredictionScoresOne()
    {
        var metrics = EntityMetrics.Compute([Pair("B-PER I-PER O B-LOC", "B-PER I-PER O B-LOC")], TaggingScheme.Iob2);

        Assert.Equal(1.0, metrics.F1);
        Assert.Equal(1.0, metrics.TokenAccuracy);
    }

    [Fact]
    public void PredictingNothingGivesZeroPrecisionLikeConlleval()
    {
        var metrics = EntityMetrics.Compute([Pair("B-PER I-PER O", "O O O")], TaggingScheme.Iob2);

        Assert.Equal(new ChunkScores(0, 1, 0), metrics.Overall);
        Assert.Equal(0.0, metrics.Precision);
        Assert.Equal(0.0, metrics.Recall);
        Assert.Equal(0.0, metrics.F1);
    }

    [Fact]
    public void NoEntitiesAnywhereGivesZeroScoresButFullAccuracy()
    {
        var metrics = EntityMetrics.Compute([Pair("O O", "O O")], TaggingScheme.Iob2);

        Assert.Equal(new ChunkScores(0, 0, 0), metrics.Overall);
        Assert.Equal(0.0, metrics.F1);
        Assert.Equal(1.0, metrics.TokenAccuracy);
        Assert.Empty(metrics.ByType);
        Assert.Equal(0.0, EntityMetrics.Compute([], TaggingScheme.Iob2).TokenAccuracy);
    }

    [Fact]
    public void ChunksDoNotRunAcrossSentences()
    {
        // One PER at the end of a sentence and one at the start of the next: two chunks, both correct.
        var metrics = EntityMetrics.Compute([Pair("O I-PER", "O I-PER"), Pair("I-PER O", "I-PER O")], TaggingScheme.Iob1);

        Assert.Equal(new ChunkScores(2, 2, 2), metrics.Overall);
    }

    [Fact]
    public void GoldAndPredictedOfDifferentLengthsAreRejected()
    {
        Assert.Throws<ArgumentException>(() => EntityMetrics.Compute([Pair("O O", "O")], TaggingScheme.Iob2));
    }

    [Fact]
    public void ScoresEqualConllevalsOwnCountingOnAnyIobTags()
    {
        Gen.Select(IobTags, IobTags, Gen.Bool.Array[12]).Sample((gold, guesses, keepGold) =>
        {
            // Predictions that mostly agree with the gold tags, so that correct chunks are common.
            var predicted = gold.Select((tag, i) => keepGold[i] || i >= guesses.Length ? tag : guesses[i]).ToArray();

            var metrics = EntityMetrics.Compute([(gold, predicted)], TaggingScheme.Iob2);

            var (correct, foundGold, foundPredicted) = ConllevalPerl.Count(gold, predicted);
            Assert.Equal(new ChunkScores(correct, foundGold, foundPredicted), metrics.Overall);
        });
    }

    /// <summary>
    /// A line-by-line port of conlleval.pl's counting loop (its state machine with <c>inCorrect</c>, chunks
    /// counted as correct when both end), the oracle that span matching must agree with.
    /// </summary>
    private static class ConllevalPerl
    {
        public static (int Correct, int FoundGold, int FoundPredicted) Count(string[] gold, string[] predicted)
        {
            int correctChunks = 0, foundCorrect = 0, foundGuessed = 0;
            var inCorrect = false;
            (string Tag, string Type) lastCorrect = ("O", ""), lastGuessed = ("O", "");
            for (var i = 0; i <= gold.Length; i++)
            {
                // The blank line after the sentence reads as O O.
                var correct = Split(i < gold.Length ? gold[i] : "O");
                var guessed = Split(i < gold.Length ? predicted[i] : "O");
                if (inCorrect)
                {
                    var correctEnds = EndOfChunk(lastCorrect, correct);
                    var guessedEnds = EndOfChunk(lastGuessed, guessed);
                    if (correctEnds && guessedEnds && lastGuessed.Type == lastCorrect.Type)
                    {
                        inCorrect = false;
                        correctChunks++;
                    }
                    else if (correctEnds != guessedEnds || guessed.Type != correct.Type)
                    {
                        inCorrect = false;
                    }
                }

                var correctStarts = StartOfChunk(lastCorrect, correct);
                var guessedStarts = StartOfChunk(lastGuessed, guessed);
                if (correctStarts && guessedStarts && guessed.Type == correct.Type)
                {
                    inCorrect = true;
                }

                foundCorrect += correctStarts ? 1 : 0;
                foundGuessed += guessedStarts ? 1 : 0;
                (lastCorrect, lastGuessed) = (correct, guessed);
            }

            return (correctChunks + (inCorrect ? 1 : 0), foundCorrect, foundGuessed);
        }

        private static (string Tag, string Type) Split(string tag) => tag == "O" ? ("O", "") : (tag[..1], tag[2..]);

        private static bool EndOfChunk((string Tag, string Type) previous, (string Tag, string Type) current) =>
            (previous.Tag is "B" or "I" && current.Tag is "B" or "O") || (previous.Tag != "O" && previous.Type != current.Type);

        private static bool StartOfChunk((string Tag, string Type) previous, (string Tag, string Type) current) =>
            (current.Tag == "B") || (previous.Tag == "O" && current.Tag == "I") || (current.Tag != "O" && previous.Type != current.Type);
    }
}
