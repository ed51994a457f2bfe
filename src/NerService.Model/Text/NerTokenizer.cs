namespace NerService.Model.Text;

/// <summary>
/// Splits text into word and punctuation tokens close to the CoNLL-2003 conventions, and documents into sentences.
/// (Contract placeholder: the implementation arrives with the tokenizer work.)
/// </summary>
public sealed class NerTokenizer
{
    public static NerTokenizer Default { get; } = new();

    public IReadOnlyList<TextToken> Tokenize(string text) => throw new NotImplementedException();

    public IReadOnlyList<IReadOnlyList<TextToken>> SplitSentences(string text) => throw new NotImplementedException();
}
