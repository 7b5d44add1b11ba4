namespace PowerEvents.Contracts;

/// <summary>An ESXi host as vCenter saw it when the inventory was captured.</summary>
/// <param name="Id">Managed object id (e.g. <c>host-21</c>).</param>
/// <param name="Name">The host's name as vCenter knows it.</param>
/// <param name="ConnectionState">vSphere's <c>runtime.connectionState</c>: connected, disconnected, notResponding.</param>
/// <param name="PowerState">vSphere's <c>runtime.powerState</c>: poweredOn, poweredOff, standBy, unknown.</param>
/// <param name="InMaintenanceMode">vSphere's <c>runtime.inMaintenanceMode</c>.</param>
/// <param name="LockdownMode">vSphere's <c>config.lockdownMode</c>: lockdownDisabled, lockdownNormal, lockdownStrict (the
/// last two refuse direct logins to the host's own API); null when not read.</param>
public sealed record HostInventory(
    string Id,
    string Name,
    string ConnectionState,
    string PowerState,
    bool InMaintenanceMode,
    string? LockdownMode = null);
