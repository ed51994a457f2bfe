using NerService.Model.Text;

namespace NerService.Model.Tests.Text;

public class TokenizationConventionTests
{
    private static string[] Tokens(string text) => NerTokenizer.Default.Tokenize(text).Select(token => token.Text).ToArray();

    // Sentences of CoNLL-2003 train.txt as running text, with the corpus's own tokens.
    [Theory]
    [InlineData("EU rejects German call to boycott British lamb.", "EU rejects German call to boycott British lamb .")]
    [InlineData("BRUSSELS 1996-08-22", "BRUSSELS 1996-08-22")]
    [InlineData("Germany imported 47,600 sheep from Britain last year, nearly half of total imports.",
        "Germany imported 47,600 sheep from Britain last year , nearly half of total imports .")]
    [InlineData("A U.S.-led air force in southern Turkey protects Iraqi Kurds from possible attacks by Baghdad troops.",
        "A U.S.-led air force in southern Turkey protects Iraqi Kurds from possible attacks by Baghdad troops .")]
    [InlineData("He (Mind Games) was going as well as any of them one and a half furlongs (300 metres) out but he just didn't quicken.\"",
        "He ( Mind Games ) was going as well as any of them one and a half furlongs ( 300 metres ) out but he just did n't quicken . \"")]
    [InlineData("Alex O'Brien (U.S.) beat Byron Black (Zimbabwe) 7-6 (7-2) 6-2",
        "Alex O'Brien ( U.S. ) beat Byron Black ( Zimbabwe ) 7-6 ( 7-2 ) 6-2")]
    [InlineData("TENNIS - REVISED MEN'S DRAW FOR U.S. OPEN.", "TENNIS - REVISED MEN 'S DRAW FOR U.S. OPEN .")]
    [InlineData("U.S. Open tennis championships beginning Monday at the U.S.", "U.S. Open tennis championships beginning Monday at the U.S .")]
    [InlineData("On Friday, Metro Holdings topped gainers, soaring by S$ 1.55 to close at S$ 6.05 on market rumours of a takeover bid by First Capital Corp.",
        "On Friday , Metro Holdings topped gainers , soaring by S$ 1.55 to close at S$ 6.05 on market rumours of a takeover bid by First Capital Corp .")]
    [InlineData("1. Ray Belim (Britain) / James Weaver (Britain)", "1. Ray Belim ( Britain ) / James Weaver ( Britain )")]
    [InlineData("Rubin was widely hailed as the architect of the dollar's comeback... Mr. Rubin's $ 3.4 billion",
        "Rubin was widely hailed as the architect of the dollar 's comeback ... Mr. Rubin 's $ 3.4 billion")]
    public void DetokenizedConllSentencesGiveTheConllTokens(string text, string conllTokens) =>
        Assert.Equal(conllTokens.Split(' '), Tokens(text));

    [Fact]
    public void PunctuationIsSplitOffOneMarkAToken() =>
        Assert.Equal(["(", "Reuters", ")", "-", "Yes", ",", "no", ";", "maybe", ":", "\"", "fine", "\"", "!"],
            Tokens("(Reuters) - Yes, no; maybe: \"fine\"!"));

    [Fact]
    public void RunsOfDotsDashesAndFinalMarksStayWhole() =>
        Assert.Equal(["Wait", "...", "what", "--", "really", "?!", "----"], Tokens("Wait... what--really?! ----"));

    [Theory]
    [InlineData("don't", "do n't")]
    [InlineData("Can't", "Ca n't")]
    [InlineData("DIDN'T", "DID N'T")]
    [InlineData("John's", "John 's")]
    [InlineData("John’s", "John ’s")]
    [InlineData("they're we've you'll he'd I'm", "they 're we 've you 'll he 'd I 'm")]
    [InlineData("O'Neill's", "O'Neill 's")]
    [InlineData("the players' union", "the players ' union")]
    public void CliticsAreSeparateTokens(string text, string expected) => Assert.Equal(expected.Split(' '), Tokens(text));

    [Theory]
    [InlineData("47,600")]
    [InlineData("14.2")]
    [InlineData("1996-08-22")]
    [InlineData("3/4")]
    [InlineData("10:30")]
    [InlineData("2-1")]
    [InlineData(".500")]
    [InlineData("+44")]
    [InlineData("12-year-old")]
    [InlineData("1990s")]
    public void NumbersStayWhole(string number) => Assert.Equal([number], Tokens(number));

    [Fact]
    public void NumbersLoseTheSentencePunctuationAfterThem() =>
        Assert.Equal(["It", "rose", "14.2", "%", "to", "$", "47,600", "."], Tokens("It rose 14.2% to $47,600."));

    [Theory]
    [InlineData("U.S.")]
    [InlineData("U.N.")]
    [InlineData("a.m.")]
    [InlineData("Mr.")]
    [InlineData("Mrs.")]
    [InlineData("Dr.")]
    [InlineData("St.")]
    [InlineData("Jr.")]
    [InlineData("Inc.")]
    [InlineData("Ltd.")]
    [InlineData("Corp.")]
    [InlineData("Co.")]
    [InlineData("Gen.")]
    [InlineData("Sen.")]
    [InlineData("Gov.")]
    [InlineData("Jan.")]
    [InlineData("Feb.")]
    [InlineData("Aug.")]
    [InlineData("Sept.")]
    [InlineData("vs.")]
    [InlineData("J.")]
    public void AbbreviationsKeepTheirDot(string abbreviation) =>
        Assert.Equal([abbreviation, "said"], Tokens(abbreviation + " said"));

    [Fact]
    public void AnAbbreviationEndingALineGivesItsDotToTheSentenceAsCoNllDoes() =>
        Assert.Equal(["Kingston", "Technology", "Co", ".", "\"", "The", "U.S", "."], Tokens("Kingston Technology Co.\"\nThe U.S."));

    [Fact]
    public void AWordThatIsNotAnAbbreviationLosesItsDot() => Assert.Equal(["Go", "home", "."], Tokens("Go home."));

    [Theory]
    [InlineData("EU-wide")]
    [InlineData("Saudi-based")]
    [InlineData("U.S.-led")]
    [InlineData("Weston-super-Mare")]
    [InlineData("O'Neill")]
    [InlineData("o'clock")]
    [InlineData("d'Italia")]
    [InlineData("S&P")]
    [InlineData("US$")]
    [InlineData("AA+")]
    [InlineData("No.2")]
    public void CompoundsAndNamesWithInnerMarksStayWhole(string word) => Assert.Equal([word], Tokens(word));

    [Fact]
    public void ASuspendedHyphenStaysWithItsWord() =>
        Assert.Equal(["three-", ",", "five-", "and", "10-year", "bonds"], Tokens("three-, five- and 10-year bonds"));

    [Fact]
    public void UrlsAndEmailAddressesStayWhole() =>
        Assert.Equal(["See", "https://example.com/a?b=c", "or", "news@reuters.com", "."],
            Tokens("See https://example.com/a?b=c or news@reuters.com."));

    [Fact]
    public void TokensCarryTheirOffsetsInTheOriginalText()
    {
        var tokens = NerTokenizer.Default.Tokenize("  Mr. O'Neill didn't\r\nsay.");
        Assert.Equal(
            [new TextToken("Mr.", 2, 3), new TextToken("O'Neill", 6, 7), new TextToken("did", 14, 3), new TextToken("n't", 17, 3),
             new TextToken("say", 22, 3), new TextToken(".", 25, 1)],
            tokens);
    }

    [Fact]
    public void EmptyAndBlankTextsHaveNoTokens()
    {
        Assert.Empty(NerTokenizer.Default.Tokenize(""));
        Assert.Empty(NerTokenizer.Default.Tokenize(" \t\r\n\0\u200B\uFEFF"));
    }

    [Fact]
    public void TokenizationGoesThroughTheMlTokenizersPreTokenizer() =>
        Assert.Equal([(0, 2), (3, 3), (6, 1)], NerTokenizer.Default.PreTokenizer.PreTokenize("do n't."));

    // Each of these once took (or could take) time quadratic in its length; 200,000 characters of any of them took
    // about a minute. The check compares growth, not seconds, so a loaded machine does not fail it: four times the
    // text must take well under eight times as long (linear is 4x, quadratic 16x). Each size takes its best of three.
    [Fact]
    public void LongRepetitiveInputsAreTokenizedInLinearTime()
    {
        string[] units = [" ", "\t1", "a.", "a'", "1-", "www.", "a@", ", ", "A. ", "n't", "U.S.", "\u0301", "👨‍👩‍👧", "a- "];
        double Seconds(int characters) => Enumerable.Range(0, 3).Min(_ =>
        {
            var stopwatch = System.Diagnostics.Stopwatch.StartNew();
            foreach (var unit in units)
                Assert.NotNull(NerTokenizer.Default.SplitSentences(string.Concat(Enumerable.Repeat(unit, characters / unit.Length))));
            return stopwatch.Elapsed.TotalSeconds;
        });
        Seconds(10_000); // warm-up: the first call compiles the regex
        var small = Seconds(25_000);
        var large = Seconds(200_000);
        // Eight times the text: linear work grows 8x, quadratic 64x. The bound sits between them (their geometric
        // mean), so a busy machine's noise, which has pushed a 4x-against-16x check past its bound, cannot decide it.
        Assert.True(large < 22 * small, $"200k characters took {large:F3} s, 25k took {small:F3} s: growth {large / small:F1}x");
    }

    // The dot of "Mr." or "A." looks past the blanks after it for a line end. That look-ahead once tried every way of
    // splitting a run of blanks between two loops: quadratic, about 80 ms of CPU for 40,000 blanks here and so some
    // 7 minutes for 3 million. Linear, tokenizing 3 million blanks takes a second or two (the scan over the blanks),
    // and tens of seconds on a machine loaded twenty times over; the bound sits between the two, far from both.
    [Theory]
    [InlineData("Mr.", " ", "Smith")]
    [InlineData("U.S.", " \t", "\" x")]
    public async Task AnAbbreviationFollowedByMillionsOfBlanksIsTokenizedInLinearTime(string abbreviation, string blank, string after)
    {
        var text = abbreviation + string.Concat(Enumerable.Repeat(blank, 3_000_000 / blank.Length)) + after;

        var tokens = await Task.Run(() => NerTokenizer.Default.Tokenize(text)).WaitAsync(TimeSpan.FromMinutes(3));

        Assert.Equal(abbreviation, tokens[0].Text);
        Assert.Equal(after.Trim().Split(' ')[^1], tokens[^1].Text);
    }
}
