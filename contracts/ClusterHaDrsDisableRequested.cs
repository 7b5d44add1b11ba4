namespace PowerEvents.Contracts;

/// <summary>
/// Command to the vCenter actuator: turn the cluster's HA off and DRS to manual (<c>ReconfigureComputeResource_Task</c>),
/// before the host steps, recording what they were.
/// </summary>
public sealed record ClusterHaDrsDisableRequested(
    Guid RunId,
    string Cluster);
