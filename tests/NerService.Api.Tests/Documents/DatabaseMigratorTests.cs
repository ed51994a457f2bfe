using Microsoft.Extensions.Diagnostics.HealthChecks;
using NerService.Api.Database;
using Npgsql;

namespace NerService.Api.Tests.Documents;

public sealed class DatabaseMigratorTests : IAsyncLifetime
{
    private TestDatabase database = null!;

    public async Task InitializeAsync() => database = await TestDatabase.CreateAsync(migrate: false);

    public async Task DisposeAsync() => await database.DisposeAsync();

    [Fact]
    public void MigrationsAreEmbeddedInVersionOrder()
    {
        Assert.NotEmpty(DatabaseMigrator.Embedded);
        Assert.Equal(1, DatabaseMigrator.Embedded[0].Version);
        Assert.Equal(DatabaseMigrator.Embedded.Select(m => m.Version).Order(), DatabaseMigrator.Embedded.Select(m => m.Version));
    }

    [Fact]
    public async Task MigratingTwiceAppliesEachMigrationOnce()
    {
        var first = await database.NewMigrator().MigrateAsync();
        var second = await database.NewMigrator().MigrateAsync();

        Assert.Equal(DatabaseMigrator.Embedded.Select(m => m.Version), first);
        Assert.Empty(second);
        Assert.Equal(DatabaseMigrator.Embedded.Count, await database.ScalarAsync("SELECT count(*) FROM schema_migrations"));
    }

    [Fact]
    public async Task ReplicasMigratingTogetherApplyEachMigrationOnce()
    {
        var migrations = Enumerable.Range(0, 4).Select(async _ =>
        {
            await using var dataSource = NpgsqlDataSource.Create(database.ConnectionString);
            return await database.NewMigrator(dataSource).MigrateAsync();
        });

        var applied = await Task.WhenAll(migrations);

        Assert.Single(applied, versions => versions.Count > 0);
        Assert.Equal(DatabaseMigrator.Embedded.Count, await database.ScalarAsync("SELECT count(*) FROM schema_migrations"));
    }

    [Fact]
    public async Task ReadinessReportsAnUnmigratedDatabaseUntilMigrated()
    {
        var check = new DatabaseHealthCheck(database.DataSource);

        var before = await check.CheckHealthAsync(new HealthCheckContext());
        await database.NewMigrator().MigrateAsync();
        var after = await check.CheckHealthAsync(new HealthCheckContext());

        Assert.Equal(HealthStatus.Unhealthy, before.Status);
        Assert.Contains("migrate", before.Description);
        Assert.Equal(HealthStatus.Healthy, after.Status);
    }
}
