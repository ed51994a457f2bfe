namespace NerService.Model.Features;

/// <summary>Maps UTF-16 code units to character-embedding rows; 0 pads, 1 is any unseen character.</summary>
public sealed class CharVocabulary
{
    public const int PaddingId = 0;
    public const int UnknownId = 1;

    // One slot per UTF-16 code unit: a lookup is an array read on the hot path.
    private readonly int[] ids = new int[char.MaxValue + 1];

    public CharVocabulary(string characters)
    {
        Characters = characters;
        Array.Fill(ids, UnknownId);
        for (var i = 0; i < characters.Length; i++)
        {
            if (ids[characters[i]] != UnknownId)
                throw new InvalidDataException($"The character vocabulary lists U+{(int)characters[i]:X4} twice.");
            ids[characters[i]] = i + 2;
        }
    }

    /// <summary>The known characters, in id order starting at id 2.</summary>
    public string Characters { get; }

    public int Count => Characters.Length + 2;

    public int Lookup(char c) => ids[c];
}
