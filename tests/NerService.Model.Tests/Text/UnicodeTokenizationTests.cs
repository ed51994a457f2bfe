using NerService.Model.Text;

namespace NerService.Model.Tests.Text;

public class UnicodeTokenizationTests
{
    private static string[] Tokens(string text) => NerTokenizer.Default.Tokenize(text).Select(token => token.Text).ToArray();

    [Fact]
    public void CombiningMarksStayWithTheirBaseCharacter() =>
        Assert.Equal(["Zu\u0308rich", "e\u0301", ".\u0301"], Tokens("Zu\u0308rich e\u0301 .\u0301"));

    [Fact]
    public void EmojiSequencesStayWhole()
    {
        const string family = "👨‍👩‍👧";
        const string thumbsUpMediumSkin = "👍🏽";
        const string germanFlag = "🇩🇪";
        const string heartWithVariationSelector = "❤️";
        const string keycapOne = "1️⃣";
        Assert.Equal([family, thumbsUpMediumSkin, germanFlag, heartWithVariationSelector, keycapOne, "ok"],
            Tokens($"{family}{thumbsUpMediumSkin}{germanFlag} {heartWithVariationSelector} {keycapOne} ok"));
    }

    [Fact]
    public void CjkAndRightToLeftWordsAreTokens() =>
        Assert.Equal(["東京都", "に", "、", "שלום", "،", "مرحبا", "!"], Tokens("東京都 に、 שלום، مرحبا!"));

    [Fact]
    public void SupplementaryPlaneLettersAreNotSplit() => Assert.Equal(["𠀀", "𝐀"], Tokens("𠀀𝐀"));

    [Fact]
    public void ALoneSurrogateIsATokenOfItsOwn() =>
        Assert.Equal(["a", "\uD800", "b", "\uDC00"], Tokens("a\uD800b \uDC00"));

    [Fact]
    public void ZeroWidthSpacesAndBidiMarksSeparateTokensWhileJoinersStay() =>
        Assert.Equal(["one", "two", "three", "क्\u200Dष"], Tokens("one\u200Btwo\u200E\u202Bthree\u202C \u0915\u094D\u200D\u0937"));

    [Fact]
    public void ControlCharactersAndLineBreaksSeparateTokens() =>
        Assert.Equal(["a", "b", "c", "d"], Tokens("a\0b\r\nc\u0085d"));
}
