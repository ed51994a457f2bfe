using System.Diagnostics;
using System.Threading.Channels;

namespace NerService.Model.Inference;

/// <summary>
/// Serves many concurrent callers with one model. Callers' texts go into one bounded queue; a dedicated
/// inference thread takes texts until a batch is full (<see cref="BatchingOptions.MaxBatchSentences"/>,
/// <see cref="BatchingOptions.MaxBatchTokens"/>) or <see cref="BatchingOptions.MaxDelay"/> has passed since it
/// took the first, runs one forward pass, and completes each caller with its own result.
/// Why one dedicated thread: TorchSharp's dispose scopes are thread-bound and a model is not thread-safe, and on
/// a CPU the forward pass already uses every core through libtorch's own threads, so one pass at a time with
/// bigger batches beats several concurrent small ones. Tokenization runs on the callers' threads.
/// </summary>
public sealed class BatchingTagger : IAsyncDisposable
{
    private readonly NerModel model;
    private readonly BatchingOptions options;
    private readonly Channel<PendingText> queue;
    // Released once per queued text, so the worker can sleep until work arrives or its batch deadline passes.
    private readonly SemaphoreSlim arrivals = new(0);
    private readonly Thread worker;
    private readonly TaskCompletionSource stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool stopping;
    private int queueLength;

    public BatchingTagger(NerModel model, BatchingOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatchSentences, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatchTokens, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.QueueCapacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxDelay, TimeSpan.Zero);
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
    /// Tags one text. Throws <see cref="QueueFullException"/> at once when the queue is full, and
    /// <see cref="ObjectDisposedException"/> once shutdown has begun. A cancelled caller's task ends at once
    /// and its text is dropped if inference has not started on it.
    /// </summary>
    public Task<TaggedText> TagAsync(string text, bool includeTokens = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(stopping, this);
        var pending = new PendingText(model.Prepare(text), includeTokens, cancellationToken);
        if (!queue.Writer.TryWrite(pending))
        {
            pending.Dispose();
            ObjectDisposedException.ThrowIf(stopping, this);
            throw new QueueFullException();
        }
        Interlocked.Increment(ref queueLength);
        arrivals.Release();
        return pending.Completion.Task;
    }

    /// <summary>Stops accepting texts, finishes the queued ones, then stops the inference thread.</summary>
    public async ValueTask DisposeAsync()
    {
        stopping = true;
        queue.Writer.TryComplete();
        arrivals.Release();
        await stopped.Task.ConfigureAwait(false);
        arrivals.Dispose();
    }

    private void Run()
    {
        var reader = queue.Reader;
        var batch = new List<PendingText>();
        try
        {
            while (true)
            {
                if (!reader.TryPeek(out _))
                {
                    if (stopping)
                        return;
                    arrivals.Wait();
                    continue;
                }
                var deadline = Stopwatch.GetTimestamp() + (long)(options.MaxDelay.TotalSeconds * Stopwatch.Frequency);
                var (sentences, tokens) = (0, 0);
                while (true)
                {
                    var full = false;
                    while (reader.TryPeek(out var next))
                    {
                        var (nextSentences, nextTokens) = (Math.Max(1, next.Prepared.Sentences.Count), next.Prepared.TokenCount);
                        if (batch.Count > 0 && (sentences + nextSentences > options.MaxBatchSentences || tokens + nextTokens > options.MaxBatchTokens))
                        {
                            full = true;
                            break;
                        }
                        reader.TryRead(out _);
                        Interlocked.Decrement(ref queueLength);
                        if (next.CancellationToken.IsCancellationRequested)
                        {
                            next.Dispose();
                            continue;
                        }
                        batch.Add(next);
                        (sentences, tokens) = (sentences + nextSentences, tokens + nextTokens);
                    }
                    var remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
                    if (full || batch.Count == 0 || remaining <= TimeSpan.Zero || stopping)
                        break;
                    // Wait for more callers, but never past the deadline set when the first text was taken.
                    arrivals.Wait(remaining);
                }
                if (batch.Count > 0)
                {
                    RunBatch(batch, sentences, tokens);
                    batch.Clear();
                }
            }
        }
        finally
        {
            stopped.TrySetResult();
        }
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
            // A failure of the pass fails its callers, never the inference thread.
            foreach (var pending in batch)
                pending.Completion.TrySetException(ex);
        }
        finally
        {
            foreach (var pending in batch)
                pending.Dispose();
        }
        BatchCompleted?.Invoke(new BatchStatistics(batch.Count, sentences, tokens, Stopwatch.GetElapsedTime(started)));
    }

    private sealed class PendingText : IDisposable
    {
        private readonly CancellationTokenRegistration cancellation;

        public PendingText(PreparedText prepared, bool includeTokens, CancellationToken cancellationToken)
        {
            Prepared = prepared;
            IncludeTokens = includeTokens;
            CancellationToken = cancellationToken;
            cancellation = cancellationToken.Register(static state =>
            {
                var self = (PendingText)state!;
                self.Completion.TrySetCanceled(self.CancellationToken);
            }, this);
        }

        public PreparedText Prepared { get; }
        public bool IncludeTokens { get; }
        public CancellationToken CancellationToken { get; }
        public TaskCompletionSource<TaggedText> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Dispose()
        {
            cancellation.Dispose();
            Completion.TrySetCanceled(CancellationToken);
        }
    }
}
