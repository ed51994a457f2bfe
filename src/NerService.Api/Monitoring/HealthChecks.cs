using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace NerService.Api.Monitoring;

/// <summary>
/// <c>/health/live</c> runs no checks (the process answers); <c>/health/ready</c> runs every check tagged
/// <see cref="ReadinessTag"/>, which each feature registers beside itself (the model's, the database's).
/// </summary>
internal static class HealthChecks
{
    public const string ReadinessTag = "ready";

    public static IServiceCollection AddNerHealthChecks(this IServiceCollection services)
    {
        services.AddHealthChecks();
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
