using System.Reflection;
using System.Text.RegularExpressions;
using Npgsql;

namespace NerService.Api.Database;

/// <summary>A versioned SQL migration embedded in this assembly (<c>Database/Migrations/V001__name.sql</c>).</summary>
public sealed record Migration(int Version, string Name, string Sql);

/// <summary>
/// Brings the schema up to date with the migrations embedded in the assembly. All pending migrations run in one
/// transaction, so a failure leaves the schema as it was, and under a transaction-scoped advisory lock, so
/// replicas starting together apply each migration exactly once: the others wait, then find nothing to do.
/// </summary>
public sealed partial class DatabaseMigrator(NpgsqlDataSource dataSource, ILogger<DatabaseMigrator> logger)
{
    // Any constant works; it only has to be the same for every instance of this service.
    private const long AdvisoryLockKey = 0x4E45_5253_4D49_47; // "NERSMIG"

    public static IReadOnlyList<Migration> Embedded { get; } = LoadEmbedded();

    /// <summary>Applies the pending migrations; returns the versions applied by this call.</summary>
    public Task<IReadOnlyList<int>> MigrateAsync(CancellationToken cancellationToken = default) =>
        MigrateAsync(int.MaxValue, cancellationToken);

    /// <summary>Applies the pending migrations up to <paramref name="lastVersion"/>; tests of a migration's backfill stop before it.</summary>
    internal async Task<IReadOnlyList<int>> MigrateAsync(int lastVersion, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, $"SELECT pg_advisory_xact_lock({AdvisoryLockKey})", cancellationToken);
        await ExecuteAsync(connection, """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now())
            """, cancellationToken);

        var applied = new HashSet<int>();
        await using (var command = new NpgsqlCommand("SELECT version FROM schema_migrations", connection))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            while (await reader.ReadAsync(cancellationToken))
                applied.Add(reader.GetInt32(0));

        var appliedNow = new List<int>();
        foreach (var migration in Embedded.Where(m => m.Version <= lastVersion && !applied.Contains(m.Version)))
        {
            logger.LogInformation("Applying migration V{Version:000} {Name}", migration.Version, migration.Name);
            await ExecuteAsync(connection, migration.Sql, cancellationToken);
            await using var record = new NpgsqlCommand("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", connection)
            {
                Parameters = { new() { Value = migration.Version }, new() { Value = migration.Name } },
            };
            await record.ExecuteNonQueryAsync(cancellationToken);
            appliedNow.Add(migration.Version);
        }
        await transaction.CommitAsync(cancellationToken);
        if (appliedNow.Count == 0)
            logger.LogInformation("Database schema is up to date (V{Version:000})", LatestVersion);
        return appliedNow;
    }

    /// <summary>The version the embedded migrations bring the schema to.</summary>
    public static int LatestVersion => Embedded.Count == 0 ? 0 : Embedded[^1].Version;

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static List<Migration> LoadEmbedded()
    {
        var assembly = typeof(DatabaseMigrator).Assembly;
        var migrations = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            var match = MigrationName().Match(resource);
            if (!match.Success)
                continue;
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            migrations.Add(new Migration(int.Parse(match.Groups["version"].Value, System.Globalization.CultureInfo.InvariantCulture),
                match.Groups["name"].Value, reader.ReadToEnd()));
        }
        migrations.Sort((a, b) => a.Version.CompareTo(b.Version));
        var duplicate = migrations.GroupBy(m => m.Version).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new InvalidOperationException($"Two embedded migrations have version {duplicate.Key}.");
        return migrations;
    }

    [GeneratedRegex(@"\.Migrations\.V(?<version>\d+)__(?<name>[A-Za-z0-9_]+)\.sql$")]
    private static partial Regex MigrationName();
}
