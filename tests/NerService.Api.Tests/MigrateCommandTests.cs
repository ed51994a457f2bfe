using NerService.Api.Tests.Documents;
using NerService.Api.Tests.Gateway;
using Npgsql;

namespace NerService.Api.Tests;

/// <summary>
/// The <c>migrate</c> command as docker-compose.yml and the Kubernetes Job run it: a separate process whose exit status
/// and output are all an operator sees. A database it cannot use must give one line saying why and status 1.
/// </summary>
public sealed class MigrateCommandTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task MigrateAgainstAServerThatRefusesTheLoginExitsWithStatus1AndOneLine()
    {
        // The test server trusts loopback, so a wrong password would be let in; a role it does not know is refused
        // at login the same way (a PostgresException while opening the connection).
        var refused = new NpgsqlConnectionStringBuilder(TestDatabase.ServerConnectionString)
        {
            Username = "no_such_role_" + Guid.NewGuid().ToString("N")[..8],
            Password = "wrong-password",
        };

        var (status, output) = await RunMigrateAsync(refused.ConnectionString);

        Assert.True(status == 1, $"migrate exited with {status}, not 1. Output:\n{output}");
        var line = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("Database migration failed: 28000: role", line);
        Assert.DoesNotContain("wrong-password", output);
    }

    [Fact]
    public async Task MigrateAgainstAnUnreachableServerExitsWithStatus1AndOneLine()
    {
        // Nothing listens on port 1 of loopback: the connection is refused at once.
        var (status, output) = await RunMigrateAsync("Host=127.0.0.1;Port=1;Username=ner;Password=secret;Database=ner;Timeout=5");

        Assert.True(status == 1, $"migrate exited with {status}, not 1. Output:\n{output}");
        var line = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("Database migration failed: Failed to connect to 127.0.0.1:1", line);
    }

    [Fact]
    public async Task MigrateWithoutAConnectionStringExitsWithStatus1AndOneLine()
    {
        var (status, output) = await RunMigrateAsync("");

        Assert.True(status == 1, $"migrate exited with {status}, not 1. Output:\n{output}");
        Assert.Equal("ConnectionStrings:Postgres is not set: give the Npgsql connection string of the database to migrate.", output.Trim());
    }

    [Fact]
    public async Task MigrateAgainstAReachableDatabaseExitsWithStatus0()
    {
        await using var database = await TestDatabase.CreateAsync(migrate: false);

        var (status, output) = await RunMigrateAsync(database.ConnectionString);

        Assert.True(status == 0, $"migrate exited with {status}. Output:\n{output}");
        Assert.Equal(1, await database.ScalarAsync("SELECT count(*) FROM schema_migrations WHERE version = 1"));
    }

    private static async Task<(int Status, string Output)> RunMigrateAsync(string connectionString)
    {
        var apiDirectory = RepositoryPaths.ApiDirectory;
        using var migrate = ChildProcess.Start("migrate", "dotnet", [Path.Combine(apiDirectory, "NerService.Api.dll"), "migrate"], apiDirectory,
            new Dictionary<string, string> { ["ConnectionStrings__Postgres"] = connectionString });
        var status = await migrate.WaitForExitAsync(Timeout);
        return (status, migrate.Output);
    }
}
