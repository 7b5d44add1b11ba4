namespace PowerEvents.Contracts;

/// <summary>
/// Command to the vCenter actuator: finish a host through its own API (<c>https://&lt;esxi&gt;/sdk</c>), for the host that runs
/// vCenter's VM once that VM is off (vCenter cannot do it then): wait until no VM on it runs, maintenance mode where possible
/// (vSAN: <c>noAction</c>), then <c>ShutdownHost_Task</c>.
/// </summary>
/// <param name="RunId">The run this step belongs to.</param>
/// <param name="Cluster">The vCenter cluster.</param>
/// <param name="Host">The host's name as vCenter knows it (the key of <c>VCenter:Hosts</c>).</param>
/// <param name="Vsan">The cluster has vSAN (from the inventory): maintenance mode with <c>noAction</c>.</param>
/// <param name="Force"><c>ShutdownHost_Task</c>'s force when maintenance mode could not be entered; null: <c>VCenter:ForceHostShutdown</c>.</param>
/// <param name="VCenterVm">vCenter's VM, by name: if it is no longer on <paramref name="Host"/> (it moved since the plan), the
/// actuator finds it on the other configured ESXi hosts and finishes that host too (first, once the VM is off).</param>
public sealed record EsxiHostShutdownRequested(
    Guid RunId,
    string Cluster,
    string Host,
    bool Vsan,
    bool? Force = null,
    string? VCenterVm = null);
