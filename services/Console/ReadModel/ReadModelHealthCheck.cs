using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace PowerEvents.Console.ReadModel;

/// <summary>Not ready until the stored events are replayed: before that the console would show an empty room.</summary>
public sealed class ReadModelHealthCheck(EventLog events) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(events.Replayed.IsCompletedSuccessfully
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy("the read model is being rebuilt from stored events"));
}
