using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NerService.Api.Documents;
using NerService.Api.Options;
using NerService.Api.Security;

namespace NerService.Api.Tests.Documents;

/// <summary>
/// The documents endpoints in an in-memory app of their own, over a test database: what
/// <c>AddDocumentStore</c> and <c>MapDocumentsApi</c> wire, with the API key check, without the tagger.
/// </summary>
public sealed class DocumentsTestApp : IAsyncDisposable
{
    public static readonly string[] Labels = ["PER", "LOC", "ORG", "MISC"];

    private readonly WebApplication app;

    private DocumentsTestApp(WebApplication app)
    {
        this.app = app;
        Client = app.GetTestClient();
    }

    public HttpClient Client { get; }

    public IServiceProvider Services => app.Services;

    public static async Task<DocumentsTestApp> StartAsync(string connectionString, params (string Key, string Value)[] settings)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.WebHost.UseTestServer();
        builder.Configuration["ConnectionStrings:Postgres"] = connectionString;
        foreach (var (key, value) in settings)
            builder.Configuration[key] = value;
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton(new KnownEntityLabels(Labels));
        // The key settings only; the whole Ner section's validation would ask for a model bundle.
        builder.Services.AddOptions<NerOptions>().BindConfiguration(NerOptions.SectionName);
        builder.Services.AddApiKeys();
        builder.AddDocumentStore();
        var app = builder.Build();
        app.UseApiKeys();
        app.MapDocumentsApi();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
        await app.StartAsync();
        return new DocumentsTestApp(app);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
