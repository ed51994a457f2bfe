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
            Assert.Equal(texts[i], (await database.Store.GetAsync(ids[i], DocumentStore.AllTenants))!.Text);
        Assert.Equal(300, batches.Sum());
        Assert.True(batches.Count < 300 / 2, $"{batches.Count} round trips for 300 documents");
        Assert.All(batches, size => Assert.InRange(size, 1, 64));
    }

    [Fact]
    public async Task DocumentsStoredTogetherShareOneRoundTripAndKeepTheirOrder()
    {
        var texts = Enumerable.Range(0, 40).Select(i => $"Together {i} in Oslo.").ToList();

        var ids = await writer.StoreAllAsync(texts.Select(text => TestDatabase.Document(text, ("LOC", "Oslo"))).ToList());

        Assert.Equal(texts, await Task.WhenAll(ids.Select(async id => (await database.Store.GetAsync(id, DocumentStore.AllTenants))!.Text)));
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

    [Theory]
    [InlineData(0xD83D, "lone surrogate")] // half of an emoji; a char, as attributes cannot hold a lone surrogate in a string
    [InlineData(0, "NUL")]
    public async Task TextThatCannotBeStoredIsRefusedAndNothingOfItsBatchIsStored(int character, string problem)
    {
        var error = await Assert.ThrowsAsync<InvalidDocumentException>(() =>
            writer.StoreAllAsync([TestDatabase.Document("fine"), TestDatabase.Document($"bad {(char)character} text")]));

        Assert.Contains(problem, error.Message);
        Assert.Equal(0, await database.ScalarAsync("SELECT count(*) FROM documents"));
    }

    [Fact]
    public async Task EntitySpanOutsideTheTextIsRefused()
    {
        var document = new NewDocument("short", [new NerService.Model.Inference.EntitySpan("PER", 2, 9, "ort", 1f)], "m", "1");
        await Assert.ThrowsAsync<InvalidDocumentException>(() => writer.StoreAsync(document));
        Assert.Equal(0, await database.ScalarAsync("SELECT count(*) FROM documents"));
    }

    [Fact]
    public async Task ADocumentTheDatabaseRefusesFailsOnlyItsOwnCallerInASharedBatch()
    {
        // A document the database itself refuses, after validation: a trigger stands in for such limits.
        await database.ExecuteAsync("""
            CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.text LIKE 'poison%' THEN RAISE EXCEPTION 'poisoned text' USING ERRCODE = '22000'; END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER refuse_poison BEFORE INSERT ON documents FOR EACH ROW EXECUTE FUNCTION refuse_poison();
            """);
        // Hold the writer's first insert on a lock, so that the next two callers queue up and share one batch.
        await using var connection = await database.DataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var lockTable = new Npgsql.NpgsqlCommand("LOCK TABLE documents IN EXCLUSIVE MODE", connection, transaction))
            await lockTable.ExecuteNonQueryAsync();
        var first = writer.StoreAsync(TestDatabase.Document("first, held by the lock"));
        // Its insert is waiting for the lock once the server shows a lock on documents that is not granted.
        await EventuallyAsync(async () => await database.ScalarAsync("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'documents'::regclass") > 0);
        var good = writer.StoreAsync(TestDatabase.Document("good document from another caller"));
        var poisoned = writer.StoreAsync(TestDatabase.Document("poison from one caller"));
        await EventuallyAsync(() => Task.FromResult(writer.Queued == 2));
        await transaction.RollbackAsync();

        var error = await Assert.ThrowsAsync<InvalidDocumentException>(() => poisoned);
        Assert.Contains("poisoned text", error.Message);
        Assert.Equal("good document from another caller", (await database.Store.GetAsync(await good, DocumentStore.AllTenants))!.Text);
        Assert.True(await first > 0);
        Assert.Equal(2, await database.ScalarAsync("SELECT count(*) FROM documents"));
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The writer did not reach the expected state within 60 s.");
            await Task.Delay(10);
        }
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
