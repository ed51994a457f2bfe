using NerService.Api.Errors;
using NerService.Api.Monitoring;
using NerService.Api.OpenApi;
using NerService.Api.Options;
using NerService.Api.Security;
using NerService.Api.Tagging;

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddNerOptions();
builder.Services.AddApiProblemDetails();
builder.Services.AddNerMetrics();
builder.Services.AddNerTagger();
builder.Services.AddNerHealthChecks();
builder.Services.AddClientRateLimiting();
builder.Services.AddNerOpenApi();

var app = builder.Build();

app.UseApiProblemDetails();
app.UseNerHttpMetrics();
app.UseDefaultFiles();
app.UseStaticFiles();
app.UseRateLimiter();

app.MapNerOpenApi();
app.MapNerHealthChecks();
app.MapNerMetrics();
app.MapModelApi();
app.MapNerApi();

return app.RunOrExplainStartupFailure();

/// <summary>Entry point, public so that tests can start the application in memory.</summary>
public partial class Program;
