namespace NerService.Model.Corpus;

/// <summary>
/// Hands out one string instance per distinct tag or label, so that reading or converting a corpus of
/// 200k tokens allocates a handful of tag strings instead of one per token.
/// </summary>
internal sealed class TagStringCache
{
    private readonly Dictionary<string, string> strings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> lookup;

    public TagStringCache() => lookup = strings.GetAlternateLookup<ReadOnlySpan<char>>();

    public string Intern(ReadOnlySpan<char> text)
    {
        if (lookup.TryGetValue(text, out var existing))
        {
            return existing;
        }

        var created = text.ToString();
        strings.Add(created, created);
        return created;
    }

    public string Tag(char prefix, string label)
    {
        var length = label.Length + 2;
        Span<char> tag = length <= 128 ? stackalloc char[length] : new char[length];
        tag[0] = prefix;
        tag[1] = '-';
        label.CopyTo(tag[2..]);
        return Intern(tag);
    }
}
