namespace NerService.Model.Inference;

/// <summary>How <see cref="BatchingTagger"/> forms batches.</summary>
public sealed class BatchingOptions
{
    /// <summary>Most sentences in one forward pass.</summary>
    public int MaxBatchSentences { get; set; } = 64;

    /// <summary>Most tokens in one forward pass (sum over its sentences).</summary>
    public int MaxBatchTokens { get; set; } = 4096;

    /// <summary>
    /// How long an inference thread that has some work waits for its batch to fill; null (the default) picks
    /// <see cref="BatchingTagger.DefaultMaxDelay"/>: no wait where each pass runs single-threaded on a CPU (the
    /// default there, and always with the C# CPU kernel), 2 ms otherwise.
    /// </summary>
    public TimeSpan? MaxDelay { get; set; }

    /// <summary>
    /// Forward passes that may run side by side, each on its own dedicated thread; 0 (the default) picks
    /// <see cref="BatchingTagger.DefaultInferenceThreads"/>: one per core on a CPU, one on a GPU.
    /// </summary>
    public int InferenceThreads { get; set; }

    /// <summary>The inference threads on <paramref name="device"/>: as set, or the default there.</summary>
    public int InferenceThreadsOn(TorchSharp.torch.Device device)
        => InferenceThreads > 0 ? InferenceThreads : BatchingTagger.DefaultInferenceThreads(device);

    /// <summary>Most texts waiting; past it <see cref="BatchingTagger.TagAsync(string, bool, CancellationToken)"/> throws <see cref="QueueFullException"/> at once.</summary>
    public int QueueCapacity { get; set; } = 1024;

    /// <summary>
    /// Most tokens admitted and not yet tagged (queued, or taken into a batch that has not run yet); past it
    /// <see cref="BatchingTagger.TagAllAsync"/> throws <see cref="QueueFullException"/> at once. A text is always
    /// admitted when nothing else is waiting, so no text is refused for its size alone.
    /// </summary>
    public int QueueTokenBudget { get; set; } = 200_000;
}

/// <summary>Figures about one forward pass, for metrics.</summary>
public sealed record BatchStatistics(int Texts, int Sentences, int Tokens, TimeSpan InferenceTime);

/// <summary>Thrown when the tagger's queue is full: the caller should retry later (backpressure).</summary>
public sealed class QueueFullException() : Exception("The tagging queue is full; retry shortly.");
