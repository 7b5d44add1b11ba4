namespace PowerEvents.Contracts;

/// <summary>
/// To the power saga, from its step-outcome consumer: the last open step of a stage got its outcome, so the run may move
/// to its next stage. Sent after the outcome is committed; the saga ignores a stage it is not in (a second copy, an older stage).
/// </summary>
/// <param name="ClusterId">The cluster's saga id.</param>
/// <param name="RunId">The run.</param>
/// <param name="Kind">The kind of the stage's steps (<c>vm-shutdown</c>, <c>vm-power-on</c>).</param>
/// <param name="Stage">The stage's number within its kind (the tier's index, from 0).</param>
public sealed record PowerStageCompleted(
    Guid ClusterId,
    Guid RunId,
    string Kind,
    int Stage);
