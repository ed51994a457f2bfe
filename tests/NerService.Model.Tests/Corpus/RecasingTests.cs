using CsCheck;
using NerService.Model.Corpus;

namespace NerService.Model.Tests.Corpus;

public class RecasingTests
{
    private static readonly ConllSentence Sentence = new(
        ["EU", "rejects", "German", "call", "to", "boycott", "McDonald", "'s", "U.S.", "lamb", "."],
        ["S-ORG", "O", "S-MISC", "O", "O", "O", "S-ORG", "O", "S-LOC", "O", "O"]);

    [Theory]
    [InlineData(TextCasing.Original, "EU rejects German call to boycott McDonald 's U.S. lamb .")]
    [InlineData(TextCasing.Lower, "eu rejects german call to boycott mcdonald 's u.s. lamb .")]
    [InlineData(TextCasing.Upper, "EU REJECTS GERMAN CALL TO BOYCOTT MCDONALD 'S U.S. LAMB .")]
    [InlineData(TextCasing.Title, "Eu Rejects German Call To Boycott Mcdonald 's U.s. Lamb .")]
    public void EachCasingRewritesTheTokensAndKeepsTheGoldTags(TextCasing casing, string expected)
    {
        var recased = Recasing.Apply(Sentence, casing);
        Assert.Equal(expected, string.Join(' ', recased.Tokens));
        Assert.Equal(Sentence.Tags, recased.Tags);
    }

    [Fact]
    public void RecasingNeverChangesATokensLengthSoOffsetsStayValid()
    {
        // Any UTF-16 text, including letters whose case pairs live outside the Basic Multilingual Plane (𐐀/𐐨).
        Gen.String[Gen.Char.AlphaNumeric, 0, 12].Select(Gen.Char['\u0100', '\u04FF'].Array[0, 4], (a, b) => a + new string(b) + "𐐀𐐨ß")
            .Sample(token =>
            {
                foreach (var casing in Recasing.All)
                    Assert.Equal(token.Length, Recasing.Apply(token, casing).Length);
            }, iter: 2000);
    }

    [Fact]
    public void RecasedDocumentsKeepTheirEntitiesAtTheSameCharacterOffsets()
    {
        var document = new[] { Sentence, Sentence with { Tokens = ["(", "Reuters", ")", "Paris", "said", "."], Tags = ["O", "S-ORG", "O", "S-LOC", "O", "O"] } };
        var (text, offsets) = RunningText.Detokenize(document, " ");
        foreach (var casing in Recasing.All)
        {
            var (recasedText, recasedOffsets) = RunningText.Detokenize([.. document.Select(s => Recasing.Apply(s, casing))], " ");
            Assert.Equal(text.Length, recasedText.Length);
            Assert.Equal(offsets, recasedOffsets);
            Assert.Equal(text.ToUpperInvariant(), recasedText.ToUpperInvariant());
        }
    }
}
