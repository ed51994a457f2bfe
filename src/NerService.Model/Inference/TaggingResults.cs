namespace NerService.Model.Inference;

/// <summary>
/// An entity found in a text. <see cref="End"/> is exclusive; offsets count UTF-16 code units. <see cref="Score"/>
/// is the calibrated probability that exactly this span carries exactly this label (<see cref="NerService.Model.Decoding.TagLattice"/>).
/// </summary>
public sealed record EntitySpan(string Label, int Start, int End, string Text, float Score)
{
    /// <summary>Other readings of these tokens, most probable first, when asked for; otherwise null.</summary>
    public IReadOnlyList<EntityAlternative>? Alternatives { get; init; }
}

/// <summary>A reading the decoder did not choose (another label, or other boundaries) and its probability.</summary>
public sealed record EntityAlternative(string Label, int Start, int End, string Text, float Probability);

/// <summary>One token with the tag chosen for it and that tag's probability under the model.</summary>
public sealed record TokenPrediction(string Text, int Start, int End, string Tag, float Probability);

/// <summary>What the tagger found in one text.</summary>
public sealed record TaggedText(
    IReadOnlyList<EntitySpan> Entities,
    IReadOnlyList<TokenPrediction>? Tokens,
    int SentenceCount,
    int TokenCount)
{
    /// <summary>
    /// When alternatives were asked for: for each stretch of tokens the decoder left outside every entity although
    /// the model gives them a fair chance of being in one, the most probable entity there. Otherwise null.
    /// </summary>
    public IReadOnlyList<EntityAlternative>? PossibleEntities { get; init; }
}

/// <summary>How tags are chosen from the per-token probabilities.</summary>
public enum Decoding
{
    /// <summary>Viterbi over the log-probabilities, allowing only valid tag transitions (no broken spans).</summary>
    Constrained,

    /// <summary>The most probable tag at each token, independently.</summary>
    Greedy,
}

/// <summary>What a loaded bundle says about itself.</summary>
public sealed record ModelInfo(
    string Name,
    string Version,
    IReadOnlyList<string> EntityTypes,
    string TaggingScheme,
    IReadOnlyList<string> Tags,
    IReadOnlyDictionary<string, double> ValidationMetrics,
    IReadOnlyDictionary<string, string> DataChecksums,
    DateTimeOffset CreatedAt,
    string? SourceCommit);
