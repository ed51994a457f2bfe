using Microsoft.Extensions.Options;

namespace NerService.Api.Database;

/// <summary>Applies pending migrations before the service starts listening, when <see cref="DatabaseOptions.MigrateOnStartup"/> is set.</summary>
internal sealed class MigrateOnStartup(DatabaseMigrator migrator, IOptions<DatabaseOptions> options) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.MigrateOnStartup)
            await migrator.MigrateAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
