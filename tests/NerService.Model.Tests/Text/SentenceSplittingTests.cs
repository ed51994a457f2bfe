using NerService.Model.Text;

namespace NerService.Model.Tests.Text;

public class SentenceSplittingTests
{
    private static string[] Sentences(string text) =>
        NerTokenizer.Default.SplitSentences(text).Select(sentence => string.Join(' ', sentence.Select(token => token.Text))).ToArray();

    [Fact]
    public void AFullStopBeforeACapitalEndsASentence() =>
        Assert.Equal(["He left .", "She stayed ."], Sentences("He left. She stayed."));

    [Fact]
    public void AFullStopBeforeADigitOrAnOpeningQuoteEndsASentence() =>
        Assert.Equal(["He left .", "3 stayed .", "\" Why ? \" she asked ."], Sentences("He left. 3 stayed. \"Why?\" she asked."));

    [Fact]
    public void AFullStopBeforeALowercaseWordDoesNotEndASentence() =>
        Assert.Equal(["The price was 3 p . a share ."], Sentences("The price was 3 p. a share."));

    [Fact]
    public void QuestionMarksExclamationMarksAndTheirRunsEndASentence() =>
        Assert.Equal(["Really ?!", "Yes !", "Well ...", "Fine ?"], Sentences("Really?! Yes! Well... Fine?"));

    [Fact]
    public void ClosingQuotesAndBracketsAfterTheFinalMarkBelongToTheEndingSentence() =>
        Assert.Equal(["He said \" go . \"", "( It rained . )", "They went ."],
            Sentences("He said \"go.\" (It rained.) They went."));

    [Fact]
    public void AnAbbreviationBeforeACapitalDoesNotEndTheSentence() =>
        Assert.Equal(["The U.S. Senate and Mr. Smith met Sen. Dole ."], Sentences("The U.S. Senate and Mr. Smith met Sen. Dole."));

    [Fact]
    public void ALineBreakAlwaysEndsASentence() =>
        Assert.Equal(["SOCCER - JAPAN GET LUCKY WIN", "TOKYO 1996-12-06", "Japan began the defence of their title ."],
            Sentences("SOCCER - JAPAN GET LUCKY WIN\r\nTOKYO 1996-12-06\n\nJapan began the defence of their title."));

    [Fact]
    public void CaselessScriptsEndASentenceAtTheirFullStop() =>
        Assert.Equal(["東京 に 行った 。", "大阪 も 。"], Sentences("東京 に 行った。 大阪 も。"));

    [Fact]
    public void TextWithoutTokensHasNoSentences()
    {
        Assert.Empty(NerTokenizer.Default.SplitSentences(""));
        Assert.Empty(NerTokenizer.Default.SplitSentences("  \r\n \t"));
    }

    [Fact]
    public void TextWithoutFinalPunctuationIsOneSentence() => Assert.Equal(["no full stop here"], Sentences("no full stop here"));
}
