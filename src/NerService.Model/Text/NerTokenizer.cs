using System.Buffers;
using System.Globalization;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace NerService.Model.Text;

/// <summary>
/// Splits text into word and punctuation tokens close to the CoNLL-2003 conventions, and documents into sentences.
/// </summary>
/// <remarks>
/// Word splitting is done by <see cref="PreTokenizer"/> (a Microsoft.ML.Tokenizers pre-tokenizer; see
/// <see cref="ConllPreTokenizer"/> for the conventions and which characters separate tokens). Tokens are ordered,
/// non-overlapping and non-empty, and <c>text.Substring(token.Start, token.Length) == token.Text</c> for any input.
/// </remarks>
public sealed class NerTokenizer
{
    public static NerTokenizer Default { get; } = new();

    private static readonly SearchValues<char> SentenceTerminators = SearchValues.Create(".!?…‼⁇⁈⁉。｡！？؟।॥");
    private static readonly SearchValues<char> Closers = SearchValues.Create(")]}”’»›」』）］｝〉》】〕");
    private static readonly SearchValues<char> AmbiguousQuotes = SearchValues.Create("\"'`");
    private static readonly SearchValues<char> Openers = SearchValues.Create("\"'`([{“‘„«‹「『（［｛〈《【〔¿¡");
    private static readonly SearchValues<char> LineBreaks = SearchValues.Create("\n\r\v\f\u0085\u2028\u2029");

    /// <summary>The pre-tokenizer every tokenization goes through.</summary>
    public PreTokenizer PreTokenizer { get; } = ConllPreTokenizer.Instance;

    public IReadOnlyList<TextToken> Tokenize(string text) => TokenizeToArray(text);

    /// <summary>
    /// Splits a document into sentences: after <c>. ! ?</c> (or a run such as <c>?!</c> or <c>...</c>, plus any closing
    /// quotes or brackets right after it) when the next token starts with a capital or caseless letter, a digit or an
    /// opening quote or bracket; and at every line break. Abbreviations such as <c>U.S.</c> never end a sentence except
    /// at a line break, as <c>U.S. Senate</c> is far more likely than a sentence ending in <c>U.S.</c>.
    /// The sentences together hold exactly the tokens of <see cref="Tokenize"/>, in order; none is empty.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<TextToken>> SplitSentences(string text)
    {
        var tokens = TokenizeToArray(text);
        var sentences = new List<IReadOnlyList<TextToken>>();
        var sentenceStart = 0;
        var index = 0;
        while (index < tokens.Length)
        {
            var last = index;
            bool endsSentence;
            if (IsSentenceTerminator(tokens[index]))
            {
                while (last + 1 < tokens.Length
                       && !HasLineBreakBetween(text, tokens[last], tokens[last + 1])
                       && IsClosingAfter(tokens[last], tokens[last + 1]))
                {
                    last++;
                }
                endsSentence = last + 1 == tokens.Length
                               || HasLineBreakBetween(text, tokens[last], tokens[last + 1])
                               || StartsSentence(tokens[last + 1]);
            }
            else
            {
                endsSentence = last + 1 == tokens.Length || HasLineBreakBetween(text, tokens[last], tokens[last + 1]);
            }

            if (endsSentence)
            {
                sentences.Add(new ArraySegment<TextToken>(tokens, sentenceStart, last + 1 - sentenceStart));
                sentenceStart = last + 1;
            }
            index = last + 1;
        }
        return sentences;
    }

    private TextToken[] TokenizeToArray(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0)
        {
            return [];
        }

        var spans = PreTokenizer.PreTokenize(text);
        var tokens = new List<TextToken>(spans is ICollection<(int, int)> collection ? collection.Count : 16);
        foreach (var (offset, length) in spans)
        {
            tokens.Add(new TextToken(text.Substring(offset, length), offset, length));
        }
        return [.. tokens];
    }

    private static bool IsSentenceTerminator(TextToken token) => !token.Text.AsSpan().ContainsAnyExcept(SentenceTerminators);

    // A closing bracket always closes; a straight quote closes only when it touches the punctuation
    // (`said "no." Then` closes, `no. "Then` opens the next sentence).
    private static bool IsClosingAfter(TextToken previous, TextToken token) =>
        token.Length == 1
        && (Closers.Contains(token.Text[0]) || (AmbiguousQuotes.Contains(token.Text[0]) && token.Start == previous.End));

    private static bool HasLineBreakBetween(string text, TextToken previous, TextToken next) =>
        text.AsSpan(previous.End, next.Start - previous.End).ContainsAny(LineBreaks);

    private static bool StartsSentence(TextToken token)
    {
        if (Openers.Contains(token.Text[0]))
        {
            return true;
        }
        if (Rune.DecodeFromUtf16(token.Text, out var rune, out _) != OperationStatus.Done)
        {
            return false;
        }
        // Caseless letters (CJK, Arabic, Hebrew, Thai, ...) count as capitals: those scripts give no other hint.
        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.UppercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.OtherLetter or UnicodeCategory.DecimalDigitNumber;
    }
}
