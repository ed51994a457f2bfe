using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NerService.Api.Database;
using NerService.Api.Documents;

namespace NerService.Api.Tests.Documents;

public sealed class DocumentWriterTests : IAsyncLifetime
{
    private TestDatabase database = null!;
    private DocumentWriter writer = null!;
    private readonly ConcurrentBag<int> batches = [];

    public async Task InitializeAsync()
    {
        database = await TestDatabase.CreateAsync();
        writer = new DocumentWriter(database.Store, Microsoft.Extensions.Options.Options.Create(new DatabaseOptions { WriteBatchSize = 64 }), NullLogger<DocumentWriter>.Instance);
        writer.BatchWritten += batches.Add;
        await writer.StartAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await writer.StopAsync(CancellationToken.None);
        writer.Dispose();
        await database.DisposeAsync();
    }

    [Fact]
    public async Task ConcurrentCallersShareRoundTripsAndEachGetsItsOwnDocument()
    {
        var texts = Enumerable.Range(0, 300).Select(i => $"Report {i} from Vienna.").ToList();

        var ids = await Task.WhenAll(texts.Select(text => Task.Run(() => writer.StoreAsync(TestDatabase.Document(text, ("LOC", "Vienna"))))));

        Assert.Equal(300, ids.Distinct().Count());
        for (var i = 0; i < texts.Count; i += 37)
            Assert.Equal(texts[i], (await database.Store.GetAsync(ids[i]))!.Text);
        Assert.Equal(300, batches.Sum());
        Assert.True(batches.Count < 300 / 2, $"{batches.Count} round trips for 300 documents");
        Assert.All(batches, size => Assert.InRange(size, 1, 64));
    }

    [Fact]
    public async Task DocumentsStoredTogetherShareOneRoundTripAndKeepTheirOrder()
    {
        var texts = Enumerable.Range(0, 40).Select(i => $"Together {i} in Oslo.").ToList();

        var ids = await writer.StoreAllAsync(texts.Select(text => TestDatabase.Document(text, ("LOC", "Oslo"))).ToList());

        Assert.Equal(texts, await Task.WhenAll(ids.Select(async id => (await database.Store.GetAsync(id))!.Text)));
        Assert.Equal([40], batches);
    }

    [Fact]
    public async Task RetriesWithOneKeyThroughTheWriterGetOneDocument()
    {
        var ids = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ =>
            Task.Run(() => writer.StoreAsync(TestDatabase.KeyedDocument("Same request", "request-42")))));

        Assert.Single(ids.Distinct());
        Assert.Equal(1, await database.ScalarAsync("SELECT count(*) FROM documents"));
    }

    [Fact]
    public async Task DocumentWithNulIsRefusedBeforeJoiningABatch()
    {
        var good = writer.StoreAsync(TestDatabase.Document("fine text"));
        await Assert.ThrowsAsync<InvalidDocumentException>(() => writer.StoreAsync(TestDatabase.Document("nul\0here")));
        Assert.True(await good > 0);
    }

    [Fact]
    public async Task QueuedDocumentsAreWrittenBeforeTheWriterStops()
    {
        var pending = Enumerable.Range(0, 50).Select(i => writer.StoreAsync(TestDatabase.Document($"Shutdown {i}"))).ToList();

        await writer.StopAsync(CancellationToken.None);

        Assert.Equal(50, (await Task.WhenAll(pending)).Distinct().Count());
        await Assert.ThrowsAsync<DatabaseUnavailableException>(() => writer.StoreAsync(TestDatabase.Document("too late")));
    }
}
