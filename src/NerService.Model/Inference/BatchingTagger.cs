using System.Diagnostics;
using System.Threading.Channels;

namespace NerService.Model.Inference;

/// <summary>
/// Serves many concurrent callers with one model. Callers' texts go into one bounded queue; dedicated
/// inference threads each take texts until a batch is full (<see cref="BatchingOptions.MaxBatchSentences"/>,
/// <see cref="BatchingOptions.MaxBatchTokens"/>) or <see cref="MaxDelay"/> has passed since taking the first,
/// run one forward pass, and complete each caller with its own result. Texts that arrive while every thread is
/// busy wait in the queue, so they form the next batches whatever the delay.
/// Why dedicated threads, one per core on a CPU, each running libtorch single-threaded: the recurrent layer's
/// steps are small matrix products that libtorch's intra-op threads mostly spend waiting on each other (two
/// threads tag slower than one here), while two passes side by side keep both cores busy (docs/benchmarks.md
/// has the measurement). On CUDA one thread feeds the GPU. Tokenization runs on the callers' threads.
/// </summary>
public sealed class BatchingTagger : IAsyncDisposable
{
    private readonly NerModel model;
    private readonly BatchingOptions options;
    private readonly Channel<PendingText> queue;
    // Released once per queued text, so the worker can sleep until work arrives or its batch deadline passes.
    // Kernel-backed, not SemaphoreSlim, which spins before it sleeps and so takes the core from the request
    // threads that would bring work (docs/benchmarks.md, the service's CPU). Left to its finalizer: a caller
    // racing shutdown may still release it after the last worker has gone.
    private readonly Semaphore arrivals = new(0, int.MaxValue);
    private readonly Thread[] workers;
    private readonly TaskCompletionSource stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool stopping;
    private int disposeStarted;
    private int queueLength;
    private long admittedTokens;
    private int runningWorkers;

    public BatchingTagger(NerModel model, BatchingOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatchSentences, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatchTokens, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.QueueCapacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.QueueTokenBudget, 1);
        if (options.MaxDelay is { } delay)
            ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero, nameof(options.MaxDelay));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.InferenceThreads, 0);
        this.model = model;
        this.options = options;
        queue = Channel.CreateBounded<PendingText>(new BoundedChannelOptions(options.QueueCapacity)
        {
            SingleReader = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        InferenceThreads = options.InferenceThreadsOn(model.Device);
        MaxDelay = options.MaxDelay ?? DefaultMaxDelay(model.Device, model.ThreadsPerPass);
        runningWorkers = InferenceThreads;
        workers = Enumerable.Range(0, InferenceThreads)
            .Select(i => new Thread(Run) { IsBackground = true, Name = $"ner-inference-{i}" })
            .ToArray();
        foreach (var worker in workers)
            worker.Start();
    }

    /// <summary>One inference thread per core on a CPU, one on a GPU.</summary>
    public static int DefaultInferenceThreads(TorchSharp.torch.Device device)
        => device.type == TorchSharp.DeviceType.CPU ? Environment.ProcessorCount : 1;

    /// <summary>
    /// No wait where each pass runs on one CPU core (the CPU default), 2 ms otherwise. A single-threaded pass that
    /// waits for its batch to fill leaves its core idle while the texts it waits for would queue and be batched
    /// anyway; a GPU's pass costs about the same for one sentence as for many, so there gathering pays. The
    /// service benchmark compares both delays (docs/benchmarks.md).
    /// </summary>
    public static TimeSpan DefaultMaxDelay(TorchSharp.torch.Device device, int threadsPerPass)
        => device.type == TorchSharp.DeviceType.CPU && threadsPerPass == 1 ? TimeSpan.Zero : TimeSpan.FromMilliseconds(2);

    /// <summary>How many forward passes may run side by side.</summary>
    public int InferenceThreads { get; }

    /// <summary>How long an inference thread with some work waits for its batch to fill.</summary>
    public TimeSpan MaxDelay { get; }

    /// <summary>The model this tagger serves.</summary>
    public ModelInfo Model => model.Info;

    /// <summary>Texts waiting for the inference thread.</summary>
    public int QueueLength => Volatile.Read(ref queueLength);

    /// <summary>Tokens admitted and not yet tagged: what <see cref="BatchingOptions.QueueTokenBudget"/> bounds.</summary>
    public long AdmittedTokens => Interlocked.Read(ref admittedTokens);

    /// <summary>
    /// A low estimate of a text's tokens from its length alone, to refuse before tokenizing a text that cannot fit:
    /// running English averages about 5 characters a token with its space, so 8 refuses only texts clearly over.
    /// </summary>
    private const int CharactersPerTokenAtMost = 8;

    /// <summary>Raised on the inference thread after each forward pass.</summary>
    public event Action<BatchStatistics>? BatchCompleted;

    /// <summary>
    /// Tags one text. Throws <see cref="QueueFullException"/> at once when the queue is full (in texts, or in tokens:
    /// <see cref="BatchingOptions.QueueTokenBudget"/>), and <see cref="ObjectDisposedException"/> once shutdown has
    /// begun. A cancelled caller's task ends at once and its text is dropped if inference has not started on it.
    /// </summary>
    public Task<TaggedText> TagAsync(string text, bool includeTokens = false, CancellationToken cancellationToken = default)
        => TagAllAsync([text], includeTokens, includeAlternatives: false, cancellationToken)[0];

    /// <summary>Tags one text, with each entity's alternatives and the possible entities when <paramref name="includeAlternatives"/>.</summary>
    public Task<TaggedText> TagAsync(string text, bool includeTokens, bool includeAlternatives, CancellationToken cancellationToken = default)
        => TagAllAsync([text], includeTokens, includeAlternatives, cancellationToken)[0];

    /// <summary>
    /// Tags several texts (one request's), admitted against the token budget together: all are queued, or
    /// <see cref="QueueFullException"/> is thrown. Should the queue run out of room for texts part-way, the exception
    /// comes after some were queued: the caller cancels <paramref name="cancellationToken"/> to drop them.
    /// </summary>
    public IReadOnlyList<Task<TaggedText>> TagAllAsync(IReadOnlyList<string> texts, bool includeTokens = false, bool includeAlternatives = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(stopping, this);
        // Tokenizing costs time and memory in proportion to the text: texts that clearly cannot fit are refused first.
        var admitted = AdmittedTokens;
        if (admitted > 0 && admitted + texts.Sum(text => (long)text.Length) / CharactersPerTokenAtMost > options.QueueTokenBudget)
            throw new QueueFullException();
        var prepared = texts.Select(model.Prepare).ToList();
        var tokens = prepared.Sum(text => (long)text.TokenCount);
        if (!TryAdmit(tokens))
            throw new QueueFullException();
        var tasks = new List<Task<TaggedText>>(prepared.Count);
        for (var i = 0; i < prepared.Count; i++)
        {
            var pending = new PendingText(new TextToTag(prepared[i], includeTokens, includeAlternatives), cancellationToken);
            if (!queue.Writer.TryWrite(pending))
            {
                // The texts not queued give their tokens back; the queued ones do when they are taken.
                Interlocked.Add(ref admittedTokens, -prepared.Skip(i).Sum(text => (long)text.TokenCount));
                pending.Dispose();
                ObjectDisposedException.ThrowIf(stopping, this);
                throw new QueueFullException();
            }
            Interlocked.Increment(ref queueLength);
            arrivals.Release();
            tasks.Add(pending.Completion.Task);
        }
        return tasks;
    }

    /// <summary>
    /// Reserves tokens in the budget. What arrives while nothing is admitted is admitted whatever its size (a
    /// request is bounded by the service's own limits), so that no request is refused for ever; later ones only
    /// while they fit.
    /// </summary>
    private bool TryAdmit(long tokens)
    {
        var total = Interlocked.Add(ref admittedTokens, tokens);
        if (total <= options.QueueTokenBudget || total == tokens)
            return true;
        Interlocked.Add(ref admittedTokens, -tokens);
        return false;
    }

    private void ReleaseTokens(PendingText text) => Interlocked.Add(ref admittedTokens, -text.Prepared.TokenCount);

    /// <summary>
    /// Stops accepting texts, finishes the queued ones, then stops the inference thread. Safe to call more than
    /// once (the host's shutdown drains the queue first; the container disposes it again later).
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposeStarted, 1) == 0)
        {
            stopping = true;
            queue.Writer.TryComplete();
            // Wake every idle worker so that each sees the queue closed.
            arrivals.Release(workers.Length);
        }
        await stopped.Task.ConfigureAwait(false);
    }

    private void Run()
    {
        var batch = new List<PendingText>();
        // A text taken from the queue that did not fit the last batch: it starts the next one. Several workers
        // read the queue, so a text cannot be peeked at and left there for later.
        PendingText? carried = null;
        try
        {
            while (true)
            {
                if (carried is { CancellationToken.IsCancellationRequested: true })
                {
                    ReleaseTokens(carried);
                    carried.Dispose(); // its caller went away while it waited
                    carried = null;
                }
                var first = carried ?? TakeNext();
                carried = null;
                if (first is null)
                {
                    if (stopping)
                        return;
                    arrivals.WaitOne();
                    continue;
                }
                var deadline = Stopwatch.GetTimestamp() + (long)(MaxDelay.TotalSeconds * Stopwatch.Frequency);
                batch.Add(first);
                var (sentences, tokens) = Size(first);
                while (true)
                {
                    while (TakeNext() is { } next)
                    {
                        var (nextSentences, nextTokens) = Size(next);
                        if (sentences + nextSentences > options.MaxBatchSentences || tokens + nextTokens > options.MaxBatchTokens)
                        {
                            carried = next;
                            break;
                        }
                        batch.Add(next);
                        (sentences, tokens) = (sentences + nextSentences, tokens + nextTokens);
                    }
                    var remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
                    if (IsFull(sentences, tokens) || carried is not null || remaining <= TimeSpan.Zero || stopping)
                        break;
                    // Wait for more callers, but never past the deadline set when the first text was taken.
                    arrivals.WaitOne(remaining);
                }
                RunBatch(batch, sentences, tokens);
                batch.Clear();
            }
        }
        finally
        {
            if (carried is not null)
            {
                ReleaseTokens(carried);
                carried.Dispose();
            }
            if (Interlocked.Decrement(ref runningWorkers) == 0)
                stopped.TrySetResult();
        }
    }

    /// <summary>The next queued text whose caller is still waiting; cancelled ones are dropped on the way.</summary>
    private PendingText? TakeNext()
    {
        while (queue.Reader.TryRead(out var next))
        {
            Interlocked.Decrement(ref queueLength);
            if (!next.CancellationToken.IsCancellationRequested)
                return next;
            ReleaseTokens(next);
            next.Dispose();
        }
        return null;
    }

    private bool IsFull(int sentences, int tokens) => sentences >= options.MaxBatchSentences || tokens >= options.MaxBatchTokens;

    private static (int Sentences, int Tokens) Size(PendingText text)
        => (Math.Max(1, text.Prepared.Sentences.Count), text.Prepared.TokenCount);

    private void RunBatch(List<PendingText> batch, int sentences, int tokens)
    {
        var started = Stopwatch.GetTimestamp();
        IReadOnlyList<TaggedText>? results = null;
        Exception? failure = null;
        try
        {
            results = model.Tag(batch.Select(p => p.Request).ToList(), Decoding.Constrained);
        }
        catch (Exception ex)
        {
            // A failure of the pass fails its callers, never the inference thread.
            failure = ex;
        }
        // The batch's tokens leave the budget before any caller is answered: a caller with its result can send
        // its next text against the budget it freed.
        foreach (var pending in batch)
            ReleaseTokens(pending);
        for (var i = 0; i < batch.Count; i++)
        {
            if (results is not null)
                batch[i].Completion.TrySetResult(results[i]);
            else
                batch[i].Completion.TrySetException(failure!);
            batch[i].Dispose();
        }
        BatchCompleted?.Invoke(new BatchStatistics(batch.Count, sentences, tokens, Stopwatch.GetElapsedTime(started)));
    }

    private sealed class PendingText : IDisposable
    {
        private readonly CancellationTokenRegistration cancellation;

        public PendingText(TextToTag request, CancellationToken cancellationToken)
        {
            Request = request;
            CancellationToken = cancellationToken;
            cancellation = cancellationToken.Register(static state =>
            {
                var self = (PendingText)state!;
                self.Completion.TrySetCanceled(self.CancellationToken);
            }, this);
        }

        public TextToTag Request { get; }
        public PreparedText Prepared => Request.Text;
        public CancellationToken CancellationToken { get; }
        public TaskCompletionSource<TaggedText> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Dispose()
        {
            cancellation.Dispose();
            Completion.TrySetCanceled(CancellationToken);
        }
    }
}
