namespace PowerEvents.Contracts;

/// <summary>
/// The cluster as its vCenter (or, for standalone hosts, their own ESXi API) sees it now: published by the
/// VCenterActuator's read-only preflight at every interval, for the readiness grade (VMs without VMware Tools, where
/// vCenter runs, vCLS/HA/DRS/vSAN, hosts in lockdown). Nothing here is a command; no run reads it.
/// </summary>
/// <param name="Cluster">The protected cluster's name as configured.</param>
/// <param name="Platform">The configured name of the vCenter (or standalone ESXi platform) the cluster was read from.</param>
/// <param name="Hosts">The cluster's hosts.</param>
/// <param name="Vms">The VMs registered on the cluster's hosts (vCLS VMs flagged).</param>
/// <param name="Settings">The cluster's vCLS, HA, DRS and vSAN settings; null where the platform has none (standalone hosts).</param>
/// <param name="VCenterVm">The name of vCenter's own VM when it is registered on this cluster; null otherwise.</param>
/// <param name="VCenterHost">The host vCenter's VM runs on; null when not on this cluster.</param>
/// <param name="ObservedAt">When the read finished.</param>
public sealed record ClusterObserved(
    string Cluster,
    string Platform,
    IReadOnlyList<HostInventory> Hosts,
    IReadOnlyList<VmInventory> Vms,
    ClusterSettings? Settings,
    string? VCenterVm,
    string? VCenterHost,
    DateTimeOffset ObservedAt);
