namespace PowerEvents.Contracts;

/// <summary>To the power saga, from its deadline watchdog: the deadline of the run's current step passed.</summary>
/// <param name="ClusterId">The cluster's saga id.</param>
/// <param name="RunId">The run whose step is late.</param>
/// <param name="Step">The step's sequence number; the saga ignores a deadline for a step it has already left.</param>
/// <param name="Deadline">The deadline that passed.</param>
public sealed record PowerRunDeadlineReached(
    Guid ClusterId,
    Guid RunId,
    int Step,
    DateTimeOffset Deadline);
