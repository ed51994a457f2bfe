using System.Threading.Channels;
using Microsoft.Extensions.Options;
using NerService.Api.Database;

namespace NerService.Api.Documents;

/// <summary>
/// Stores documents for many concurrent callers with one database round trip per batch: callers queue their
/// document and await its id; a background loop waits for the first document, then drains whatever else is
/// queued (up to <see cref="DatabaseOptions.WriteBatchSize"/>) into one insert. Batches form by themselves
/// while the previous insert is in flight, so a lone caller waits for no timer.
/// </summary>
public sealed class DocumentWriter : BackgroundService
{
    private readonly DocumentStore store;
    private readonly ILogger<DocumentWriter> logger;
    private readonly int batchSize;
    private readonly Channel<PendingDocument> queue;

    public DocumentWriter(DocumentStore store, IOptions<DatabaseOptions> options, ILogger<DocumentWriter> logger)
    {
        this.store = store;
        this.logger = logger;
        batchSize = options.Value.WriteBatchSize;
        queue = Channel.CreateBounded<PendingDocument>(new BoundedChannelOptions(options.Value.WriteQueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>Raised after each batch write with the number of documents in it (for metrics).</summary>
    public event Action<int>? BatchWritten;

    /// <summary>
    /// Stores a document and returns its id (the existing document's id when its idempotency key is already
    /// stored). Throws <see cref="InvalidDocumentException"/> at once for a document that cannot be stored, so
    /// one bad document never fails the batch it would have joined, and
    /// <see cref="DatabaseUnavailableException"/> when the batch could not be written (then nothing of it was).
    /// Cancelling stops the wait, not the write: a document already queued may still be stored.
    /// </summary>
    public async Task<long> StoreAsync(NewDocument document, CancellationToken cancellationToken = default)
    {
        if (DocumentValidation.FindProblem(document) is { } problem)
            throw new InvalidDocumentException(problem);
        var pending = new PendingDocument(document);
        try
        {
            await queue.Writer.WriteAsync(pending, cancellationToken);
        }
        catch (ChannelClosedException)
        {
            throw new DatabaseUnavailableException("The service is shutting down and stores no more documents.");
        }
        return await pending.Id.Task.WaitAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<PendingDocument>(batchSize);
        // Not the stopping token: on shutdown the queue is completed instead, and what is queued still gets written.
        while (await queue.Reader.WaitToReadAsync(CancellationToken.None))
        {
            batch.Clear();
            while (batch.Count < batchSize && queue.Reader.TryRead(out var pending))
                batch.Add(pending);
            await WriteAsync(batch);
        }
    }

    private async Task WriteAsync(List<PendingDocument> batch)
    {
        try
        {
            var ids = await store.InsertAsync(batch.Select(p => p.Document).ToList());
            for (var i = 0; i < batch.Count; i++)
                batch[i].Id.TrySetResult(ids[i]);
            BatchWritten?.Invoke(batch.Count);
        }
        catch (Exception ex)
        {
            if (ex is not DatabaseUnavailableException)
                logger.LogError(ex, "Writing a batch of {Count} documents failed", batch.Count);
            foreach (var pending in batch)
                pending.Id.TrySetException(ex);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        queue.Writer.TryComplete();
        if (ExecuteTask is { } running)
            await running.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await base.StopAsync(cancellationToken);
    }

    private sealed class PendingDocument(NewDocument document)
    {
        public NewDocument Document { get; } = document;
        public TaskCompletionSource<long> Id { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
