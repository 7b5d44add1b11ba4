namespace PowerEvents.Contracts;

/// <summary>Command to the vCenter actuator: put this ESXi host into maintenance mode (its VMs are expected off).</summary>
/// <param name="RunId">The shutdown/power-on run this step belongs to.</param>
/// <param name="Cluster">The vCenter cluster the host belongs to.</param>
/// <param name="Host">The host's name as vCenter knows it.</param>
/// <param name="VsanObjectAction">vSAN data migration (<c>maintenanceSpec.vsanMode.objectAction</c>): <c>noAction</c> or
/// <c>ensureObjectAccessibility</c>. Null: <c>noAction</c> when the cluster has vSAN (a whole-cluster shutdown),
/// no maintenance spec otherwise. <c>evacuateAllData</c> is refused.</param>
public sealed record HostMaintenanceRequested(
    Guid RunId,
    string Cluster,
    string Host,
    string? VsanObjectAction = null);
