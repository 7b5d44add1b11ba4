namespace PowerEvents.Contracts;

/// <summary>A shutdown run ended: every step was done or given up on.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Cluster">The vCenter cluster.</param>
/// <param name="Failures">Every step that failed or was given up on (<c>step target: detail</c>); empty when the run was clean.</param>
/// <param name="AlarmClearedDuringRun">The alarm cleared while the shutdown ran (it was finished anyway).</param>
/// <param name="StartedAt">When the run began.</param>
/// <param name="CompletedAt">When the last step ended.</param>
public sealed record PowerRunCompleted(
    Guid RunId,
    string Cluster,
    IReadOnlyList<string> Failures,
    bool AlarmClearedDuringRun,
    DateTimeOffset StartedAt,
    DateTimeOffset CompletedAt);
