using Npgsql;

namespace NerService.Api.Database;

public static class MigrateCommand
{
    /// <summary>
    /// The <c>migrate</c> command: applies pending migrations to <c>ConnectionStrings:Postgres</c> and returns the exit
    /// status, without starting the service (nor loading the model). A database that cannot be reached, refuses the
    /// login or fails a migration is a one-line reason on standard error and status 1, not an unhandled exception
    /// (which aborts the process: status 134, or 139 in the container).
    /// </summary>
    public static async Task<int> MigrateDatabaseAsync(this WebApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetConnectionString("Postgres");
        if (string.IsNullOrWhiteSpace(connectionString))
            return MigrationFailed("ConnectionStrings:Postgres is not set: give the Npgsql connection string of the database to migrate.");
        using var loggerFactory = LoggerFactory.Create(logging => logging.AddSimpleConsole(console => console.SingleLine = true));
        try
        {
            await using var dataSource = NpgsqlDataSource.Create(connectionString);
            await new DatabaseMigrator(dataSource, loggerFactory.CreateLogger<DatabaseMigrator>()).MigrateAsync();
            return 0;
        }
        catch (Exception exception) when (exception is NpgsqlException or ArgumentException)
        {
            // ArgumentException: a malformed connection string. The inner exception says why a connection failed.
            var reason = exception.InnerException is { } inner ? $"{exception.Message} ({inner.Message})" : exception.Message;
            return MigrationFailed($"Database migration failed: {reason}");
        }
    }

    private static int MigrationFailed(string reason)
    {
        Console.Error.WriteLine(reason.ReplaceLineEndings(" "));
        return 1;
    }
}
