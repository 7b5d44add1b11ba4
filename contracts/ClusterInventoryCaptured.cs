namespace PowerEvents.Contracts;

/// <summary>Answer to <see cref="ClusterInventoryRequested"/>: every host and VM of the cluster.</summary>
/// <param name="RunId">As in the command.</param>
/// <param name="Cluster">As in the command.</param>
/// <param name="Hosts">The cluster's hosts.</param>
/// <param name="Vms">The VMs registered on the cluster's hosts.</param>
/// <param name="CapturedAt">When the read finished.</param>
/// <param name="Settings">The cluster's vCLS, HA, DRS and vSAN settings as they were before the run changed anything
/// (the values a restore puts back); null from an actuator that did not read them.</param>
/// <param name="VCenterVm">The name of vCenter's own VM when it is registered on this cluster; null otherwise.</param>
/// <param name="VCenterHost">The host vCenter's VM runs on (its ESXi API finishes that host); null when not on this cluster.</param>
public sealed record ClusterInventoryCaptured(
    Guid RunId,
    string Cluster,
    IReadOnlyList<HostInventory> Hosts,
    IReadOnlyList<VmInventory> Vms,
    DateTimeOffset CapturedAt,
    ClusterSettings? Settings = null,
    string? VCenterVm = null,
    string? VCenterHost = null);
