using Microsoft.Extensions.DependencyInjection.Extensions;
using NerService.Api.Database;
using NerService.Api.Monitoring;
using NerService.Api.Tagging;

namespace NerService.Api.Documents;

public static class DocumentsSetup
{
    /// <summary>
    /// Stored documents: the document database (<see cref="DatabaseSetup.AddDocumentDatabase"/>), the store, the
    /// batching writer and the entity labels corrections may use.
    /// </summary>
    public static WebApplicationBuilder AddDocumentStore(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddDocumentDatabase();
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
        return builder;
    }
}
