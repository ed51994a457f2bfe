using Microsoft.Extensions.Diagnostics.HealthChecks;
using NerService.Api.Database;
using NerService.Api.Documents;
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
    public async Task V004GivesExistingDocumentsTheLowestScoreOfTheirModelsEntities()
    {
        await database.NewMigrator().MigrateAsync(lastVersion: 3);
        await database.ExecuteAsync("""
            INSERT INTO documents (id, tenant, text, model_name, model_version, reviewed) VALUES
                (1, 'local', 'Siemens sued Apple.', 'm', '1', false),
                (2, 'local', 'Nothing here.', 'm', '1', false),
                (3, 'acme', 'Paris was corrected.', 'm', '1', true),
                (4, 'acme', 'Rome and Oslo.', 'm', '1', true);
            INSERT INTO entities (document_id, tenant, label, start_offset, end_offset, text, score) VALUES
                (1, 'local', 'ORG', 0, 7, 'Siemens', 0.9), (1, 'local', 'ORG', 13, 18, 'Apple', 0.25),
                (3, 'acme', 'LOC', 0, 5, 'Paris', NULL),
                (4, 'acme', 'LOC', 0, 4, 'Rome', NULL), (4, 'acme', 'LOC', 9, 13, 'Oslo', 0.6);
            """);

        Assert.Equal([4], await database.NewMigrator().MigrateAsync());

        var scores = new Dictionary<long, float>();
        await using (var command = database.DataSource.CreateCommand("SELECT id, lowest_entity_score FROM documents"))
        await using (var reader = await command.ExecuteReaderAsync())
            while (await reader.ReadAsync())
                scores[reader.GetInt64(0)] = reader.GetFloat(1);
        Assert.Equal(0.25f, scores[1]);
        // No entity, or only entities a person entered: nothing the model was unsure of, so last in the order.
        Assert.Equal(float.PositiveInfinity, scores[2]);
        Assert.Equal(float.PositiveInfinity, scores[3]);
        Assert.Equal(0.6f, scores[4]);
        var page = await database.Store.ListLeastConfidentAsync(new DocumentFilter(), null, 10);
        Assert.Equal([1L, 4, 2, 3], page.Documents.Select(d => d.Id));
        Assert.Equal([4L, 3], (await database.Store.ListLeastConfidentAsync(new DocumentFilter { Tenant = "acme" }, null, 10)).Documents.Select(d => d.Id));
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
