using System.Diagnostics;
using System.Threading.Channels;

namespace NerService.Model.Inference;

/// <summary>
/// Serves many concurrent callers with one model. Callers' texts go into one bounded queue; a dedicated
/// inference thread takes sentences from as many waiting texts as fit in a batch (waiting at most
/// <see cref="BatchingOptions.MaxDelay"/> for the batch to fill), runs one forward pass, and completes each
/// caller with its own result. TorchSharp's dispose scopes are thread-bound, so all tensor work stays on
/// that one thread; callers never touch the model.
/// </summary>
public sealed class BatchingTagger : IAsyncDisposable
{
    private readonly NerModel model;
    private readonly BatchingOptions options;
    private readonly Channel<PendingText> queue;
    private readonly Thread worker;
    private readonly TaskCompletionSource stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int queueLength;

    public BatchingTagger(NerModel model, BatchingOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatchSentences, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatchTokens, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.QueueCapacity, 1);
        this.model = model;
        this.options = options;
        queue = Channel.CreateBounded<PendingText>(new BoundedChannelOptions(options.QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        worker = new Thread(Run) { IsBackground = true, Name = "ner-inference" };
        worker.Start();
    }

    /// <summary>The model this tagger serves.</summary>
    public ModelInfo Model => model.Info;

    /// <summary>Texts waiting for the inference thread.</summary>
    public int QueueLength => Volatile.Read(ref queueLength);

    /// <summary>Raised on the inference thread after each forward pass.</summary>
    public event Action<BatchStatistics>? BatchCompleted;

    /// <summary>
    /// Tags one text. Throws <see cref="QueueFullException"/> at once when the queue is full. A cancelled
    /// caller's text is dropped before inference if it has not started yet.
    /// </summary>
    public Task<TaggedText> TagAsync(string text, bool includeTokens = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        cancellationToken.ThrowIfCancellationRequested();
        var pending = new PendingText(model.Prepare(text), includeTokens, cancellationToken);
        if (!queue.Writer.TryWrite(pending))
        {
            if (queue.Reader.Completion.IsCompleted || !stopped.Task.IsCompleted && IsStopping)
                throw new ObjectDisposedException(nameof(BatchingTagger));
            throw new QueueFullException();
        }
        Interlocked.Increment(ref queueLength);
        return pending.Completion.Task;
    }

    private volatile bool IsStopping;

    /// <summary>Stops accepting texts, finishes the queued ones, then stops the inference thread.</summary>
    public async ValueTask DisposeAsync()
    {
        IsStopping = true;
        queue.Writer.TryComplete();
        await stopped.Task.ConfigureAwait(false);
    }

    private void Run()
    {
        var reader = queue.Reader;
        var batch = new List<PendingText>();
        try
        {
            while (WaitForWork(reader))
            {
                batch.Clear();
                var sentences = 0;
                var tokens = 0;
                var deadline = Stopwatch.GetTimestamp() + (long)(options.MaxDelay.TotalSeconds * Stopwatch.Frequency);
                while (true)
                {
                    if (reader.TryPeek(out var next))
                    {
                        var nextSentences = Math.Max(1, next.Prepared.Sentences.Count);
                        var nextTokens = next.Prepared.TokenCount;
                        var fits = batch.Count == 0
                            || (sentences + nextSentences <= options.MaxBatchSentences && tokens + nextTokens <= options.MaxBatchTokens);
                        if (!fits)
                            break;
                        reader.TryRead(out _);
                        Interlocked.Decrement(ref queueLength);
                        if (next.CancellationToken.IsCancellationRequested)
                        {
                            next.Completion.TrySetCanceled(next.CancellationToken);
                            continue;
                        }
                        batch.Add(next);
                        sentences += nextSentences;
                        tokens += nextTokens;
                        continue;
                    }
                    if (batch.Count > 0 && Stopwatch.GetTimestamp() >= deadline)
                        break;
                    if (reader.Completion.IsCompleted)
                        break;
                    // Short spin-wait keeps the added latency close to MaxDelay without a timer per batch.
                    Thread.Sleep(0);
                    if (batch.Count == 0 && !WaitForWork(reader))
                        break;
                }
                if (batch.Count > 0)
                    RunBatch(batch, sentences, tokens);
            }
        }
        finally
        {
            stopped.TrySetResult();
        }
    }

    private static bool WaitForWork(ChannelReader<PendingText> reader)
    {
        if (reader.TryPeek(out _))
            return true;
        return reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult();
    }

    private void RunBatch(List<PendingText> batch, int sentences, int tokens)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var results = model.Tag(batch.Select(p => p.Prepared).ToList(), batch.Select(p => p.IncludeTokens).ToList(), Decoding.Constrained);
            for (var i = 0; i < batch.Count; i++)
                batch[i].Completion.TrySetResult(results[i]);
        }
        catch (Exception ex)
        {
            foreach (var pending in batch)
                pending.Completion.TrySetException(ex);
        }
        BatchCompleted?.Invoke(new BatchStatistics(batch.Count, sentences, tokens, Stopwatch.GetElapsedTime(started)));
    }

    private sealed class PendingText(PreparedText prepared, bool includeTokens, CancellationToken cancellationToken)
    {
        public PreparedText Prepared { get; } = prepared;
        public bool IncludeTokens { get; } = includeTokens;
        public CancellationToken CancellationToken { get; } = cancellationToken;
        public TaskCompletionSource<TaggedText> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
