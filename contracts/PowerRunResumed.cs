namespace PowerEvents.Contracts;

/// <summary>
/// The AlarmEvaluator restarted while a run was active: the saga asks again for every step it is still
/// waiting on, because a crash between saving a transition and publishing its commands loses them.
/// The actuators' steps are idempotent, so asking twice does no harm.
/// </summary>
/// <param name="ClusterId">The saga instance (derived from the cluster's name).</param>
/// <param name="RunId">The run that was active.</param>
/// <param name="Step">The run's step number when the evaluator came back.</param>
public sealed record PowerRunResumed(
    Guid ClusterId,
    Guid RunId,
    int Step);
