namespace PowerEvents.Contracts;

/// <summary>Answer to <see cref="ClusterInventoryRequested"/>: every host and VM of the cluster.</summary>
/// <param name="RunId">As in the command.</param>
/// <param name="Cluster">As in the command.</param>
/// <param name="Hosts">The cluster's hosts.</param>
/// <param name="Vms">The VMs registered on the cluster's hosts.</param>
/// <param name="CapturedAt">When the read finished.</param>
public sealed record ClusterInventoryCaptured(
    Guid RunId,
    string Cluster,
    IReadOnlyList<HostInventory> Hosts,
    IReadOnlyList<VmInventory> Vms,
    DateTimeOffset CapturedAt);
