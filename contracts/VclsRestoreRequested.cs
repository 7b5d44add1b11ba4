namespace PowerEvents.Contracts;

/// <summary>Command to the vCenter actuator: set the cluster's vCLS setting back, after the restore.</summary>
/// <param name="RunId">The run this step belongs to.</param>
/// <param name="Cluster">The vCenter cluster.</param>
/// <param name="Value">The recorded value (<see cref="VclsRetreatEntered.PreviousValue"/>); null: the setting did not exist,
/// and vCenter's default (<c>true</c>, vCLS on) is written, as the setting cannot be removed through the API.</param>
public sealed record VclsRestoreRequested(
    Guid RunId,
    string Cluster,
    string? Value);
