namespace NerService.Model.Inference;

/// <summary>A text split into sentences of tokens, ready for the tagger.</summary>
public sealed record PreparedText(string Text, IReadOnlyList<IReadOnlyList<Text.TextToken>> Sentences)
{
    public int TokenCount { get; } = Sentences.Sum(s => s.Count);
}

/// <summary>
/// A loaded model bundle. Not thread-safe: use it from one thread, or through <see cref="BatchingTagger"/>.
/// (Contract placeholder: the implementation arrives with the tagger work.)
/// </summary>
public sealed class NerModel : IDisposable
{
    /// <summary>Loads a bundle. <paramref name="device"/> is <c>cpu</c>, <c>cuda</c> or <c>auto</c>.</summary>
    public static NerModel Load(string bundlePath, string device = "cpu", string? libTorchDirectory = null) => throw new NotImplementedException();

    public ModelInfo Info => throw new NotImplementedException();

    public PreparedText Prepare(string text) => throw new NotImplementedException();

    public IReadOnlyList<TaggedText> Tag(IReadOnlyList<string> texts, bool includeTokens = false, Decoding decoding = Decoding.Constrained)
        => Tag(texts.Select(Prepare).ToList(), texts.Select(_ => includeTokens).ToList(), decoding);

    public IReadOnlyList<TaggedText> Tag(IReadOnlyList<PreparedText> texts, IReadOnlyList<bool> includeTokens, Decoding decoding)
        => throw new NotImplementedException();

    public void Dispose()
    {
    }
}
