using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace NerService.Api.Database;

/// <summary>
/// Readiness of the database: reachable, and its schema at the version this build expects (a service that
/// starts against an unmigrated database is not ready, rather than failing on its first request).
/// </summary>
public sealed class DatabaseHealthCheck(NpgsqlDataSource dataSource) : IHealthCheck
{
    public const string Name = "database";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var command = dataSource.CreateCommand("SELECT coalesce(max(version), 0) FROM schema_migrations");
            var version = (int)(await command.ExecuteScalarAsync(cancellationToken))!;
            return version >= DatabaseMigrator.LatestVersion
                ? HealthCheckResult.Healthy($"Schema at V{version:000}")
                : HealthCheckResult.Unhealthy($"Schema at V{version:000}, expected V{DatabaseMigrator.LatestVersion:000}: run the migrate command");
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            return HealthCheckResult.Unhealthy("The database has no schema yet: run the migrate command");
        }
        catch (Exception ex) when (DatabaseUnavailableException.IsConnectionFailure(ex))
        {
            return HealthCheckResult.Unhealthy("The database cannot be reached", ex);
        }
    }
}
