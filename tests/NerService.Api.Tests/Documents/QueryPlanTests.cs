using System.Text;
using NerService.Api.Documents;
using Npgsql;
using Xunit.Abstractions;

namespace NerService.Api.Tests.Documents;

/// <summary>
/// The listing and entity queries use indexes at scale: 200,000 synthetic documents with 400,000 entities
/// (NERSERVICE_QUERY_PLAN_DOCUMENTS sets another count), analysed, then each selective filter's plan must reach
/// the rows through an index, never a sequential scan of documents or entities. Set NERSERVICE_QUERY_PLANS to a
/// file path to write the plans as Markdown (docs/query-plans.md was written that way, with NERSERVICE_QUERY_PLAN_DOCUMENTS=1000000).
/// </summary>
public sealed class QueryPlanTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly int Documents =
        int.TryParse(Environment.GetEnvironmentVariable("NERSERVICE_QUERY_PLAN_DOCUMENTS"), out var count) && count > 0 ? count : 200_000;
    private TestDatabase database = null!;

    public async Task InitializeAsync()
    {
        database = await TestDatabase.CreateAsync();
        // One document a minute from 2024-01-01 in ten large tenants and a small one (every 1,000th); 20,000 person names (10 documents each), 5,000 places
        // (40 each), 10,000 topic words (20 documents each); every 50th document reviewed; lowest entity scores spread
        // over 997 values in no relation to time or tenant.
        await database.ExecuteAsync($"""
            INSERT INTO documents (tenant, text, model_name, model_version, created_at, reviewed, lowest_entity_score)
            SELECT CASE WHEN g % 1000 = 0 THEN 'small' ELSE 'tenant' || (g % 10) END, format('Report %s: Person%s met officials in Place%s about topic%s.', g, g % 20000, g % 5000, g % 10000),
                   'synthetic', '1', timestamptz '2024-01-01Z' + g * interval '1 minute', g % 50 = 0, (g::bigint * 7919 % 997) / 997.0
            FROM generate_series(1, {Documents}) g;
            INSERT INTO entities (document_id, tenant, label, start_offset, end_offset, text, score)
            SELECT id, tenant, 'PER', 0, 5, 'Person' || (id % 20000), lowest_entity_score FROM documents
            UNION ALL
            SELECT id, tenant, (ARRAY['LOC', 'ORG', 'MISC'])[1 + id % 3], 10, 15, 'Place' || (id % 5000), greatest(lowest_entity_score, 0.8) FROM documents;
            ANALYZE documents;
            ANALYZE entities;
            """);
    }

    public async Task DisposeAsync() => await database.DisposeAsync();

    public static TheoryData<string> Cases => new(PlanCases.Keys);

    private static readonly Dictionary<string, (Func<NpgsqlParameterCollection, string> Sql, string ExpectedIndex)> PlanCases = new()
    {
        ["newest page, no filter"] = (p => DocumentStore.ListSql(new DocumentFilter(), null, 21, p), "documents_created_at_id"),
        ["next page (cursor)"] = (p => DocumentStore.ListSql(new DocumentFilter(), new DocumentCursor(new DateTime(2024, 3, 1, 0, 0, 0, DateTimeKind.Utc), 86_000), 21, p), "documents_created_at_id"),
        // A large tenant's page is found soon enough walking every document newest first; a small one's is not.
        ["a large tenant's newest page"] = (p => DocumentStore.ListSql(new DocumentFilter { Tenant = "tenant3" }, null, 21, p), "created_at_id"),
        ["a small tenant's newest page"] = (p => DocumentStore.ListSql(new DocumentFilter { Tenant = "small" }, null, 21, p), "documents_tenant_created_at_id"),
        ["a small tenant's next page (cursor)"] = (p => DocumentStore.ListSql(new DocumentFilter { Tenant = "small" }, new DocumentCursor(new DateTime(2024, 3, 1, 0, 0, 0, DateTimeKind.Utc), 86_000), 21, p), "documents_tenant_created_at_id"),
        ["entities of a page (at most 101 each)"] = (p => DocumentStore.EntitiesSql([.. Enumerable.Range(150_000, 20).Select(i => (long)i)], DocumentStore.MaxEntitiesPerListedDocument, p), "entities_pkey"),
        ["entity text exact"] = (p => DocumentStore.ListSql(new DocumentFilter { EntityText = "Person1234" }, null, 21, p), "entities_text_md5"),
        ["entity label and text"] = (p => DocumentStore.ListSql(new DocumentFilter { Label = "PER", EntityText = "Person1234" }, null, 21, p), "entities_text_md5"),
        ["a tenant's entity text"] = (p => DocumentStore.ListSql(new DocumentFilter { Tenant = "tenant4", EntityText = "Person1234" }, null, 21, p), "entities_text_md5"),
        ["entity prefix, case-insensitive"] = (p => DocumentStore.ListSql(new DocumentFilter { EntityPrefix = "PERSON1234" }, null, 21, p), "entities_text_lower_prefix"),
        ["label and prefix"] = (p => DocumentStore.ListSql(new DocumentFilter { Label = "LOC", EntityPrefix = "place123" }, null, 21, p), "entities_text_lower_prefix"),
        ["full-text query"] = (p => DocumentStore.ListSql(new DocumentFilter { Query = "topic1234" }, null, 21, p), "documents_search_vector"),
        ["time range (one day)"] = (p => DocumentStore.ListSql(new DocumentFilter { From = new DateTimeOffset(2024, 2, 1, 0, 0, 0, TimeSpan.Zero), To = new DateTimeOffset(2024, 2, 2, 0, 0, 0, TimeSpan.Zero) }, null, 21, p), "documents_created_at_id"),
        ["label only (not selective)"] = (p => DocumentStore.ListSql(new DocumentFilter { Label = "MISC" }, null, 21, p), "documents_created_at_id"),
        ["least confident first, every tenant"] = (p => DocumentStore.LeastConfidentListSql(new DocumentFilter(), null, 21, p), "documents_lowest_entity_score_id"),
        ["least confident next page (cursor)"] = (p => DocumentStore.LeastConfidentListSql(new DocumentFilter(), new ConfidenceCursor(0.5f, 86_000), 21, p), "documents_lowest_entity_score_id"),
        ["a small tenant's least confident page"] = (p => DocumentStore.LeastConfidentListSql(new DocumentFilter { Tenant = "small" }, null, 21, p), "documents_tenant_lowest_entity_score_id"),
        ["a small tenant's least confident next page (cursor)"] = (p => DocumentStore.LeastConfidentListSql(new DocumentFilter { Tenant = "small" }, new ConfidenceCursor(0.5f, 86_000), 21, p), "documents_tenant_lowest_entity_score_id"),
        ["a large tenant's unreviewed, least confident first"] = (p => DocumentStore.LeastConfidentListSql(new DocumentFilter { Tenant = "tenant3", Reviewed = false }, null, 21, p), "lowest_entity_score_id"),
        ["least confident with an entity text"] = (p => DocumentStore.LeastConfidentListSql(new DocumentFilter { EntityText = "Person1234" }, null, 21, p), "entities_text_md5"),
        ["a small tenant's counts (progress)"] = (p => DocumentStore.CountSql(new DocumentFilter { Tenant = "small" }, p), "documents_tenant_"),
        ["top entities with a prefix"] = (p => DocumentStore.TopEntitiesSql(DocumentStore.AllTenants, null, "person123", 20, p), "entities_text_lower_prefix"),
        ["top entities of a label with a prefix"] = (p => DocumentStore.TopEntitiesSql(DocumentStore.AllTenants, "PER", "person123", 20, p), "entities_text_lower_prefix"),
        ["a tenant's top entities with a prefix"] = (p => DocumentStore.TopEntitiesSql("tenant5", null, "person123", 20, p), "entities_text_lower_prefix"),
    };

    [Fact]
    public async Task SelectiveFiltersReachRowsThroughIndexes()
    {
        var report = new StringBuilder($"""
            # Query plans at scale

            Written by `QueryPlanTests` (tests/NerService.Api.Tests/Documents/QueryPlanTests.cs) on PostgreSQL 15:
            {Documents:N0} synthetic documents and {2 * Documents:N0} entities, analysed. Each plan is
            `EXPLAIN ANALYZE` of the exact SQL the store runs, with its parameters. The test fails if a selective
            filter's plan scans `documents` or `entities` sequentially.

            A page lists documents with one query and reads their entities with a second (at most 101 per
            document), so no entity row carries its document's text. Entity texts are indexed by their md5 and by
            the first 64 characters of their lower-case form (no B-tree row limit for long entities); each query
            rechecks the whole text. A small tenant's pages walk `documents_tenant_created_at_id`; a large
            tenant's and an admin's (every tenant) walk `documents_created_at_id`, which meets a page of them soon.
            Least-confident pages (`order=least-confident`) walk `documents_tenant_lowest_entity_score_id` and
            `documents_lowest_entity_score_id` the same way, in ascending order.

            Not covered by an index, by choice: `GET /entities` with no label or prefix aggregates every entity of
            the tenant (a full scan whose cost grows with the number of stored entities; a counts table kept by
            triggers would fix that if it matters), a label-only listing of a label that is rare among recent
            documents walks the `created_at` index until it has found a page, `GET /documents/count` (the review
            page's progress) counts every matching document of the tenant, and the `model` and `modelVersion` filters
            are checked on the documents a page walks (most documents share a few models).


            """);
        var failures = new List<string>();
        foreach (var (name, (sql, expectedIndex)) in PlanCases)
        {
            await using var command = database.DataSource.CreateCommand();
            command.CommandText = "EXPLAIN (ANALYZE, COSTS OFF, SUMMARY ON) " + sql(command.Parameters);
            var lines = new List<string>();
            await using (var reader = await command.ExecuteReaderAsync())
                while (await reader.ReadAsync())
                    lines.Add(reader.GetString(0));
            var plan = string.Join("\n", lines);
            report.Append($"## {name}\n\n```\n{plan}\n```\n\n");
            if (!plan.Contains(expectedIndex, StringComparison.Ordinal))
                failures.Add($"{name}: expected {expectedIndex}");
            if (plan.Contains("Seq Scan on documents", StringComparison.Ordinal) || plan.Contains("Seq Scan on entities", StringComparison.Ordinal))
                failures.Add($"{name}: sequential scan");
        }
        output.WriteLine(report.ToString());
        if (Environment.GetEnvironmentVariable("NERSERVICE_QUERY_PLANS") is { Length: > 0 } path)
            await File.WriteAllTextAsync(path, report.ToString());
        Assert.True(failures.Count == 0, string.Join("\n", failures) + "\n\n" + report);
    }
}
