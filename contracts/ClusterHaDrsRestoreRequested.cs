namespace PowerEvents.Contracts;

/// <summary>Command to the vCenter actuator: put HA (with admission control) and DRS back as recorded, after the restore.</summary>
/// <param name="Settings">The recorded values (<see cref="ClusterHaDrsDisabled.Previous"/> or the first inventory's).</param>
public sealed record ClusterHaDrsRestoreRequested(
    Guid RunId,
    string Cluster,
    ClusterHaDrsSettings Settings);
