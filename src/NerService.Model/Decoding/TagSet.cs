using NerService.Model.Corpus;

namespace NerService.Model.Decoding;

/// <summary>
/// The model's output tags (<c>O</c>, <c>B-PER</c>, ...) under a tagging scheme, with the transitions that scheme
/// allows: <c>I-X</c> only continues an <c>X</c>, BIOES entities close with <c>E-X</c> or are <c>S-X</c>.
/// Constrained decoding never leaves these paths, so it never produces a broken span.
/// </summary>
public sealed class TagSet
{
    public TagSet(TaggingScheme scheme, IReadOnlyList<string> tags)
    {
        if (scheme == TaggingScheme.Iob1)
            throw new ArgumentException("Models are trained on IOB2 or BIOES tags; convert IOB1 input first.", nameof(scheme));
        Scheme = scheme;
        Tags = tags;
        Prefixes = new char[tags.Count];
        Types = new string?[tags.Count];
        for (var i = 0; i < tags.Count; i++)
        {
            (Prefixes[i], Types[i]) = Parse(tags[i]);
            if (Prefixes[i] is 'E' or 'S' && scheme != TaggingScheme.Bioes)
                throw new InvalidDataException($"Tag '{tags[i]}' does not belong to the {scheme} scheme.");
        }
        if (!tags.Contains("O"))
            throw new InvalidDataException("A tag set needs the outside tag 'O'.");
        EntityTypes = Types.Where(t => t is not null).Select(t => t!).Distinct().Order(StringComparer.Ordinal).ToArray();
        BeginTags = EntityTypes.Select(type => Find('B', type)).ToArray();
        InsideTags = EntityTypes.Select(type => Find('I', type)).ToArray();
        EndTags = EntityTypes.Select(type => Find('E', type)).ToArray();
        SingleTags = EntityTypes.Select(type => Find('S', type)).ToArray();

        Allowed = new bool[tags.Count, tags.Count];
        CanStart = new bool[tags.Count];
        CanEnd = new bool[tags.Count];
        for (var to = 0; to < tags.Count; to++)
        {
            CanStart[to] = Opens(to);
            CanEnd[to] = Closes(to);
            for (var from = 0; from < tags.Count; from++)
                Allowed[from, to] = Closes(from) && Opens(to) || Continues(from, to);
        }
        Predecessors = Enumerable.Range(0, tags.Count).Select(to => Enumerable.Range(0, tags.Count).Where(from => Allowed[from, to]).ToArray()).ToArray();
        Successors = Enumerable.Range(0, tags.Count).Select(from => Enumerable.Range(0, tags.Count).Where(to => Allowed[from, to]).ToArray()).ToArray();
        OutsideTag = IndexOf("O");
        EndingTags = Enumerable.Range(0, tags.Count).Where(j => CanEnd[j]).ToArray();
        OpeningTags = Enumerable.Range(0, tags.Count).Where(Opens).ToArray();
    }

    public TaggingScheme Scheme { get; }
    public IReadOnlyList<string> Tags { get; }
    public IReadOnlyList<string> EntityTypes { get; }
    public int Count => Tags.Count;

    internal char[] Prefixes { get; }
    internal string?[] Types { get; }
    internal bool[,] Allowed { get; }
    internal bool[] CanStart { get; }
    internal bool[] CanEnd { get; }
    internal int[][] Predecessors { get; }
    internal int[][] Successors { get; }
    internal int OutsideTag { get; }
    internal int[] EndingTags { get; }

    /// <summary>O, B- and S-: the tags that may follow a finished entity (or begin a sentence).</summary>
    internal int[] OpeningTags { get; }

    // Per entity type (in EntityTypes order): the index of its B-, I-, E- and S- tag; -1 where the scheme has none.
    internal int[] BeginTags { get; }
    internal int[] InsideTags { get; }
    internal int[] EndTags { get; }
    internal int[] SingleTags { get; }

    /// <summary>The tags of a scheme for these entity types, in a fixed order: O, then per type B, I (, E, S).</summary>
    public static TagSet For(TaggingScheme scheme, IEnumerable<string> entityTypes)
    {
        var prefixes = scheme == TaggingScheme.Bioes ? new[] { "B", "I", "E", "S" } : new[] { "B", "I" };
        var tags = new List<string> { "O" };
        foreach (var type in entityTypes.Distinct().Order(StringComparer.Ordinal))
            tags.AddRange(prefixes.Select(p => $"{p}-{type}"));
        return new TagSet(scheme, tags);
    }

    public int IndexOf(string tag)
    {
        for (var i = 0; i < Tags.Count; i++)
        {
            if (Tags[i] == tag)
                return i;
        }
        throw new KeyNotFoundException($"Tag '{tag}' is not one of the model's tags.");
    }

    private int Find(char prefix, string type)
    {
        for (var i = 0; i < Tags.Count; i++)
        {
            if (Prefixes[i] == prefix && Types[i] == type)
                return i;
        }
        return -1;
    }

    // True where the tag leaves no entity open after it.
    private bool Closes(int tag) => Prefixes[tag] switch
    {
        'O' or 'E' or 'S' => true,
        _ => Scheme != TaggingScheme.Bioes, // in IOB2 an entity may end after any B- or I-
    };

    // True where the tag may follow a closed position (start of sentence, after O, after a closed entity).
    private bool Opens(int tag) => Prefixes[tag] is 'O' or 'B' or 'S';

    // True where the tag goes on with the entity the previous tag left open.
    private bool Continues(int from, int to) =>
        Prefixes[from] is 'B' or 'I'
        && (Prefixes[to] == 'I' || Prefixes[to] == 'E' && Scheme == TaggingScheme.Bioes)
        && Types[to] == Types[from];

    private static (char Prefix, string? Type) Parse(string tag)
    {
        if (tag == "O")
            return ('O', null);
        if (tag.Length > 2 && tag[1] == '-' && tag[0] is 'B' or 'I' or 'E' or 'S')
            return (tag[0], tag[2..]);
        throw new InvalidDataException($"'{tag}' is not a tag: expected O or B-, I-, E-, S- followed by a type.");
    }
}
