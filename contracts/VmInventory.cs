namespace PowerEvents.Contracts;

/// <summary>A VM as vCenter saw it when the inventory was captured.</summary>
/// <param name="Id">Managed object id (e.g. <c>vm-42</c>); the steps address VMs by it.</param>
/// <param name="Name">The VM's name.</param>
/// <param name="PowerState">vSphere's <c>runtime.powerState</c>: poweredOn, poweredOff, suspended.</param>
/// <param name="ToolsRunning">VMware Tools runs in the guest (<c>guest.toolsRunningStatus</c> is guestToolsRunning).</param>
/// <param name="Host">The name of the host the VM is registered on; empty if vCenter did not say.</param>
/// <param name="Folder">The VM's folder as an inventory path below the root, e.g. <c>dc1/vm/tier-1</c>.</param>
/// <param name="IsVCenter">This VM is the vCenter the actuator talks to (its guest host name is vCenter's
/// <c>VirtualCenter.FQDN</c>, or its guest name or IP is the configured URL's host): it must go down last.</param>
/// <param name="IsVcls">A vSphere Cluster Services VM (<c>config.managedBy.extensionKey</c> is <c>com.vmware.vim.eam</c>):
/// vCenter's agent owns it; never a tenant VM, never shut down or restored by a run (retreat mode removes it).</param>
public sealed record VmInventory(
    string Id,
    string Name,
    string PowerState,
    bool ToolsRunning,
    string Host,
    string Folder,
    bool IsVCenter,
    bool IsVcls = false);
