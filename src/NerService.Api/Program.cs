using NerService.Api.Database;
using NerService.Api.Documents;
using NerService.Api.Errors;
using NerService.Api.Hosting;
using NerService.Api.Monitoring;
using NerService.Api.OpenApi;
using NerService.Api.Options;
using NerService.Api.Security;
using NerService.Api.Tagging;

if (args is ["healthcheck", ..])
    return await HealthProbe.RunAsync(args);

var builder = WebApplication.CreateBuilder(args);
if (args is ["migrate", ..])
    return await builder.MigrateDatabaseAsync();

builder.AddDocumentStore();

builder.Services.AddNerOptions();
builder.Services.AddReverseProxySupport();
builder.Services.AddApiProblemDetails();
builder.Services.AddNerMetrics();
builder.Services.AddNerTagger();
builder.Services.AddNerHealthChecks();
builder.Services.AddApiKeys();
builder.Services.AddClientRateLimiting();
builder.Services.AddNerOpenApi();

var app = builder.Build();

app.UseApiProblemDetails();
app.UseRequestBodyLimit();
app.UseNerHttpMetrics();
app.UseDefaultFiles();
app.UseStaticFiles();
app.UseApiKeys();
app.UseRateLimiter();

app.MapNerOpenApi();
app.MapNerHealthChecks();
app.MapModelApi();
app.MapNerApi();
app.MapDocumentsApi();

return app.RunOrExplainStartupFailure();

/// <summary>Entry point, public so that tests can start the application in memory.</summary>
public partial class Program;
