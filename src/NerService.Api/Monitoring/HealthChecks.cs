using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using NerService.Api.Tagging;

namespace NerService.Api.Monitoring;

/// <summary>
/// <c>/health/live</c> runs no checks (the process answers); <c>/health/ready</c> runs every check tagged
/// <see cref="ReadinessTag"/>, so a later database check only needs registering with that tag.
/// </summary>
internal static class HealthChecks
{
    public const string ReadinessTag = "ready";

    public static IServiceCollection AddNerHealthChecks(this IServiceCollection services)
    {
        services.AddHealthChecks().AddCheck<ModelReadinessCheck>("model", tags: [ReadinessTag]);
        return services;
    }

    public static IEndpointRouteBuilder MapNerHealthChecks(this IEndpointRouteBuilder app)
    {
        // Probes come from the orchestrator, often many a minute from one address: never rate limited.
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteJson })
            .WithTags("Health")
            .DisableRateLimiting();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadinessTag), ResponseWriter = WriteJson })
            .WithTags("Health")
            .DisableRateLimiting();
        return app;
    }

    private static Task WriteJson(HttpContext http, HealthReport report)
    {
        http.Response.ContentType = "application/json; charset=utf-8";
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(
                entry => entry.Key,
                entry => new { status = entry.Value.Status.ToString(), description = entry.Value.Description }),
        };
        return http.Response.WriteAsync(JsonSerializer.Serialize(body, JsonSerializerOptions.Web));
    }
}

/// <summary>Ready once the model is loaded; not ready again once shutdown has begun, so balancers stop sending work.</summary>
internal sealed class ModelReadinessCheck(TaggerLifetime tagger) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(tagger.IsReady
            ? HealthCheckResult.Healthy("The model is loaded.")
            : HealthCheckResult.Unhealthy("The model is not loaded, or the service is shutting down."));
}
