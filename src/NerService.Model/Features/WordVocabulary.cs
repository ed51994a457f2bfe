using System.Text;

namespace NerService.Model.Features;

/// <summary>
/// Maps words to embedding rows. Entries are lowercased (the pretrained vectors are lowercase; case reaches
/// the model through <see cref="Casing"/> and the character features). A word is looked up as written,
/// then lowercased, then lowercased with every digit replaced by 0.
/// </summary>
public sealed class WordVocabulary
{
    public const int PaddingId = 0;
    public const int UnknownId = 1;
    public const string PaddingToken = "<pad>";
    public const string UnknownToken = "<unk>";

    private readonly Dictionary<string, int> ids;

    public WordVocabulary(IReadOnlyList<string> words)
    {
        if (words.Count < 2 || words[PaddingId] != PaddingToken || words[UnknownId] != UnknownToken)
            throw new InvalidDataException($"A word vocabulary starts with {PaddingToken} and {UnknownToken}.");
        Words = words;
        ids = new Dictionary<string, int>(words.Count, StringComparer.Ordinal);
        for (var i = 0; i < words.Count; i++)
        {
            if (!ids.TryAdd(words[i], i))
                throw new InvalidDataException($"The word vocabulary lists '{words[i]}' twice.");
        }
    }

    public IReadOnlyList<string> Words { get; }

    public int Count => Words.Count;

    public int Lookup(string word)
    {
        if (ids.TryGetValue(word, out var id))
            return id;
        var lower = word.ToLowerInvariant();
        if (ids.TryGetValue(lower, out id))
            return id;
        var normalised = NormaliseDigits(lower);
        return ReferenceEquals(normalised, lower) || !ids.TryGetValue(normalised, out id) ? UnknownId : id;
    }

    /// <summary>The key a word is stored under: lowercase, digits as 0.</summary>
    public static string Key(string word) => NormaliseDigits(word.ToLowerInvariant());

    public static string NormaliseDigits(string word)
    {
        var firstDigit = -1;
        for (var i = 0; i < word.Length; i++)
        {
            if (char.IsAsciiDigit(word[i]) && word[i] != '0')
            {
                firstDigit = i;
                break;
            }
        }
        if (firstDigit < 0)
            return word;
        var builder = new StringBuilder(word);
        for (var i = firstDigit; i < builder.Length; i++)
        {
            if (char.IsAsciiDigit(builder[i]))
                builder[i] = '0';
        }
        return builder.ToString();
    }
}
