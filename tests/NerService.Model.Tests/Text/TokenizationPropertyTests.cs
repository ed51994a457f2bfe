using System.Globalization;
using CsCheck;
using NerService.Model.Text;

namespace NerService.Model.Tests.Text;

public class TokenizationPropertyTests
{
    private const long Iterations = 3_000;

    // Pieces chosen to hit every rule and every awkward corner: separators of all kinds, marks and joiners,
    // emoji sequences, CJK, right-to-left text, lone surrogates, and the punctuation the conventions care about.
    private static readonly string[] Fragments =
    [
        " ", "  ", "\t", "\r\n", "\n", "\r", "\0", "\u0085", "\u2028", "\u00A0", "\u200B", "\u200C", "\u200D", "\u200E",
        "\u202E", "\u2066", "\uFEFF", "\u00AD", "\u0301", "\u0308", "\uFE0F", "\u20E3", "\U0001F3FD", "\U000E0067",
        "\U000E0100", "e\u0301", "東京", "中文字。", "שלום", "مرحبا", "\u0915\u094D\u0937", "👨‍👩‍👧", "🇩🇪", "🇩", "👍🏽", "😀",
        "❤️", "𠀀", "𝐀", "\uD800", "\uDC00", "\uDBFF", ".", "...", "?!", "!", "?", "。", ",", "'", "’", "\"", "(", ")", "-",
        "--", "$", "+", "&", "'s", "n't", "don't", "O'Neill", "U.S.", "U.S", "Mr.", "Inc.", "1996-08-22", "47,600", "3/4",
        ".500", "1.", "https://x.org/a", "www.x.com", "a@b.co", "US$", "AA+", "A", "a", "The", "word", "7",
    ];

    private static readonly Gen<string> AnyCodePoint = Gen.Int[0, 0x10FFFF]
        .Select(codePoint => codePoint is >= 0xD800 and <= 0xDFFF ? ((char)codePoint).ToString() : char.ConvertFromUtf32(codePoint));

    private static readonly Gen<string> Texts = Gen.Frequency(
            (4, Gen.OneOfConst(Fragments)),
            (1, Gen.Char.Select(unit => unit.ToString())),
            (1, AnyCodePoint))
        .Array[0, 40]
        .Select(pieces => string.Concat(pieces));

    [Fact]
    public void EveryTokenIsTheSubstringAtItsOffsets() =>
        Texts.Sample(text =>
        {
            foreach (var token in NerTokenizer.Default.Tokenize(text))
            {
                Assert.True(token.Length > 0);
                Assert.InRange(token.Start, 0, text.Length - token.Length);
                Assert.Equal(text.Substring(token.Start, token.Length), token.Text);
            }
        }, iter: Iterations, print: Escape);

    [Fact]
    public void TokensAreOrderedAndDoNotOverlap() =>
        Texts.Sample(text =>
        {
            var tokens = NerTokenizer.Default.Tokenize(text);
            for (var i = 1; i < tokens.Count; i++)
            {
                Assert.True(tokens[i - 1].End <= tokens[i].Start);
            }
        }, iter: Iterations, print: Escape);

    [Fact]
    public void OnlyInvisibleSeparatorsAreLeftOutOfTokens() =>
        Texts.Sample(text =>
        {
            var covered = new bool[text.Length];
            foreach (var token in NerTokenizer.Default.Tokenize(text))
            {
                Array.Fill(covered, true, token.Start, token.Length);
                Assert.DoesNotContain(token.Text, character => char.IsWhiteSpace(character) || char.IsControl(character));
            }
            for (var i = 0; i < text.Length; i++)
            {
                Assert.True(covered[i] || IsInvisibleSeparator(text[i]), $"U+{(int)text[i]:X4} at {i} is in no token");
            }
        }, iter: Iterations, print: Escape);

    [Fact]
    public void NoTokenBoundarySplitsASurrogatePair() =>
        Texts.Sample(text =>
        {
            foreach (var token in NerTokenizer.Default.Tokenize(text))
            {
                Assert.False(SplitsSurrogatePair(text, token.Start), $"token at {token.Start} starts inside a surrogate pair");
                Assert.False(SplitsSurrogatePair(text, token.End), $"token ending at {token.End} ends inside a surrogate pair");
            }
        }, iter: Iterations, print: Escape);

    [Fact]
    public void SentencesConcatenateToTheTokensAndAreNeverEmpty() =>
        Texts.Sample(text =>
        {
            var sentences = NerTokenizer.Default.SplitSentences(text);
            Assert.All(sentences, sentence => Assert.NotEmpty(sentence));
            Assert.Equal(NerTokenizer.Default.Tokenize(text), sentences.SelectMany(sentence => sentence));
        }, iter: Iterations, print: Escape);

    [Fact]
    public void TheSpanAndStringPreTokenizationsAgree() =>
        Texts.Sample(text =>
            Assert.Equal(ConllPreTokenizer.Instance.PreTokenize(text), ConllPreTokenizer.Instance.PreTokenize(text.AsSpan())),
            iter: Iterations, print: Escape);

    private static bool IsInvisibleSeparator(char character) =>
        char.IsWhiteSpace(character) || char.IsControl(character)
        || char.GetUnicodeCategory(character) == UnicodeCategory.Format;

    private static bool SplitsSurrogatePair(string text, int boundary) =>
        boundary > 0 && boundary < text.Length && char.IsHighSurrogate(text[boundary - 1]) && char.IsLowSurrogate(text[boundary]);

    private static string Escape(string text) =>
        string.Concat(text.Select(character => character is >= ' ' and <= '~' ? character.ToString() : $"\\u{(int)character:X4}"));
}
