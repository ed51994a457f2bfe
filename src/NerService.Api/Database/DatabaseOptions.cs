using System.ComponentModel.DataAnnotations;

namespace NerService.Api.Database;

/// <summary>The PostgreSQL database that holds stored documents (configuration section <c>Database</c>).</summary>
public sealed class DatabaseOptions
{
    public const string SectionName = "Database";

    /// <summary>
    /// Npgsql connection string, read from <c>ConnectionStrings:Postgres</c> (environment variable
    /// <c>ConnectionStrings__Postgres</c>); <c>scripts/postgres.sh url</c> prints the local one.
    /// </summary>
    [Required(ErrorMessage = "ConnectionStrings:Postgres is not set: give the Npgsql connection string of the PostgreSQL database (scripts/postgres.sh start && scripts/postgres.sh url for a local one).")]
    public string? ConnectionString { get; set; }

    /// <summary>
    /// Apply pending schema migrations when the service starts (default false). Safe with several replicas
    /// (an advisory lock serialises them); otherwise run <c>NerService.Api migrate</c> before deploying.
    /// </summary>
    public bool MigrateOnStartup { get; set; }

    /// <summary>Most documents written in one database round trip by the background writer (default 256).</summary>
    [Range(1, 10_000)]
    public int WriteBatchSize { get; set; } = 256;

    /// <summary>Most store requests (one document, or the documents of one batch request) waiting for the writer; further callers wait (default 4096).</summary>
    [Range(1, 1_000_000)]
    public int WriteQueueCapacity { get; set; } = 4096;

    /// <summary>The <c>Retry-After</c> seconds sent with 503 responses when the database is unreachable (default 5).</summary>
    [Range(1, 3600)]
    public int RetryAfterSeconds { get; set; } = 5;
}
