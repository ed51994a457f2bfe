using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace NerService.Model.Text;

/// <summary>
/// A Microsoft.ML.Tokenizers pre-tokenizer that splits text into word and punctuation tokens the way the
/// CoNLL-2003 corpus is tokenized: punctuation apart, clitics (<c>'s</c>, <c>n't</c>, ...) apart, and numbers,
/// dates, scores, dotted abbreviations, hyphenated compounds and names like <c>O'Neill</c> whole.
/// </summary>
/// <remarks>
/// Separators (never part of a token): white space, control characters (C0, C1, DEL; so CR, LF, NUL) and the
/// invisible format characters that mark a break or only steer layout: zero-width space U+200B, bidi marks and
/// embeddings (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069), word joiner and invisible operators
/// (U+2060-U+2064), U+180E and the byte-order mark U+FEFF. Every other character ends up in exactly one token;
/// combining marks, variation selectors, emoji modifiers, tag characters and zero-width (non-)joiners stay with
/// the character before them, and a surrogate pair is never split (a lone surrogate is a token of its own).
/// </remarks>
public sealed partial class ConllPreTokenizer : PreTokenizer
{
    public static ConllPreTokenizer Instance { get; } = new();

    // Written for RegexOptions.IgnorePatternWhitespace, so '#' is escaped where it is meant literally.
    private const string Separator = @"\s\p{Cc}\u061C\u180E\u200B\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF";
    private const string SurrogatePair = @"[\uD800-\uDBFF][\uDC00-\uDFFF]";
    private const string NotWordAfter = @"(?![\p{L}\p{N}\p{M}])";
    private const string NotWordBefore = @"(?<![\p{L}\p{N}\p{M}])";

    // What clings to the end of any token: marks, emoji modifiers (U+1F3FB-U+1F3FF), tags and variation
    // selectors of plane 14, and zero-width joiner sequences (ZWJ followed by another emoji or symbol).
    private const string Extend =
        @"(?>\u200D(?:" + SurrogatePair + @"|\p{So})|\p{M}|[\u200C\u200D]|\uD83C[\uDFFB-\uDFFF]|\uDB40[\uDC00-\uDDEF])*";

    private const string CliticTail = @"(?:[sSdDmM]|[rR][eE]|[vV][eE]|[lL][lL])" + NotWordAfter;
    private const string Clitic = @"['’]" + CliticTail;

    // Runs of letters and digits joined by ',', ':' or '/' between digits (47,600  10:30  3/4), '.' between letters or
    // digits (14.2, and as CoNLL keeps them: No.2  RABN.CN  Sep.96) and '&' between capitals (S&P, AT&T).
    // Plain character-set loops between the joints keep the matching fast.
    private const string WordCharacters = @"[\p{L}\p{N}\p{M}\u00AD\u200C\u200D]";
    private const string WordPart =
        @"[\p{L}\p{N}](?>" + WordCharacters + @"*)(?:(?:(?<=\d)[,:/](?=\d)|(?<=[\p{L}\p{N}])\.(?=[\p{L}\p{N}])|(?<=\p{Lu})&(?=\p{Lu}))(?>" + WordCharacters + "+))*";

    // An apostrophe continues a word unless a clitic follows: O'Neill, o'clock, d'Italia, but John|'s.
    // (A word ending in "n't" is matched whole and split afterwards: see AddSplittingNegation.)
    private const string Word = WordPart + @"(?:['’](?!" + CliticTail + @")(?=[\p{L}\p{N}])" + WordPart + ")*";

    // CoNLL writes an abbreviation that ends a sentence without its dot, the dot being the sentence's full stop
    // ("... Kingston Technology Co ."); the corpus has one sentence a line, so a dot followed only by a closing
    // quote and the end of the line is taken as a full stop. A letter right after the dot makes a word
    // instead (S.AFRICAN, A.de, Sep.96 are single CoNLL tokens).
    // The blanks are matched by atomic loops: with plain ones, the two loops around the optional quote would try every
    // way of sharing a run of n blanks before failing (n² steps after "Mr." and a long run of spaces). Atomic loops
    // accept the same texts: blanks are never quotes, so the first loop must take all blanks before a quote anyway.
    private const string AbbreviationDot = @"\.(?!(?>[\t\x20]*)[""'’”]?(?>[\t\x20]*)(?:[\r\n\u0085\u2028\u2029]|\z))" + NotWordAfter;

    // U.S.  U.N.  a.m.  D.C.  n.a  (single letters joined by dots, the last dot optional).
    private const string DottedAbbreviation = NotWordBefore + @"\p{L}(?:\.\p{L}" + NotWordAfter + ")+(?:" + AbbreviationDot + ")?";

    private const string Initial = @"(?<![\p{L}\p{N}\p{M}.])\p{Lu}" + AbbreviationDot;

    private const string KnownAbbreviation = NotWordBefore + @"(?:
        Mr|Mrs|Ms|Messrs|Dr|Prof|St|Jr|Sr|Rev|Hon|Gen|Lt|Col|Maj|Capt|Cmdr|Sgt|Adm|Brig|Sen|Rep|Gov|Pres|Supt|Insp|
        Inc|Ltd|Corp|Co|Cos|Bros|Plc|Dept|Univ|Assn|Ave|Blvd|Rd|Mt|Ft|vs|etc|approx|vol|Vol|est|Est|
        Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|
        Ala|Ariz|Ark|Calif|Colo|Conn|Del|Fla|Ga|Ill|Ind|Kan|Kans|Ky|La|Md|Mass|Mich|Minn|Miss|Mo|Mont|
        Neb|Nev|Okla|Ore|Pa|Penn|Tenn|Tex|Va|Vt|Wash|Wis|Wyo)" + AbbreviationDot;

    private const string CompoundHead = "(?:" + KnownAbbreviation + "|" + DottedAbbreviation + "|" + Initial + "|" + Word + ")";

    // EU-wide  Saudi-based  1996-08-22  2-1  U.S.-led  +44, a suspended hyphen (anti- and pro-, three-, five-)
    // and a rating's sign (AA+).
    private const string Compound =
        "(?:" + NotWordBefore + @"\+(?=\d))?" + CompoundHead + @"(?:[-\u2010\u2011]" + CompoundHead + @")*" +
        @"(?:-(?=[\s,]|$)|(?<=\p{Lu})\+(?![\p{L}\p{N}+]))?";

    // Ranks at the start of a line in results tables: "1. Michael Johnson". The look-behind is bounded and comes after
    // a digit test: an unbounded one would rescan every run of spaces from each of its positions (quadratic time).
    private const string LineNumber = @"(?=\d)(?<=^[\t\x20]{0,8})\d{1,3}\.(?=[\t\x20])";

    private const string Currency = NotWordBefore + @"\p{Lu}{1,3}\$";

    private const string DecimalWithoutInteger = @"(?<![\p{L}\p{N}\p{M}.])\.\d+";

    private const string Url = @"(?:https?://|www\.)[^" + Separator + @"""<>()\[\]{}]*[^" + Separator + @"""<>()\[\]{}.,;:!?'’”]";

    // Bounded lengths keep a failed attempt cheap (a long run of "a.a.a." must not cost quadratic time).
    private const string Email = NotWordBefore + @"[\p{L}\p{N}._%+-]{1,64}@[\p{L}\p{N}-]{1,63}(?:\.[\p{L}\p{N}-]{1,63}){1,8}";

    // "..."  "?!"  "--"  "***"  "======"
    // (Spelled out: a back-reference would cost the whole pattern its fast paths.)
    private const string PunctuationRun = @"\.{2,}|[!?]{2,}|-{2,}|\*{2,}|={2,}|_{2,}|~{2,}|\#{2,}";

    private const string RegionalIndicatorPair = @"\uD83C[\uDDE6-\uDDFF]\uD83C[\uDDE6-\uDDFF]";

    // Anything else that is not a separator is a token of its own: one punctuation mark, symbol, emoji, or a lone surrogate.
    private const string SingleCharacter = "(?>" + SurrogatePair + "|[^" + Separator + "])";

    private const string Pattern =
        "(?>" + LineNumber + "|" + Url + "|" + Email + "|" + Currency + "|" + Clitic + "|" + Compound +
        "|" + DecimalWithoutInteger + "|" + PunctuationRun + "|" + RegionalIndicatorPair + "|" + SingleCharacter + ")" + Extend;

    [GeneratedRegex(Pattern, RegexOptions.IgnorePatternWhitespace | RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex TokenRegex();

    /// <inheritdoc />
    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) =>
        string.IsNullOrEmpty(text) ? [] : PreTokenize(text.AsSpan());

    /// <inheritdoc />
    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text)
    {
        // Matching the whole text at once (not slice by slice, as the library's RegexPreTokenizer does) keeps the
        // look-behinds able to see the character before each token.
        var tokens = new List<(int Offset, int Length)>(text.Length / 5 + 1);
        foreach (var match in TokenRegex().EnumerateMatches(text))
        {
            AddSplittingNegation(tokens, text, match.Index, match.Length);
        }
        return tokens;
    }

    // CoNLL splits "don't" into "do" and "n't" (and "can't" into "ca" and "n't"). Checking each match's end costs
    // far less than a look-ahead at every letter of every word.
    private static void AddSplittingNegation(List<(int Offset, int Length)> tokens, ReadOnlySpan<char> text, int offset, int length)
    {
        const int negationLength = 3;
        if (length > negationLength && char.IsLetter(text[offset + length - negationLength - 1]))
        {
            var end = text.Slice(offset + length - negationLength, negationLength);
            if (end[0] is 'n' or 'N' && end[1] is '\'' or '’' && end[2] is 't' or 'T')
            {
                tokens.Add((offset, length - negationLength));
                tokens.Add((offset + length - negationLength, negationLength));
                return;
            }
        }
        tokens.Add((offset, length));
    }
}
