using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace NerService.Api.Tagging;

/// <summary>Ready once the model is loaded; not ready again once shutdown has begun, so balancers stop sending work.</summary>
internal sealed class ModelReadinessCheck(TaggerLifetime tagger) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(tagger.IsReady
            ? HealthCheckResult.Healthy("The model is loaded.")
            : HealthCheckResult.Unhealthy("The model is not loaded, or the service is shutting down."));
}
