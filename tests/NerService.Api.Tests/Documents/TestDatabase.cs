using Microsoft.Extensions.Logging.Abstractions;
using NerService.Api.Database;
using NerService.Api.Documents;
using NerService.Model.Inference;
using Npgsql;

namespace NerService.Api.Tests.Documents;

/// <summary>
/// A database of its own on the test PostgreSQL server (NERSERVICE_TEST_POSTGRES), created for one test and
/// dropped after it, so tests never see each other's documents and run in any order.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private const string Variable = "NERSERVICE_TEST_POSTGRES";

    private TestDatabase(string name, string connectionString)
    {
        Name = name;
        ConnectionString = connectionString;
        DataSource = NpgsqlDataSource.Create(connectionString);
        Store = new DocumentStore(DataSource);
    }

    public string Name { get; }
    public string ConnectionString { get; }
    public NpgsqlDataSource DataSource { get; }
    public DocumentStore Store { get; }

    /// <summary>The test server's connection string; fails (never skips) with the fix when it is not configured.</summary>
    public static string ServerConnectionString =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{Variable} is not set. These tests need a PostgreSQL server: run `scripts/postgres.sh start && export {Variable}=$(scripts/postgres.sh url)` from the repository root (scripts/test.sh does both).");

    public static async Task<TestDatabase> CreateAsync(bool migrate = true)
    {
        var name = "ner_test_" + Guid.NewGuid().ToString("N");
        await using (var server = NpgsqlDataSource.Create(WithDatabase(ServerConnectionString, "postgres")))
        await using (var create = server.CreateCommand($"CREATE DATABASE {name}"))
            await create.ExecuteNonQueryAsync();
        var database = new TestDatabase(name, WithDatabase(ServerConnectionString, name));
        if (migrate)
            await database.NewMigrator().MigrateAsync();
        return database;
    }

    public DatabaseMigrator NewMigrator(NpgsqlDataSource? dataSource = null) =>
        new(dataSource ?? DataSource, NullLogger<DatabaseMigrator>.Instance);

    public async Task<long> ScalarAsync(string sql)
    {
        await using var command = DataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task ExecuteAsync(string sql)
    {
        await using var command = DataSource.CreateCommand(sql);
        // Filling the query-plan test's million documents takes minutes on a busy machine.
        command.CommandTimeout = 1200;
        await command.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await DataSource.DisposeAsync();
        try
        {
            await using var server = NpgsqlDataSource.Create(WithDatabase(ServerConnectionString, "postgres"));
            await using var drop = server.CreateCommand($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)");
            await drop.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException)
        {
            // The server is down (the outage test); a leftover database on a throwaway server harms nothing.
        }
    }

    private static string WithDatabase(string connectionString, string database) =>
        new NpgsqlConnectionStringBuilder(connectionString) { Database = database }.ConnectionString;

    /// <summary>A document with entities found by plain substring search, as the tagger would report them.</summary>
    public static NewDocument Document(string text, params (string Label, string Text)[] entities) =>
        KeyedDocument(text, null, entities);

    public static NewDocument KeyedDocument(string text, string? key, params (string Label, string Text)[] entities)
    {
        var spans = new List<EntitySpan>();
        var from = 0;
        foreach (var (label, entityText) in entities)
        {
            var start = text.IndexOf(entityText, from, StringComparison.Ordinal);
            if (start < 0)
                throw new ArgumentException($"'{entityText}' is not in '{text}' after {from}.");
            spans.Add(new EntitySpan(label, start, start + entityText.Length, entityText, 0.9f));
            from = start + entityText.Length;
        }
        return new NewDocument(text, spans, "test-model", "1.0", key);
    }
}
