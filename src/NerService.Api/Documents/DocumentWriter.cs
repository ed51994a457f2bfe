using System.Threading.Channels;
using Microsoft.Extensions.Options;
using NerService.Api.Database;

namespace NerService.Api.Documents;

/// <summary>
/// Stores documents for many concurrent callers with one database round trip per batch: callers queue their
/// document and await its id; a background loop waits for the first document, then drains whatever else is
/// queued (up to <see cref="DatabaseOptions.WriteBatchSize"/>) into one insert. Batches form by themselves
/// while the previous insert is in flight, so a lone caller waits for no timer. The documents of one
/// <see cref="StoreAllAsync"/> call are never split across inserts, so they are stored all or none.
/// </summary>
public sealed class DocumentWriter : BackgroundService
{
    private readonly DocumentStore store;
    private readonly ILogger<DocumentWriter> logger;
    private readonly int batchSize;
    private readonly Channel<PendingWrite> queue;

    public DocumentWriter(DocumentStore store, IOptions<DatabaseOptions> options, ILogger<DocumentWriter> logger)
    {
        this.store = store;
        this.logger = logger;
        batchSize = options.Value.WriteBatchSize;
        queue = Channel.CreateBounded<PendingWrite>(new BoundedChannelOptions(options.Value.WriteQueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>Raised after each batch write with the number of documents in it (for metrics).</summary>
    public event Action<int>? BatchWritten;

    /// <summary>
    /// Stores a document and returns its id (the existing document's id when its idempotency key is already
    /// stored). Throws <see cref="InvalidDocumentException"/> for a document that cannot be stored: at once when
    /// validation finds the problem, else after the batch it joined failed and each caller's write was retried
    /// alone (so one bad document never fails another caller's), and
    /// <see cref="DatabaseUnavailableException"/> when the batch could not be written (then nothing of it was).
    /// Cancelling stops the wait, not the write: a document already queued may still be stored.
    /// </summary>
    public async Task<long> StoreAsync(NewDocument document, CancellationToken cancellationToken = default) =>
        (await StoreAllAsync([document], cancellationToken))[0];

    /// <summary>
    /// Stores several documents in one transaction (all or none) and returns their ids in order; otherwise as
    /// <see cref="StoreAsync"/>. <c>POST /ner/batch</c> stores its documents this way.
    /// </summary>
    public async Task<long[]> StoreAllAsync(IReadOnlyList<NewDocument> documents, CancellationToken cancellationToken = default)
    {
        foreach (var document in documents)
        {
            if (DocumentValidation.FindProblem(document) is { } problem)
                throw new InvalidDocumentException(problem);
        }
        if (documents.Count == 0)
            return [];
        var pending = new PendingWrite(documents);
        try
        {
            await queue.Writer.WriteAsync(pending, cancellationToken);
        }
        catch (ChannelClosedException)
        {
            throw new DatabaseUnavailableException("The service is shutting down and stores no more documents.");
        }
        return await pending.Ids.Task.WaitAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<PendingWrite>();
        // Not the stopping token: on shutdown the queue is completed instead, and what is queued still gets written.
        while (await queue.Reader.WaitToReadAsync(CancellationToken.None))
        {
            batch.Clear();
            var documents = 0;
            // A write that does not fit waits for the next batch; one larger than a whole batch goes alone.
            while (queue.Reader.TryPeek(out var next) && (documents == 0 || documents + next.Documents.Count <= batchSize)
                && queue.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
                documents += pending.Documents.Count;
            }
            await WriteAsync(batch, documents);
        }
    }

    /// <summary>Store requests waiting for the writer (for tests that need to know a write has joined the queue).</summary>
    internal int Queued => queue.Reader.Count;

    private async Task WriteAsync(List<PendingWrite> batch, int documents)
    {
        try
        {
            var ids = await store.InsertAsync(batch.SelectMany(p => p.Documents).ToList());
            var offset = 0;
            foreach (var pending in batch)
            {
                pending.Ids.TrySetResult(ids[offset..(offset + pending.Documents.Count)]);
                offset += pending.Documents.Count;
            }
            BatchWritten?.Invoke(documents);
        }
        catch (Exception ex) when (ex is not DatabaseUnavailableException && batch.Count > 1)
        {
            // The batch was one transaction, so nothing of it is stored. One caller's document the database
            // refuses must not fail the other callers: each write is retried alone, and only the bad one fails.
            logger.LogWarning("Writing a batch of {Count} documents from {Writes} callers failed ({Message}); writing each caller's documents alone",
                documents, batch.Count, ex.Message);
            foreach (var pending in batch)
                await WriteAsync([pending], pending.Documents.Count);
        }
        catch (Exception ex)
        {
            if (ex is not (DatabaseUnavailableException or InvalidDocumentException))
                logger.LogError(ex, "Writing a batch of {Count} documents failed", documents);
            foreach (var pending in batch)
                pending.Ids.TrySetException(ex);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        queue.Writer.TryComplete();
        if (ExecuteTask is { } running)
            await running.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await base.StopAsync(cancellationToken);
    }

    private sealed class PendingWrite(IReadOnlyList<NewDocument> documents)
    {
        public IReadOnlyList<NewDocument> Documents { get; } = documents;
        public TaskCompletionSource<long[]> Ids { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
