using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using NerService.Api.Database;
using NerService.Api.Monitoring;
using NerService.Api.Security;
using NerService.Api.Tagging;
using Npgsql;

namespace NerService.Api.Documents;

public static class DocumentStoreExtensions
{
    /// <summary>
    /// The document database: options (validated at start), the one <see cref="NpgsqlDataSource"/>, the store,
    /// the batching writer, migrations (at start when configured) and the "database" readiness check.
    /// </summary>
    public static WebApplicationBuilder AddDocumentStore(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
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
        services.AddSingleton<DocumentStore>();
        services.AddSingleton(provider =>
        {
            var writer = ActivatorUtilities.CreateInstance<DocumentWriter>(provider);
            if (provider.GetService<NerMetrics>() is { } metrics)
                writer.BatchWritten += metrics.RecordStoredBatch;
            return writer;
        });
        services.AddHostedService(provider => provider.GetRequiredService<DocumentWriter>());
        services.TryAddSingleton(provider => new KnownEntityLabels(provider.GetRequiredService<TaggerRegistry>().Default.Info.EntityTypes));
        services.AddProblemDetails();
        services.AddHealthChecks().AddCheck<DatabaseHealthCheck>(DatabaseHealthCheck.Name, tags: ["ready"]);
        return builder;
    }

    /// <summary>Maps <c>/documents</c> and <c>/entities</c>.</summary>
    public static IEndpointRouteBuilder MapDocumentsApi(this IEndpointRouteBuilder routes)
    {
        // Reading and correcting need a reviewer; deleting and exporting (marked in DocumentsApi) an admin.
        DocumentsApi.MapDocumentsGroup(routes).RequireRole(ApiRole.Reviewer);
        routes.MapEntitiesApi().RequireRole(ApiRole.Reviewer);
        return routes;
    }

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
