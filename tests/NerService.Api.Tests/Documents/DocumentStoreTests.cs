using NerService.Api.Database;
using NerService.Api.Documents;
using NerService.Model.Inference;

namespace NerService.Api.Tests.Documents;

public sealed class DocumentStoreTests : IAsyncLifetime
{
    private TestDatabase database = null!;
    private DocumentStore Store => database.Store;

    public async Task InitializeAsync() => database = await TestDatabase.CreateAsync();

    public async Task DisposeAsync() => await database.DisposeAsync();

    [Fact]
    public async Task StoredDocumentReadsBackWithItsEntitiesAndModel()
    {
        var before = DateTimeOffset.UtcNow.AddSeconds(-5);
        var new_ = TestDatabase.Document("Angela Merkel visited Paris.", ("PER", "Angela Merkel"), ("LOC", "Paris"));

        var ids = await Store.InsertAsync([new_]);
        var stored = await Store.GetAsync(ids[0], DocumentStore.AllTenants);

        Assert.NotNull(stored);
        Assert.Equal(new_.Text, stored.Text);
        Assert.Equal("test-model", stored.ModelName);
        Assert.Equal("1.0", stored.ModelVersion);
        Assert.False(stored.Reviewed);
        Assert.InRange(stored.CreatedAt, before, DateTimeOffset.UtcNow.AddSeconds(5));
        Assert.Equal(
            [new DocumentEntity("PER", 0, 13, "Angela Merkel", 0.9f), new DocumentEntity("LOC", 22, 27, "Paris", 0.9f)],
            stored.Entities);
    }

    [Fact]
    public async Task ManyDocumentsInOneCallGetIdsInInputOrder()
    {
        var documents = Enumerable.Range(0, 50).Select(i => TestDatabase.Document($"Document {i} about Berlin.", ("LOC", "Berlin"))).ToList();

        var ids = await Store.InsertAsync(documents);

        Assert.Equal(50, ids.Distinct().Count());
        for (var i = 0; i < ids.Length; i++)
            Assert.Equal(documents[i].Text, (await Store.GetAsync(ids[i], DocumentStore.AllTenants))!.Text);
        Assert.Equal(50, await database.ScalarAsync("SELECT count(*) FROM entities"));
    }

    [Fact]
    public async Task DocumentWithoutEntitiesIsStored()
    {
        var ids = await Store.InsertAsync([TestDatabase.Document("nothing here")]);
        Assert.Empty((await Store.GetAsync(ids[0], DocumentStore.AllTenants))!.Entities);
    }

    [Fact]
    public async Task UnknownIdReadsAsNull() => Assert.Null(await Store.GetAsync(123456, DocumentStore.AllTenants));

    [Fact]
    public async Task DeletedDocumentIsGoneWithItsEntities()
    {
        var ids = await Store.InsertAsync([TestDatabase.Document("Paris and Rome.", ("LOC", "Paris"), ("LOC", "Rome"))]);

        Assert.True(await Store.DeleteAsync(ids[0], DocumentStore.AllTenants));

        Assert.Null(await Store.GetAsync(ids[0], DocumentStore.AllTenants));
        Assert.Equal(0, await database.ScalarAsync("SELECT count(*) FROM entities"));
        Assert.False(await Store.DeleteAsync(ids[0], DocumentStore.AllTenants));
    }

    [Fact]
    public async Task SameIdempotencyKeyReturnsTheFirstDocument()
    {
        var first = await Store.InsertAsync([TestDatabase.KeyedDocument("Retry me in Oslo.", "key-1", ("LOC", "Oslo"))]);
        var retry = await Store.InsertAsync([TestDatabase.KeyedDocument("Retry me in Oslo.", "key-1", ("LOC", "Oslo"))]);

        Assert.Equal(first, retry);
        Assert.Equal(1, await database.ScalarAsync("SELECT count(*) FROM documents"));
        Assert.Equal(1, await database.ScalarAsync("SELECT count(*) FROM entities"));
    }

    [Fact]
    public async Task SameKeyTwiceInOneBatchStoresOneDocument()
    {
        var ids = await Store.InsertAsync([
            TestDatabase.KeyedDocument("one", "dup"),
            TestDatabase.Document("other"),
            TestDatabase.KeyedDocument("one", "dup"),
        ]);

        Assert.Equal(ids[0], ids[2]);
        Assert.NotEqual(ids[0], ids[1]);
        Assert.Equal(2, await database.ScalarAsync("SELECT count(*) FROM documents"));
    }

    [Fact]
    public async Task TheSameIdempotencyKeyInTwoTenantsStoresTwoDocuments()
    {
        var alices = await Store.InsertAsync([TestDatabase.KeyedDocument("Alice's text.", "key-1") with { Tenant = "alice" }]);
        var bobs = await Store.InsertAsync([TestDatabase.KeyedDocument("Bob's text.", "key-1") with { Tenant = "bob" }]);
        var bobsRetry = await Store.InsertAsync([TestDatabase.KeyedDocument("Bob's text.", "key-1") with { Tenant = "bob" }]);

        Assert.NotEqual(alices[0], bobs[0]);
        Assert.Equal(bobs, bobsRetry);
        Assert.Equal("Bob's text.", (await Store.GetAsync(bobs[0], "bob"))!.Text);
        Assert.Null(await Store.GetAsync(bobs[0], "alice"));
    }

    [Fact]
    public async Task ABatchDocumentsKeyIsANamespaceNoSingleRequestKeyReaches()
    {
        var batch = await Store.InsertAsync([
            TestDatabase.KeyedDocument("Batch document 0.", "K") with { IdempotencyBatchIndex = 0 },
            TestDatabase.KeyedDocument("Batch document 1.", "K") with { IdempotencyBatchIndex = 1 },
        ]);
        var singleHash0 = await Store.InsertAsync([TestDatabase.KeyedDocument("Single keyed K#0.", "K#0")]);
        var singleK = await Store.InsertAsync([TestDatabase.KeyedDocument("Single keyed K.", "K")]);
        var batchRetry = await Store.InsertAsync([
            TestDatabase.KeyedDocument("Batch document 0.", "K") with { IdempotencyBatchIndex = 0 },
            TestDatabase.KeyedDocument("Batch document 1.", "K") with { IdempotencyBatchIndex = 1 },
        ]);

        Assert.Equal(4, batch.Concat(singleHash0).Concat(singleK).Distinct().Count());
        Assert.Equal(batch, batchRetry);
        Assert.Equal(4, await database.ScalarAsync("SELECT count(*) FROM documents"));
    }

    [Fact]
    public async Task AnEntityOf9000LettersIsStoredAndFoundByItsTextAndPrefix()
    {
        var random = new Random(14);
        var name = "John Q" + new string(Enumerable.Range(0, 9_000).Select(_ => (char)('a' + random.Next(26))).ToArray()) + " Smith";
        var text = name + " met Angela Merkel in Paris.";

        var ids = await Store.InsertAsync([TestDatabase.Document(text, ("PER", name), ("PER", "Angela Merkel"), ("LOC", "Paris"))]);

        Assert.Equal(name, (await Store.GetAsync(ids[0], DocumentStore.AllTenants))!.Entities[0].Text);
        Assert.Equal(ids, (await Store.ListAsync(new DocumentFilter { EntityText = name }, null, 10)).Documents.Select(d => d.Id));
        Assert.Equal(ids, (await Store.ListAsync(new DocumentFilter { EntityPrefix = name[..100].ToUpperInvariant() }, null, 10)).Documents.Select(d => d.Id));
        Assert.Empty((await Store.ListAsync(new DocumentFilter { EntityPrefix = name[..100] + "zz" }, null, 10)).Documents);
        Assert.Contains(new EntityCount("PER", name, 1), await Store.TopEntitiesAsync(DocumentStore.AllTenants, "PER", name[..70], 10));
    }

    [Fact]
    public async Task ConcurrentRetriesWithTheSameKeyCreateOneDocument()
    {
        // Separate stores (and so connections) racing, as replicas or concurrent requests would.
        var attempts = Enumerable.Range(0, 16).Select(async i =>
        {
            await using var dataSource = Npgsql.NpgsqlDataSource.Create(database.ConnectionString);
            var store = new DocumentStore(dataSource);
            return (await store.InsertAsync([TestDatabase.KeyedDocument($"Attempt {i} from London.", "shared-key", ("LOC", "London"))]))[0];
        });

        var ids = await Task.WhenAll(attempts);

        Assert.Single(ids.Distinct());
        Assert.Equal(1, await database.ScalarAsync("SELECT count(*) FROM documents"));
        Assert.Equal(1, await database.ScalarAsync("SELECT count(*) FROM entities"));
    }

    [Fact]
    public async Task FiltersSelectByLabelEntityTextPrefixAndFullText()
    {
        var ids = await Store.InsertAsync([
            TestDatabase.Document("Apple opened a store in Berlin.", ("ORG", "Apple"), ("LOC", "Berlin")),
            TestDatabase.Document("The apple harvest in Bern was large.", ("LOC", "Bern")),
            TestDatabase.Document("Berliner Zeitung reported on cities.", ("ORG", "Berliner Zeitung")),
            TestDatabase.Document("A_b and ab are different names.", ("MISC", "A_b")),
        ]);

        async Task<long[]> Find(DocumentFilter filter) =>
            (await Store.ListAsync(filter, null, 100)).Documents.Select(d => d.Id).Order().ToArray();

        Assert.Equal([ids[0], ids[1]], await Find(new DocumentFilter { Label = "LOC" }));
        Assert.Equal([ids[0]], await Find(new DocumentFilter { EntityText = "Berlin" }));
        Assert.Empty(await Find(new DocumentFilter { EntityText = "berlin" }));
        Assert.Equal([ids[0], ids[1], ids[2]], await Find(new DocumentFilter { EntityPrefix = "bEr" }));
        Assert.Equal([ids[2]], await Find(new DocumentFilter { EntityPrefix = "berlin", Label = "ORG" }));
        // The label and the text must hold for the same entity: Apple is ORG, Berlin is LOC.
        Assert.Empty(await Find(new DocumentFilter { EntityText = "Apple", Label = "LOC" }));
        // LIKE wildcards in a prefix are literal characters.
        Assert.Equal([ids[3]], await Find(new DocumentFilter { EntityPrefix = "a_" }));
        Assert.Empty(await Find(new DocumentFilter { EntityPrefix = "%" }));
        Assert.Equal([ids[0], ids[1]], await Find(new DocumentFilter { Query = "apple" }));
        Assert.Equal([ids[2]], await Find(new DocumentFilter { Query = "city" })); // stemmed: "cities"
        Assert.Equal([ids[1]], await Find(new DocumentFilter { Query = "apple -store" }));
        Assert.Equal([ids[0]], await Find(new DocumentFilter { Query = "\"store in Berlin\"" }));
    }

    [Fact]
    public async Task TimeRangeIncludesItsStartAndExcludesItsEnd()
    {
        var ids = await Store.InsertAsync(Enumerable.Range(0, 4).Select(i => TestDatabase.Document($"day {i}")).ToList());
        await database.ExecuteAsync("UPDATE documents SET created_at = timestamptz '2025-03-01 00:00Z' + (id - (SELECT min(id) FROM documents)) * interval '1 day'");

        var page = await Store.ListAsync(new DocumentFilter
        {
            From = new DateTimeOffset(2025, 3, 2, 0, 0, 0, TimeSpan.Zero),
            To = new DateTimeOffset(2025, 3, 4, 0, 0, 0, TimeSpan.Zero),
        }, null, 100);

        Assert.Equal([ids[2], ids[1]], page.Documents.Select(d => d.Id));
    }

    [Fact]
    public async Task PagesVisitEveryDocumentOnceNewestFirstEvenWithTiesAndNewArrivals()
    {
        var ids = await Store.InsertAsync(Enumerable.Range(0, 47).Select(i => TestDatabase.Document($"Doc {i} on Madrid", ("LOC", "Madrid"))).ToList());
        // Groups of documents with the same creation time: the id breaks ties.
        await database.ExecuteAsync("UPDATE documents SET created_at = timestamptz '2025-01-01Z' + (id % 5) * interval '1 microsecond'");
        var expected = (await Store.ListAsync(new DocumentFilter(), null, 100)).Documents
            .OrderByDescending(d => d.CreatedAt).ThenByDescending(d => d.Id).Select(d => d.Id).ToList();

        var seen = new List<long>();
        DocumentCursor? cursor = null;
        var pages = 0;
        while (true)
        {
            var page = await Store.ListAsync(new DocumentFilter { Label = "LOC" }, cursor, 10);
            seen.AddRange(page.Documents.Select(d => d.Id));
            pages++;
            if (pages == 2) // a document stored while paging sorts first and does not shift later pages
                await Store.InsertAsync([TestDatabase.Document("Late news from Madrid", ("LOC", "Madrid"))]);
            if (page.NextCursor is null)
                break;
            Assert.True(DocumentCursor.TryDecode(page.NextCursor, out var next));
            cursor = next;
        }

        Assert.Equal(5, pages);
        Assert.Equal(expected, seen);
        Assert.Equal(ids.Order(), seen.Order());
    }

    [Fact]
    public async Task TopEntitiesCountsByLabelAndText()
    {
        await Store.InsertAsync([
            TestDatabase.Document("Paris, Paris and Rome.", ("LOC", "Paris"), ("LOC", "Paris"), ("LOC", "Rome")),
            TestDatabase.Document("Paris Hilton in Rome.", ("PER", "Paris Hilton"), ("LOC", "Rome")),
            TestDatabase.Document("paris again.", ("LOC", "paris")),
        ]);

        Assert.Equal(
            [new EntityCount("LOC", "Paris", 2), new EntityCount("LOC", "Rome", 2), new EntityCount("LOC", "paris", 1), new EntityCount("PER", "Paris Hilton", 1)],
            await Store.TopEntitiesAsync(DocumentStore.AllTenants, null, null, 10));
        Assert.Equal(
            [new EntityCount("LOC", "Paris", 2), new EntityCount("LOC", "paris", 1)],
            await Store.TopEntitiesAsync(DocumentStore.AllTenants, "LOC", "PAR", 10));
        Assert.Equal([new EntityCount("LOC", "Paris", 2)], await Store.TopEntitiesAsync(DocumentStore.AllTenants, null, null, 1));
    }

    private static readonly IReadOnlySet<string> Labels = new HashSet<string> { "PER", "LOC", "ORG", "MISC" };

    [Fact]
    public async Task CorrectionReplacesEntitiesAndMarksReviewed()
    {
        var ids = await Store.InsertAsync([TestDatabase.Document("Jordan played in Chicago.", ("LOC", "Jordan"))]);

        var corrected = await Store.ReplaceEntitiesAsync(ids[0], DocumentStore.AllTenants, [new CorrectedEntity("LOC", 17, 24), new CorrectedEntity("PER", 0, 6, "Jordan")], Labels);

        var stored = await Store.GetAsync(ids[0], DocumentStore.AllTenants);
        Assert.Equal(corrected!.Entities, stored!.Entities);
        Assert.True(corrected.Reviewed);
        Assert.True(stored.Reviewed);
        Assert.Equal([new DocumentEntity("PER", 0, 6, "Jordan", null), new DocumentEntity("LOC", 17, 24, "Chicago", null)], stored.Entities);
    }

    [Theory]
    [InlineData("LOC", 17, 30, null, "not a non-empty range")]
    [InlineData("LOC", -1, 3, null, "not a non-empty range")]
    [InlineData("LOC", 5, 5, null, "not a non-empty range")]
    [InlineData("CITY", 17, 24, null, "unknown label 'CITY'")]
    [InlineData("LOC", 17, 24, "Chicag0", "is not the text at 17..24")]
    public async Task InvalidCorrectionIsRefusedAndChangesNothing(string label, int start, int end, string? text, string problem)
    {
        var ids = await Store.InsertAsync([TestDatabase.Document("Jordan played in Chicago.", ("PER", "Jordan"))]);

        var error = await Assert.ThrowsAsync<InvalidDocumentException>(() =>
            Store.ReplaceEntitiesAsync(ids[0], DocumentStore.AllTenants, [new CorrectedEntity(label, start, end, text)], Labels));

        Assert.Contains(problem, error.Message);
        var stored = await Store.GetAsync(ids[0], DocumentStore.AllTenants);
        Assert.False(stored!.Reviewed);
        Assert.Equal([new DocumentEntity("PER", 0, 6, "Jordan", 0.9f)], stored.Entities);
    }

    [Fact]
    public async Task OverlappingCorrectionsAreRefused()
    {
        var ids = await Store.InsertAsync([TestDatabase.Document("New York City")]);

        var error = await Assert.ThrowsAsync<InvalidDocumentException>(() =>
            Store.ReplaceEntitiesAsync(ids[0], DocumentStore.AllTenants, [new CorrectedEntity("LOC", 4, 13), new CorrectedEntity("LOC", 0, 8)], Labels));

        Assert.Contains("overlaps", error.Message);
    }

    [Fact]
    public async Task CorrectingAnUnknownDocumentReturnsNull() =>
        Assert.Null(await Store.ReplaceEntitiesAsync(987654, DocumentStore.AllTenants, [], Labels));

    [Fact]
    public async Task StreamReadsDocumentsInIdOrderFilteredByReview()
    {
        var ids = await Store.InsertAsync([
            TestDatabase.Document("One in Rome.", ("LOC", "Rome")),
            TestDatabase.Document("Two."),
            TestDatabase.Document("Three in Oslo and Bergen.", ("LOC", "Oslo"), ("LOC", "Bergen")),
        ]);
        await Store.ReplaceEntitiesAsync(ids[2], DocumentStore.AllTenants, [new CorrectedEntity("LOC", 9, 13)], Labels);
        await Store.ReplaceEntitiesAsync(ids[1], DocumentStore.AllTenants, [], Labels);

        async Task<List<StoredDocument>> Read(bool? reviewed)
        {
            var stream = await Store.OpenStreamAsync(reviewed, DocumentStore.AllTenants);
            return await stream.ReadAllAsync().ToListAsync();
        }

        Assert.Equal(ids, (await Read(null)).Select(d => d.Id));
        var reviewed = await Read(true);
        Assert.Equal([ids[1], ids[2]], reviewed.Select(d => d.Id));
        Assert.Empty(reviewed[0].Entities);
        Assert.Equal([new DocumentEntity("LOC", 9, 13, "Oslo", null)], reviewed[1].Entities);
        Assert.Equal([ids[0]], (await Read(false)).Select(d => d.Id));
    }
}
