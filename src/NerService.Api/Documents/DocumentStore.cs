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

    // Ids are taken from the sequence up front so that each inserted row can be matched to its input position
    // (RETURNING order is not guaranteed). Rows whose idempotency key already exists are skipped, and so are
    // their entities. The whole batch is one implicit transaction: all documents are stored or none.
    private const string InsertDocumentsSql = """
        WITH input AS (
            SELECT nextval(pg_get_serial_sequence('documents', 'id')) AS id, i.*
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY
                AS i(text, model_name, model_version, idempotency_key, ordinal)
        ),
        inserted AS (
            INSERT INTO documents (id, text, model_name, model_version, idempotency_key)
            SELECT id, text, model_name, model_version, idempotency_key FROM input ORDER BY ordinal
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING id
        ),
        inserted_entities AS (
            INSERT INTO entities (document_id, label, start_offset, end_offset, text, score)
            SELECT input.id, e.label, e.start_offset, e.end_offset, e.text, e.score
            FROM unnest($5::bigint[], $6::text[], $7::integer[], $8::integer[], $9::text[], $10::real[])
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
        FROM unnest($1::text[]) WITH ORDINALITY AS k(idempotency_key, ordinal)
        JOIN documents d ON d.idempotency_key = k.idempotency_key
        """;

    private const string DocumentColumns = "d.id, d.text, d.model_name, d.model_version, d.created_at, d.reviewed";
    private const string EntityColumns = "e.label, e.start_offset, e.end_offset, e.text, e.score";

    /// <summary>
    /// Stores documents in one database round trip and returns their ids in input order. A document whose
    /// idempotency key is already stored (earlier, concurrently, or earlier in this batch) gets that
    /// document's id and is not written again.
    /// </summary>
    public Task<long[]> InsertAsync(IReadOnlyList<NewDocument> documents, CancellationToken cancellationToken = default)
    {
        for (var i = 0; i < documents.Count; i++)
        {
            if (DocumentValidation.FindProblem(documents[i]) is { } problem)
                throw new InvalidDocumentException(problem);
        }
        if (documents.Count == 0)
            return Task.FromResult(Array.Empty<long>());
        return DatabaseUnavailableException.Guard(() => InsertValidatedAsync(documents, cancellationToken));
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

        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand(InsertDocumentsSql)
        {
            Parameters =
            {
                new() { Value = documents.Select(d => d.Text).ToArray() },
                new() { Value = documents.Select(d => d.ModelName).ToArray() },
                new() { Value = documents.Select(d => d.ModelVersion).ToArray() },
                new() { Value = keys, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text },
                new() { Value = entityOrdinals },
                new() { Value = labels },
                new() { Value = starts },
                new() { Value = ends },
                new() { Value = texts },
                new() { Value = scores },
            },
        });
        var anyKeys = keys.Any(key => key is not null);
        if (anyKeys)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(KeyedIdsSql)
            {
                Parameters = { new() { Value = keys, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text } },
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

    public Task<StoredDocument?> GetAsync(long id, CancellationToken cancellationToken = default) =>
        DatabaseUnavailableException.Guard(async () =>
        {
            await using var command = dataSource.CreateCommand($"""
                SELECT {DocumentColumns}, {EntityColumns}
                FROM documents d LEFT JOIN entities e ON e.document_id = d.id
                WHERE d.id = $1
                ORDER BY e.start_offset
                """);
            command.Parameters.Add(new() { Value = id });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var documents = await ReadDocumentsAsync(reader, cancellationToken);
            return documents.Count == 0 ? null : documents[0];
        });

    /// <summary>Deletes a document and its entities; false when there was none with this id.</summary>
    public Task<bool> DeleteAsync(long id, CancellationToken cancellationToken = default) =>
        DatabaseUnavailableException.Guard(async () =>
        {
            await using var command = dataSource.CreateCommand("DELETE FROM documents WHERE id = $1");
            command.Parameters.Add(new() { Value = id });
            return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
        });

    /// <summary>
    /// A page of documents matching <paramref name="filter"/>, newest first, ordered by (created_at, id) so that
    /// following <see cref="DocumentPage.NextCursor"/> visits every matching document once, even while new
    /// documents arrive (they sort before the first page).
    /// </summary>
    public Task<DocumentPage> ListAsync(DocumentFilter filter, DocumentCursor? after, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, MaxPageSize);
        return DatabaseUnavailableException.Guard(async () =>
        {
            await using var command = dataSource.CreateCommand();
            // One more than asked tells whether another page follows, without a count query.
            command.CommandText = ListSql(filter, after, limit + 1, command.Parameters);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var documents = await ReadDocumentsAsync(reader, cancellationToken);
            if (documents.Count <= limit)
                return new DocumentPage(documents, null);
            var last = documents[limit - 1];
            return new DocumentPage(documents.Take(limit).ToList(), new DocumentCursor(last.CreatedAt.UtcDateTime, last.Id).Encode());
        });
    }

    /// <summary>The SQL of a listing, adding its parameters; internal so that the query-plan test explains exactly what runs.</summary>
    internal static string ListSql(DocumentFilter filter, DocumentCursor? after, int limit, NpgsqlParameterCollection parameters)
    {
        var conditions = Conditions(filter, after, parameters);
        parameters.Add(new NpgsqlParameter { Value = limit });
        return $"""
            WITH page AS (
                SELECT {DocumentColumns}
                FROM documents d
                {conditions}
                ORDER BY d.created_at DESC, d.id DESC
                LIMIT ${parameters.Count}
            )
            SELECT d.*, {EntityColumns}
            FROM page d LEFT JOIN entities e ON e.document_id = d.id
            ORDER BY d.created_at DESC, d.id DESC, e.start_offset
            """;
    }

    private static string Conditions(DocumentFilter filter, DocumentCursor? after, NpgsqlParameterCollection parameters)
    {
        var conditions = new List<string>();
        string Parameter(object value)
        {
            parameters.Add(new NpgsqlParameter { Value = value });
            return "$" + parameters.Count;
        }

        if (after is { } cursor)
            conditions.Add($"(d.created_at, d.id) < ({Parameter(cursor.CreatedAtUtc)}, {Parameter(cursor.Id)})");
        if (filter.From is { } from)
            conditions.Add($"d.created_at >= {Parameter(from.UtcDateTime)}");
        if (filter.To is { } to)
            conditions.Add($"d.created_at < {Parameter(to.UtcDateTime)}");
        if (filter.Reviewed is { } reviewed)
            conditions.Add($"d.reviewed = {Parameter(reviewed)}");
        if (!string.IsNullOrWhiteSpace(filter.Query))
            conditions.Add($"d.search_vector @@ websearch_to_tsquery('english', {Parameter(filter.Query)})");

        var entityConditions = new List<string>();
        if (filter.Label is not null)
            entityConditions.Add($"e.label = {Parameter(filter.Label)}");
        if (filter.EntityText is not null)
            entityConditions.Add($"e.text = {Parameter(filter.EntityText)}");
        if (filter.EntityPrefix is not null)
            entityConditions.Add(PrefixCondition(Parameter(filter.EntityPrefix)));
        if (entityConditions.Count > 0)
            conditions.Add($"EXISTS (SELECT 1 FROM entities e WHERE e.document_id = d.id AND {string.Join(" AND ", entityConditions)})");

        return conditions.Count == 0 ? "" : "WHERE " + string.Join("\n  AND ", conditions);
    }

    // lower() in SQL, like the generated text_lower column, so both sides fold case the same way; LIKE's
    // wildcards in the prefix are escaped. The parameter is known when PostgreSQL plans the statement, so the
    // pattern folds to a constant and LIKE 'abc%' becomes a range scan of the text_pattern_ops index.
    private static string PrefixCondition(string parameter) =>
        $@"e.text_lower LIKE replace(replace(replace(lower({parameter}), '\', '\\'), '%', '\%'), '_', '\_') || '%'";

    /// <summary>The most frequent (label, text) pairs, optionally of one label and starting with a prefix (case-insensitive).</summary>
    public Task<IReadOnlyList<EntityCount>> TopEntitiesAsync(string? label, string? prefix, int limit, CancellationToken cancellationToken = default) =>
        DatabaseUnavailableException.Guard(async () =>
        {
            await using var command = dataSource.CreateCommand();
            command.CommandText = TopEntitiesSql(label, prefix, limit, command.Parameters);
            var counts = new List<EntityCount>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
                counts.Add(new EntityCount(reader.GetString(0), reader.GetString(1), reader.GetInt64(2)));
            return (IReadOnlyList<EntityCount>)counts;
        });

    internal static string TopEntitiesSql(string? label, string? prefix, int limit, NpgsqlParameterCollection parameters)
    {
        var conditions = new List<string>();
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
    /// there is no such document; throws <see cref="InvalidDocumentException"/> when a correction does not fit
    /// the text or uses a label outside <paramref name="knownLabels"/>.
    /// </summary>
    public Task<StoredDocument?> ReplaceEntitiesAsync(long id, IReadOnlyList<CorrectedEntity> corrections, IReadOnlySet<string> knownLabels, CancellationToken cancellationToken = default) =>
        DatabaseUnavailableException.Guard(async () =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            StoredDocument document;
            await using (var select = new NpgsqlCommand($"SELECT {DocumentColumns} FROM documents d WHERE d.id = $1 FOR UPDATE", connection))
            {
                select.Parameters.Add(new() { Value = id });
                await using var reader = await select.ExecuteReaderAsync(cancellationToken);
                if (!await reader.ReadAsync(cancellationToken))
                    return null;
                document = ReadDocument(reader) with { Reviewed = true };
            }
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
                        INSERT INTO entities (document_id, label, start_offset, end_offset, text, score)
                        SELECT $1, * FROM unnest($2::text[], $3::integer[], $4::integer[], $5::text[], $6::real[])
                        """)
                    {
                        Parameters =
                        {
                            new() { Value = id },
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

    // An out-of-range span gets no text here; validation then reports the range.
    private static string TextAt(string text, int start, int end) =>
        start >= 0 && start < end && end <= text.Length ? text[start..end] : "";

    /// <summary>
    /// Opens a stream of documents with their entities in id order (all, or only reviewed or unreviewed ones).
    /// The query has started when this returns, so an unreachable database fails here, before a response has
    /// begun; failures while reading later can only cut the stream short.
    /// </summary>
    public Task<DocumentStream> OpenStreamAsync(bool? reviewed, CancellationToken cancellationToken = default) =>
        DatabaseUnavailableException.Guard(async () =>
        {
            var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            try
            {
                var command = new NpgsqlCommand($"""
                    SELECT {DocumentColumns}, {EntityColumns}
                    FROM documents d LEFT JOIN entities e ON e.document_id = d.id
                    {(reviewed is null ? "" : "WHERE d.reviewed = $1")}
                    ORDER BY d.id, e.start_offset
                    """, connection)
                {
                    // An export of many documents may take long; a vanished client cancels it instead.
                    CommandTimeout = 0,
                };
                if (reviewed is { } value)
                    command.Parameters.Add(new() { Value = value });
                var reader = await command.ExecuteReaderAsync(cancellationToken);
                return new DocumentStream(connection, command, reader);
            }
            catch
            {
                await connection.DisposeAsync();
                throw;
            }
        });

    /// <summary>Documents read one at a time from an open query (see <see cref="OpenStreamAsync"/>).</summary>
    public sealed class DocumentStream(NpgsqlConnection connection, NpgsqlCommand command, NpgsqlDataReader reader) : IAsyncDisposable
    {
        public async IAsyncEnumerable<StoredDocument> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            StoredDocument? current = null;
            var entities = new List<DocumentEntity>();
            while (await reader.ReadAsync(cancellationToken))
            {
                var id = reader.GetInt64(0);
                if (current is not null && current.Id != id)
                {
                    yield return current with { Entities = entities };
                    entities = [];
                }
                if (current is null || current.Id != id)
                    current = ReadDocument(reader);
                if (!reader.IsDBNull(6))
                    entities.Add(ReadEntity(reader, 6));
            }
            if (current is not null)
                yield return current with { Entities = entities };
        }

        public async ValueTask DisposeAsync()
        {
            await reader.DisposeAsync();
            await command.DisposeAsync();
            await connection.DisposeAsync();
        }
    }

    // Rows are documents joined with their entities (none: one row with NULL entity columns), grouped by document.
    private static async Task<List<StoredDocument>> ReadDocumentsAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        var documents = new List<StoredDocument>();
        List<DocumentEntity>? entities = null;
        while (await reader.ReadAsync(cancellationToken))
        {
            var id = reader.GetInt64(0);
            if (documents.Count == 0 || documents[^1].Id != id)
            {
                entities = [];
                documents.Add(ReadDocument(reader) with { Entities = entities });
            }
            if (!reader.IsDBNull(6))
                entities!.Add(ReadEntity(reader, 6));
        }
        return documents;
    }

    private static StoredDocument ReadDocument(NpgsqlDataReader reader) => new(
        Id: reader.GetInt64(0),
        Text: reader.GetString(1),
        Entities: [],
        ModelName: reader.GetString(2),
        ModelVersion: reader.GetString(3),
        CreatedAt: new DateTimeOffset(reader.GetFieldValue<DateTime>(4)),
        Reviewed: reader.GetBoolean(5));

    private static DocumentEntity ReadEntity(NpgsqlDataReader reader, int first) => new(
        Label: reader.GetString(first),
        Start: reader.GetInt32(first + 1),
        End: reader.GetInt32(first + 2),
        Text: reader.GetString(first + 3),
        Score: reader.IsDBNull(first + 4) ? null : reader.GetFloat(first + 4));
}
