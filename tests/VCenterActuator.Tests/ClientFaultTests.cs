using PowerEvents.Testing;
using PowerEvents.VCenterActuator.Vim;
using Xunit;

namespace PowerEvents.VCenterActuator.Tests;

/// <summary>vSphere faults, whether a SOAP fault or a failed task's info.error, arrive as typed VCenterExceptions.</summary>
public sealed class ClientFaultTests : IAsyncLifetime
{
    VcsimProcess _vcsim = null!;
    VimConnection _connection = null!;
    VCenterClient _client = null!;
    ClusterInventory _inventory = null!;

    public async Task InitializeAsync()
    {
        _vcsim = await VcsimProcess.StartAsync(["-hosts", "2", "-vms", "3", "-no-tools", "^vm-01-002$"]);
        var options = Vcenter.Options(_vcsim);
        _connection = Vcenter.Connection(options);
        _client = Vcenter.Client(_connection, options);
        _inventory = await _client.GetClusterInventoryAsync("cluster1", CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _connection.DisposeAsync();
        await _vcsim.DisposeAsync();
    }

    string VmId(string name) => _inventory.Vms.Single(v => v.Name == name).Id;

    [Fact]
    public async Task ShutdownGuest_without_running_tools_faults_ToolsUnavailable()
    {
        var error = await Assert.ThrowsAsync<VCenterException>(() => _client.ShutdownGuestAsync(VmId("vm-01-002"), CancellationToken.None));

        Assert.Equal(VCenterException.ToolsUnavailable, error.FaultName);
        Assert.Contains("VMware Tools", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Powering_off_a_vm_that_is_off_fails_its_task_with_InvalidPowerState_an_InvalidState()
    {
        var vm = VmId("vm-01-003");
        await _client.PowerOffVmAsync(vm, TimeSpan.FromSeconds(10), CancellationToken.None);

        var error = await Assert.ThrowsAsync<VCenterException>(() => _client.PowerOffVmAsync(vm, TimeSpan.FromSeconds(10), CancellationToken.None));

        Assert.Equal(VCenterException.InvalidPowerState, error.FaultName);
        Assert.True(error.Is(VCenterException.InvalidState));
    }

    [Fact]
    public async Task ShutdownGuest_on_a_vm_that_is_off_faults_InvalidPowerState()
    {
        var vm = VmId("vm-02-001");
        await _client.PowerOffVmAsync(vm, TimeSpan.FromSeconds(10), CancellationToken.None);

        var error = await Assert.ThrowsAsync<VCenterException>(() => _client.ShutdownGuestAsync(vm, CancellationToken.None));

        Assert.Equal(VCenterException.InvalidPowerState, error.FaultName);
    }

    [Fact]
    public async Task Shutting_down_a_host_outside_maintenance_mode_faults_InvalidState()
    {
        var host = _inventory.Hosts.Single(h => h.Name == "esx-02.pe.test");

        var error = await Assert.ThrowsAsync<VCenterException>(() => _client.ShutdownHostAsync(host.Id, force: false, TimeSpan.FromSeconds(10), CancellationToken.None));

        Assert.Equal(VCenterException.InvalidState, error.FaultName);
        Assert.Equal("poweredOn", (await _client.GetHostAsync(host.Id, CancellationToken.None)).PowerState);
    }

    [Fact]
    public async Task An_unknown_vm_id_faults_ManagedObjectNotFound()
    {
        var error = await Assert.ThrowsAsync<VCenterException>(() => _client.GetVmAsync("vm-999999", CancellationToken.None));

        Assert.Equal(VCenterException.ManagedObjectNotFound, error.FaultName);
    }

    [Fact]
    public async Task A_vcenter_that_does_not_listen_is_a_transient_Unreachable()
    {
        var options = Vcenter.Options(_vcsim, o => o.Url = new Uri($"https://127.0.0.1:{ServiceProcess.FreeTcpPort()}/sdk"));
        await using var connection = Vcenter.Connection(options);

        var error = await Assert.ThrowsAsync<VCenterException>(() => Vcenter.Client(connection, options).GetVmAsync("vm-1", CancellationToken.None));

        Assert.Equal(VCenterException.Unreachable, error.FaultName);
        Assert.True(error.IsTransient);
    }
}
