namespace PowerEvents.Contracts;

/// <summary>Command to the vCenter actuator: read the cluster's hosts and VMs as they are now.</summary>
/// <param name="RunId">The shutdown/power-on run this capture belongs to.</param>
/// <param name="Cluster">The vCenter cluster's name.</param>
public sealed record ClusterInventoryRequested(
    Guid RunId,
    string Cluster);
