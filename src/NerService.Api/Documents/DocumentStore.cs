using System.Runtime.CompilerServices;
using NerService.Api.Database;
using Npgsql;
using NpgsqlTypes;

namespace NerService.Api.Documents;

/// <summary>
/// All SQL about documents and entities, over the service's one <see cref="NpgsqlDataSource"/>. Connection
/// failures surface as <see cref="DatabaseUnavailableException"/>; refused input as
/// <see cref="InvalidDocumentException"/>.
/// </summary>
public sealed class DocumentStore(NpgsqlDataSource dataSource)
{
    public const int MaxPageSize = 100;

    /// <summary>The tenant scope of an admin: every tenant's documents.</summary>
    public const string? AllTenants = null;

    /// <summary>Most entities of one document in a list page; the document says when it has more (read it whole by id).</summary>
    public const int MaxEntitiesPerListedDocument = 100;

    /// <summary>Documents the export reads per query; each query runs under the connection's command timeout.</summary>
    public const int ExportBatchDocuments = 100;

    // Ids are taken from the sequence up front so that each inserted row can be matched to its input position
    // (RETURNING order is not guaranteed). Rows whose idempotency key already exists in their tenant are skipped,
    // and so are their entities. The whole batch is one implicit transaction: all documents are stored or none.
    private const string InsertDocumentsSql = """
        WITH input AS (
            SELECT nextval(pg_get_serial_sequence('documents', 'id')) AS id, i.*
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::integer[], $6::text[], $13::real[]) WITH ORDINALITY
                AS i(text, model_name, model_version, idempotency_key, idempotency_batch_index, tenant, lowest_entity_score, ordinal)
        ),
        inserted AS (
            INSERT INTO documents (id, tenant, text, model_name, model_version, idempotency_key, idempotency_batch_index, lowest_entity_score)
            SELECT id, tenant, text, model_name, model_version, idempotency_key, idempotency_batch_index, lowest_entity_score FROM input ORDER BY ordinal
            ON CONFLICT (tenant, idempotency_key, idempotency_batch_index) WHERE idempotency_key IS NOT NULL DO NOTHING
            RETURNING id
        ),
        inserted_entities AS (
            INSERT INTO entities (document_id, tenant, label, start_offset, end_offset, text, score)
            SELECT input.id, input.tenant, e.label, e.start_offset, e.end_offset, e.text, e.score
            FROM unnest($7::bigint[], $8::text[], $9::integer[], $10::integer[], $11::text[], $12::real[])
                AS e(ordinal, label, start_offset, end_offset, text, score)
            JOIN input ON input.ordinal = e.ordinal
            JOIN inserted ON inserted.id = input.id
        )
        SELECT input.ordinal, input.id FROM input JOIN inserted ON inserted.id = input.id
        """;

    // A second statement of the same batch, hence a fresh snapshot: it sees a row with the same key that a
    // concurrent transaction committed while the insert above waited for it (ON CONFLICT waits for the other
    // transaction to finish), which the insert's own snapshot could not.
    private const string KeyedIdsSql = """
        SELECT k.ordinal, d.id
        FROM unnest($1::text[], $2::integer[], $3::text[]) WITH ORDINALITY AS k(idempotency_key, idempotency_batch_index, tenant, ordinal)
        JOIN documents d ON d.tenant = k.tenant AND d.idempotency_key = k.idempotency_key
            AND d.idempotency_batch_index IS NOT DISTINCT FROM k.idempotency_batch_index
        """;

    private const string DocumentColumns = "d.id, d.text, d.model_name, d.model_version, d.created_at, d.reviewed, d.tenant, d.lowest_entity_score";
    private const string EntityColumns = "e.document_id, e.label, e.start_offset, e.end_offset, e.text, e.score";

    /// <summary>
    /// Stores documents, each in its own tenant, in one database round trip and returns their ids in input order.
    /// A document whose idempotency key is already stored in its tenant (earlier, concurrently, or earlier in this
    /// batch) gets that document's id and is not written again. The documents come validated from
    /// <see cref="DocumentWriter"/>, which applies <see cref="DocumentValidation"/>; a document the database itself
    /// refuses (a data error) fails the call with <see cref="InvalidDocumentException"/>, and nothing of the call is
    /// stored then.
    /// </summary>
    public Task<long[]> InsertAsync(IReadOnlyList<NewDocument> documents, CancellationToken cancellationToken = default)
    {
        if (documents.Count == 0)
            return Task.FromResult(Array.Empty<long>());
        return DatabaseUnavailableException.Guard(async () =>
        {
            try
            {
                return await InsertValidatedAsync(documents, cancellationToken);
            }
            // Data exceptions (22), constraint violations (23) and limits such as an index row's size (54) are
            // about the documents, not the service: the caller learns what the database refused.
            catch (PostgresException refused) when (refused.SqlState[..2] is "22" or "23" or "54")
            {
                throw new InvalidDocumentException($"The database refused the document: {refused.MessageText}");
            }
        });
    }

    private async Task<long[]> InsertValidatedAsync(IReadOnlyList<NewDocument> documents, CancellationToken cancellationToken)
    {
        var entityCount = documents.Sum(d => d.Entities.Count);
        var entityOrdinals = new long[entityCount];
        var labels = new string[entityCount];
        var starts = new int[entityCount];
        var ends = new int[entityCount];
        var texts = new string[entityCount];
        var scores = new float[entityCount];
        var k = 0;
        for (var i = 0; i < documents.Count; i++)
        {
            foreach (var entity in documents[i].Entities)
            {
                entityOrdinals[k] = i + 1;
                labels[k] = entity.Label;
                starts[k] = entity.Start;
                ends[k] = entity.End;
                texts[k] = entity.Text;
                scores[k] = entity.Score;
                k++;
            }
        }
        var keys = documents.Select(d => d.IdempotencyKey).ToArray();
        var batchIndexes = documents.Select(d => d.IdempotencyKey is null ? null : d.IdempotencyBatchIndex).ToArray();
        var tenants = documents.Select(d => d.Tenant).ToArray();

        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand(InsertDocumentsSql)
        {
            Parameters =
            {
                new() { Value = documents.Select(d => d.Text).ToArray() },
                new() { Value = documents.Select(d => d.ModelName).ToArray() },
                new() { Value = documents.Select(d => d.ModelVersion).ToArray() },
                new() { Value = keys, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text },
                new() { Value = batchIndexes, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer },
                new() { Value = tenants },
                new() { Value = entityOrdinals },
                new() { Value = labels },
                new() { Value = starts },
                new() { Value = ends },
                new() { Value = texts },
                new() { Value = scores },
                // +Infinity, the minimum of no scores, sorts a document without entities after every scored one (V004).
                new() { Value = documents.Select(d => d.Entities.Count == 0 ? float.PositiveInfinity : d.Entities.Min(e => e.Score)).ToArray() },
            },
        });
        var anyKeys = keys.Any(key => key is not null);
        if (anyKeys)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(KeyedIdsSql)
            {
                Parameters =
                {
                    new() { Value = keys, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text },
                    new() { Value = batchIndexes, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer },
                    new() { Value = tenants },
                },
            });
        }

        var ids = new long[documents.Count];
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            ids[reader.GetInt64(0) - 1] = reader.GetInt64(1);
        if (anyKeys)
        {
            await reader.NextResultAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
                ids[reader.GetInt64(0) - 1] = reader.GetInt64(1);
        }
        if (Array.IndexOf(ids, 0L) is var missing and >= 0)
            throw new InvalidOperationException($"Document {missing} of the batch was neither stored nor found by its idempotency key.");
        return ids;
    }

    /// <summary>A document with all its entities; null when there is none with this id in <paramref name="tenant"/> (null: any tenant).</summary>
    public Task<StoredDocument?> GetAsync(long id, string? tenant, CancellationToken cancellationToken = default) =>
        DatabaseUnavailableException.Guard(async () =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            var documents = await ReadDocumentsAsync(connection, $"SELECT {DocumentColumns} FROM documents d WHERE d.id = $1 {TenantCondition(tenant, 2)}",
                [id, tenant], cancellationToken);
            if (documents.Count == 0)
                return null;
            var entities = await ReadEntitiesAsync(connection, [id], maxPerDocument: null, cancellationToken);
            return documents[0] with { Entities = entities.GetValueOrDefault(id) ?? [] };
        });

    /// <summary>Deletes a document and its entities; false when there was none with this id in <paramref name="tenant"/> (null: any tenant).</summary>
    public Task<bool> DeleteAsync(long id, string? tenant, CancellationToken cancellationToken = default) =>
        DatabaseUnavailableException.Guard(async () =>
        {
            await using var command = dataSource.CreateCommand($"DELETE FROM documents d WHERE d.id = $1 {TenantCondition(tenant, 2)}");
            command.Parameters.Add(new() { Value = id });
            if (tenant is not null)
                command.Parameters.Add(new() { Value = tenant });
            return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
        });

    /// <summary>
    /// A page of documents matching <paramref name="filter"/>, newest first, ordered by (created_at, id) so that
    /// following <see cref="DocumentPage.NextCursor"/> visits every matching document once, even while new
    /// documents arrive (they sort before the first page). Each document carries at most
    /// <see cref="MaxEntitiesPerListedDocument"/> entities (<see cref="StoredDocument.EntitiesTruncated"/> says when
    /// it has more): texts and entities are read by separate queries, so no entity row drags its document's text along.
    /// </summary>
    public Task<DocumentPage> ListAsync(DocumentFilter filter, DocumentCursor? after, int limit, CancellationToken cancellationToken = default) =>
        ListPageAsync(parameters => ListSql(filter, after, limit + 1, parameters),
            last => new DocumentCursor(last.CreatedAt.UtcDateTime, last.Id).Encode(), limit, cancellationToken);

    /// <summary>
    /// As <see cref="ListAsync"/>, least confident first: ordered by (lowest entity score, id), documents without
    /// scored entities last. A document's score is fixed when it is stored, so the cursor visits every matching
    /// document once; documents stored meanwhile appear where their score puts them (before the cursor: not at all).
    /// </summary>
    public Task<DocumentPage> ListLeastConfidentAsync(DocumentFilter filter, ConfidenceCursor? after, int limit, CancellationToken cancellationToken = default) =>
        ListPageAsync(parameters => LeastConfidentListSql(filter, after, limit + 1, parameters),
            last => new ConfidenceCursor(last.LowestEntityScore, last.Id).Encode(), limit, cancellationToken);

    private Task<DocumentPage> ListPageAsync(Func<NpgsqlParameterCollection, string> pageSql, Func<StoredDocument, string> cursorAfter, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, MaxPageSize);
        return DatabaseUnavailableException.Guard(async () =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            List<StoredDocument> documents;
            await using (var command = new NpgsqlCommand { Connection = connection })
            {
                // One more than asked tells whether another page follows, without a count query.
                command.CommandText = pageSql(command.Parameters);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                documents = await ReadDocumentRowsAsync(reader, cancellationToken);
            }
            string? next = null;
            if (documents.Count > limit)
            {
                documents = documents.Take(limit).ToList();
                next = cursorAfter(documents[^1]);
            }
            var entities = await ReadEntitiesAsync(connection, documents.Select(d => d.Id).ToArray(), MaxEntitiesPerListedDocument, cancellationToken);
            return new DocumentPage(documents.Select(d => WithEntities(d, entities.GetValueOrDefault(d.Id), MaxEntitiesPerListedDocument)).ToList(), next);
        });
    }

    /// <summary>How many documents match <paramref name="filter"/>, and how many of them are reviewed.</summary>
    public Task<DocumentCounts> CountAsync(DocumentFilter filter, CancellationToken cancellationToken = default) =>
        DatabaseUnavailableException.Guard(async () =>
        {
            await using var command = dataSource.CreateCommand();
            command.CommandText = CountSql(filter, command.Parameters);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            return new DocumentCounts(reader.GetInt64(0), reader.GetInt64(1));
        });

    private static StoredDocument WithEntities(StoredDocument document, List<DocumentEntity>? entities, int max) =>
        entities is null ? document
        : entities.Count > max ? document with { Entities = entities.Take(max).ToList(), EntitiesTruncated = true }
        : document with { Entities = entities };

    /// <summary>The SQL of a listing's page of documents, adding its parameters; internal so that the query-plan test explains exactly what runs.</summary>
    internal static string ListSql(DocumentFilter filter, DocumentCursor? after, int limit, NpgsqlParameterCollection parameters)
    {
        var conditions = Conditions(filter, parameters);
        if (after is { } cursor)
            conditions.Add($"(d.created_at, d.id) < ({Parameter(parameters, cursor.CreatedAtUtc)}, {Parameter(parameters, cursor.Id)})");
        return PageSql(conditions, "d.created_at DESC, d.id DESC", limit, parameters);
    }

    /// <summary>The SQL of a least-confident listing's page, adding its parameters; internal for the query-plan test.</summary>
    internal static string LeastConfidentListSql(DocumentFilter filter, ConfidenceCursor? after, int limit, NpgsqlParameterCollection parameters)
    {
        var conditions = Conditions(filter, parameters);
        if (after is { } cursor)
            conditions.Add($"(d.lowest_entity_score, d.id) > ({Parameter(parameters, cursor.LowestEntityScore)}, {Parameter(parameters, cursor.Id)})");
        return PageSql(conditions, "d.lowest_entity_score, d.id", limit, parameters);
    }

    private static string PageSql(List<string> conditions, string order, int limit, NpgsqlParameterCollection parameters) => $"""
        SELECT {DocumentColumns}
        FROM documents d
        {Where(conditions)}
        ORDER BY {order}
        LIMIT {Parameter(parameters, limit)}
        """;

    /// <summary>The SQL of <see cref="CountAsync"/>; internal for the query-plan test.</summary>
    internal static string CountSql(DocumentFilter filter, NpgsqlParameterCollection parameters) =>
        $"SELECT count(*), count(*) FILTER (WHERE d.reviewed) FROM documents d {Where(Conditions(filter, parameters))}";

    /// <summary>
    /// The entities of the given documents in offset order, at most <paramref name="maxPerDocument"/> + 1 each
    /// (null: all), so that the caller can tell a document with more; internal for the query-plan test.
    /// </summary>
    internal static string EntitiesSql(long[] documentIds, int? maxPerDocument, NpgsqlParameterCollection parameters)
    {
        parameters.Add(new NpgsqlParameter { Value = documentIds });
        if (maxPerDocument is not { } max)
        {
            return $"""
                SELECT {EntityColumns}
                FROM entities e
                WHERE e.document_id = ANY($1)
                ORDER BY e.document_id, e.start_offset
                """;
        }
        parameters.Add(new NpgsqlParameter { Value = max + 1 });
        return $"""
            SELECT {EntityColumns}
            FROM unnest($1::bigint[]) AS page(id)
            CROSS JOIN LATERAL (SELECT * FROM entities e WHERE e.document_id = page.id ORDER BY e.start_offset LIMIT $2) e
            ORDER BY e.document_id, e.start_offset
            """;
    }

    private static async Task<Dictionary<long, List<DocumentEntity>>> ReadEntitiesAsync(
        NpgsqlConnection connection, long[] documentIds, int? maxPerDocument, CancellationToken cancellationToken)
    {
        var entities = new Dictionary<long, List<DocumentEntity>>();
        if (documentIds.Length == 0)
            return entities;
        await using var command = new NpgsqlCommand { Connection = connection };
        command.CommandText = EntitiesSql(documentIds, maxPerDocument, command.Parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var id = reader.GetInt64(0);
            if (!entities.TryGetValue(id, out var list))
                entities[id] = list = [];
            list.Add(ReadEntity(reader, 1));
        }
        return entities;
    }

    private static string TenantCondition(string? tenant, int parameter) => tenant is null ? "" : $"AND d.tenant = ${parameter}";

    private static string Parameter(NpgsqlParameterCollection parameters, object value)
    {
        parameters.Add(new NpgsqlParameter { Value = value });
        return "$" + parameters.Count;
    }

    private static string Where(List<string> conditions) => conditions.Count == 0 ? "" : "WHERE " + string.Join("\n  AND ", conditions);

    private static List<string> Conditions(DocumentFilter filter, NpgsqlParameterCollection parameters)
    {
        var conditions = new List<string>();
        string Parameter(object value) => DocumentStore.Parameter(parameters, value);

        if (filter.Tenant is { } tenant)
            conditions.Add($"d.tenant = {Parameter(tenant)}");
        if (filter.From is { } from)
            conditions.Add($"d.created_at >= {Parameter(from.UtcDateTime)}");
        if (filter.To is { } to)
            conditions.Add($"d.created_at < {Parameter(to.UtcDateTime)}");
        if (filter.Reviewed is { } reviewed)
            conditions.Add($"d.reviewed = {Parameter(reviewed)}");
        if (!string.IsNullOrWhiteSpace(filter.Query))
            conditions.Add($"d.search_vector @@ websearch_to_tsquery('english', {Parameter(filter.Query)})");
        if (filter.ModelName is not null)
            conditions.Add($"d.model_name = {Parameter(filter.ModelName)}");
        if (filter.ModelVersion is not null)
            conditions.Add($"d.model_version = {Parameter(filter.ModelVersion)}");

        var entityConditions = new List<string>();
        if (filter.Label is not null)
            entityConditions.Add($"e.label = {Parameter(filter.Label)}");
        if (filter.EntityText is not null)
            entityConditions.Add(ExactTextCondition(Parameter(filter.EntityText)));
        if (filter.EntityPrefix is not null)
            entityConditions.Add(PrefixCondition(Parameter(filter.EntityPrefix)));
        if (entityConditions.Count > 0)
            conditions.Add($"EXISTS (SELECT 1 FROM entities e WHERE e.document_id = d.id AND {string.Join(" AND ", entityConditions)})");
        return conditions;
    }

    // The index holds md5(text) (whole texts can exceed a B-tree row); the hash finds the rows, the text rechecks them.
    private static string ExactTextCondition(string parameter) => $"md5(e.text) = md5({parameter}) AND e.text = {parameter}";

    // lower() in SQL, like the generated text_lower column, so both sides fold case the same way; LIKE's
    // wildcards in the prefix are escaped. The index holds the first 64 characters of text_lower, so the first
    // condition compares at most that much of the prefix (an index range scan) and the second the whole prefix.
    // The parameter is known when PostgreSQL plans the statement, so each pattern folds to a constant.
    private static string PrefixCondition(string parameter) =>
        $"left(e.text_lower, 64) LIKE {LikePrefix($"left(lower({parameter}), 64)")} AND e.text_lower LIKE {LikePrefix($"lower({parameter})")}";

    private static string LikePrefix(string expression) =>
        $@"replace(replace(replace({expression}, '\', '\\'), '%', '\%'), '_', '\_') || '%'";

    /// <summary>The most frequent (label, text) pairs of <paramref name="tenant"/>'s documents (null: every tenant), optionally of one label and starting with a prefix (case-insensitive).</summary>
    public Task<IReadOnlyList<EntityCount>> TopEntitiesAsync(string? tenant, string? label, string? prefix, int limit, CancellationToken cancellationToken = default) =>
        DatabaseUnavailableException.Guard(async () =>
        {
            await using var command = dataSource.CreateCommand();
            command.CommandText = TopEntitiesSql(tenant, label, prefix, limit, command.Parameters);
            var counts = new List<EntityCount>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
                counts.Add(new EntityCount(reader.GetString(0), reader.GetString(1), reader.GetInt64(2)));
            return (IReadOnlyList<EntityCount>)counts;
        });

    internal static string TopEntitiesSql(string? tenant, string? label, string? prefix, int limit, NpgsqlParameterCollection parameters)
    {
        var conditions = new List<string>();
        if (tenant is not null)
        {
            parameters.Add(new NpgsqlParameter { Value = tenant });
            conditions.Add($"e.tenant = ${parameters.Count}");
        }
        if (label is not null)
        {
            parameters.Add(new NpgsqlParameter { Value = label });
            conditions.Add($"e.label = ${parameters.Count}");
        }
        if (prefix is not null)
        {
            parameters.Add(new NpgsqlParameter { Value = prefix });
            conditions.Add(PrefixCondition("$" + parameters.Count));
        }
        parameters.Add(new NpgsqlParameter { Value = limit });
        return $"""
            SELECT e.label, e.text, count(*)
            FROM entities e
            {(conditions.Count == 0 ? "" : "WHERE " + string.Join(" AND ", conditions))}
            GROUP BY e.label, e.text
            ORDER BY count(*) DESC, e.label, e.text
            LIMIT ${parameters.Count}
            """;
    }

    /// <summary>
    /// Replaces a document's entities with corrected ones and marks it reviewed, atomically. Returns null when
    /// there is no such document in <paramref name="tenant"/> (null: any tenant); throws
    /// <see cref="InvalidDocumentException"/> when a correction does not fit the text or uses a label outside
    /// <paramref name="knownLabels"/>.
    /// </summary>
    public Task<StoredDocument?> ReplaceEntitiesAsync(long id, string? tenant, IReadOnlyList<CorrectedEntity> corrections, IReadOnlySet<string> knownLabels, CancellationToken cancellationToken = default)
    {
        if (corrections.Count > DocumentValidation.MaxCorrectedEntities)
            throw new InvalidDocumentException($"A correction lists at most {DocumentValidation.MaxCorrectedEntities} entities; got {corrections.Count}.");
        return DatabaseUnavailableException.Guard(async () =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var found = await ReadDocumentsAsync(connection, $"SELECT {DocumentColumns} FROM documents d WHERE d.id = $1 {TenantCondition(tenant, 2)} FOR UPDATE",
                [id, tenant], cancellationToken);
            if (found.Count == 0)
                return null;
            var document = found[0] with { Reviewed = true };
            var entities = corrections.Select(c => new DocumentEntity(c.Label, c.Start, c.End, c.Text ?? TextAt(document.Text, c.Start, c.End), Score: null)).ToList();
            if (DocumentValidation.FindSpanProblem(document.Text, entities, knownLabels) is { } problem)
                throw new InvalidDocumentException(problem);

            var sorted = entities.OrderBy(e => e.Start).ToList();
            await using var batch = new NpgsqlBatch(connection, transaction)
            {
                BatchCommands =
                {
                    new NpgsqlBatchCommand("DELETE FROM entities WHERE document_id = $1") { Parameters = { new() { Value = id } } },
                    new NpgsqlBatchCommand("""
                        INSERT INTO entities (document_id, tenant, label, start_offset, end_offset, text, score)
                        SELECT $1, $2, * FROM unnest($3::text[], $4::integer[], $5::integer[], $6::text[], $7::real[])
                        """)
                    {
                        Parameters =
                        {
                            new() { Value = id },
                            new() { Value = document.Tenant },
                            new() { Value = sorted.Select(e => e.Label).ToArray() },
                            new() { Value = sorted.Select(e => e.Start).ToArray() },
                            new() { Value = sorted.Select(e => e.End).ToArray() },
                            new() { Value = sorted.Select(e => e.Text).ToArray() },
                            new() { Value = sorted.Select(e => e.Score).ToArray() },
                        },
                    },
                    new NpgsqlBatchCommand("UPDATE documents SET reviewed = true WHERE id = $1") { Parameters = { new() { Value = id } } },
                },
            };
            await batch.ExecuteNonQueryAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return document with { Entities = sorted };
        });
    }

    // An out-of-range span gets no text here; validation then reports the range (and a split surrogate pair).
    private static string TextAt(string text, int start, int end) =>
        start >= 0 && start < end && end <= text.Length ? text[start..end] : "";

    /// <summary>
    /// Opens a stream of <paramref name="tenant"/>'s documents (null: every tenant's) with their entities in id
    /// order: all, or only reviewed or unreviewed ones. The documents are read in batches of
    /// <see cref="ExportBatchDocuments"/>, each by queries of their own under the connection's command timeout, so
    /// an export of any size holds no query open for long and a stalled one ends. The first batch is read when this
    /// returns, so an unreachable database fails here, before a response has begun; failures while reading later
    /// can only cut the stream short.
    /// </summary>
    public Task<DocumentStream> OpenStreamAsync(bool? reviewed, string? tenant, CancellationToken cancellationToken = default) =>
        DatabaseUnavailableException.Guard(async () =>
        {
            var stream = new DocumentStream(this, reviewed, tenant);
            await stream.ReadFirstBatchAsync(cancellationToken);
            return stream;
        });

    private Task<List<StoredDocument>> ReadExportBatchAsync(bool? reviewed, string? tenant, long afterId, CancellationToken cancellationToken) =>
        DatabaseUnavailableException.Guard(async () =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            object?[] parameters = [afterId, tenant, reviewed];
            var documents = await ReadDocumentsAsync(connection, $"""
                SELECT {DocumentColumns}
                FROM documents d
                WHERE d.id > $1 {TenantCondition(tenant, 2)} {(reviewed is null ? "" : $"AND d.reviewed = ${(tenant is null ? 2 : 3)}")}
                ORDER BY d.id
                LIMIT {ExportBatchDocuments}
                """, parameters, cancellationToken);
            var entities = await ReadEntitiesAsync(connection, documents.Select(d => d.Id).ToArray(), maxPerDocument: null, cancellationToken);
            return documents.Select(d => d with { Entities = entities.GetValueOrDefault(d.Id) ?? [] }).ToList();
        });

    /// <summary>Documents read batch by batch (see <see cref="OpenStreamAsync"/>).</summary>
    public sealed class DocumentStream
    {
        private readonly DocumentStore store;
        private readonly bool? reviewed;
        private readonly string? tenant;
        private List<StoredDocument> first = [];

        internal DocumentStream(DocumentStore store, bool? reviewed, string? tenant)
        {
            this.store = store;
            this.reviewed = reviewed;
            this.tenant = tenant;
        }

        internal async Task ReadFirstBatchAsync(CancellationToken cancellationToken) =>
            first = await store.ReadExportBatchAsync(reviewed, tenant, 0, cancellationToken);

        public async IAsyncEnumerable<StoredDocument> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            var batch = first;
            while (true)
            {
                foreach (var document in batch)
                    yield return document;
                if (batch.Count < ExportBatchDocuments)
                    yield break;
                batch = await store.ReadExportBatchAsync(reviewed, tenant, batch[^1].Id, cancellationToken);
            }
        }
    }

    // Parameters that are null are left out (a scope of every tenant has no tenant parameter).
    private static async Task<List<StoredDocument>> ReadDocumentsAsync(NpgsqlConnection connection, string sql, object?[] parameters, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var value in parameters)
        {
            if (value is not null)
                command.Parameters.Add(new NpgsqlParameter { Value = value });
        }
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await ReadDocumentRowsAsync(reader, cancellationToken);
    }

    private static async Task<List<StoredDocument>> ReadDocumentRowsAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        var documents = new List<StoredDocument>();
        while (await reader.ReadAsync(cancellationToken))
            documents.Add(ReadDocument(reader));
        return documents;
    }

    private static StoredDocument ReadDocument(NpgsqlDataReader reader) => new(
        Id: reader.GetInt64(0),
        Text: reader.GetString(1),
        Entities: [],
        ModelName: reader.GetString(2),
        ModelVersion: reader.GetString(3),
        CreatedAt: new DateTimeOffset(reader.GetFieldValue<DateTime>(4)),
        Reviewed: reader.GetBoolean(5))
    {
        Tenant = reader.GetString(6),
        LowestEntityScore = reader.GetFloat(7),
    };

    private static DocumentEntity ReadEntity(NpgsqlDataReader reader, int first) => new(
        Label: reader.GetString(first),
        Start: reader.GetInt32(first + 1),
        End: reader.GetInt32(first + 2),
        Text: reader.GetString(first + 3),
        Score: reader.IsDBNull(first + 4) ? null : reader.GetFloat(first + 4));
}
