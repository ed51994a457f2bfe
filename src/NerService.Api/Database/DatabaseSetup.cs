using Microsoft.Extensions.Options;
using Npgsql;

namespace NerService.Api.Database;

public static class DatabaseSetup
{
    /// <summary>
    /// The document database: options (validated at start), the one <see cref="NpgsqlDataSource"/>, migrations
    /// (at start when configured) and the "database" readiness check.
    /// </summary>
    public static IServiceCollection AddDocumentDatabase(this IServiceCollection services)
    {
        services.AddOptions<DatabaseOptions>()
            .BindConfiguration(DatabaseOptions.SectionName)
            .Configure<IConfiguration>((options, configuration) => options.ConnectionString = configuration.GetConnectionString("Postgres"))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton(provider =>
        {
            var dataSource = new NpgsqlDataSourceBuilder(provider.GetRequiredService<IOptions<DatabaseOptions>>().Value.ConnectionString);
            dataSource.UseLoggerFactory(provider.GetRequiredService<ILoggerFactory>());
            return dataSource.Build();
        });
        services.AddSingleton<DatabaseMigrator>();
        services.AddHostedService<MigrateOnStartup>();
        services.AddHealthChecks().AddCheck<DatabaseHealthCheck>(DatabaseHealthCheck.Name, tags: ["ready"]);
        return services;
    }
}
