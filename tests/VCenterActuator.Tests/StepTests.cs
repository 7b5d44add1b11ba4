using PowerEvents.Contracts;
using PowerEvents.Testing;
using PowerEvents.VCenterActuator.Vim;
using Xunit;

namespace PowerEvents.VCenterActuator.Tests;

/// <summary>
/// The steps against a vcsim whose guests take 0.2–0.5 s to shut down; on every host VM 002 runs without VMware
/// Tools and VM 003 accepts ShutdownGuest but never powers off.
/// </summary>
public sealed class StepTests : IAsyncLifetime
{
    VcsimProcess _vcsim = null!;
    VimConnection _connection = null!;
    VCenterClient _client = null!;
    VCenterOptions _options = null!;
    ClusterInventory _inventory = null!;

    public async Task InitializeAsync()
    {
        _vcsim = await VcsimProcess.StartAsync([
            "-hosts", "3", "-vms", "3", "-control", "127.0.0.1:0",
            "-guest-shutdown-min", "200ms", "-guest-shutdown-max", "500ms",
            "-no-tools", "^vm-\\d+-002$", "-stuck", "^vm-\\d+-003$"]);
        _options = Vcenter.Options(_vcsim, o => o.MaintenanceTimeout = TimeSpan.FromSeconds(2));
        _connection = Vcenter.Connection(_options);
        _client = Vcenter.Client(_connection, _options);
        _inventory = await _client.GetClusterInventoryAsync("cluster1", CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _connection.DisposeAsync();
        await _vcsim.DisposeAsync();
    }

    VCenterSteps Steps(Action<VCenterOptions>? configure = null)
    {
        configure?.Invoke(_options);
        return Vcenter.Steps(_client, _options);
    }

    VmShutdownRequested ShutdownOf(string vm, Guid? run = null, TimeSpan? timeout = null) =>
        new(run ?? Guid.NewGuid(), "cluster1", _inventory.Vms.Single(v => v.Name == vm).Id, vm, timeout);

    [Fact]
    public async Task A_vm_with_tools_shuts_down_gracefully()
    {
        var outcome = await Steps().ShutDownVmAsync(ShutdownOf("vm-01-001"), CancellationToken.None);

        Assert.Equal((VmShutdownOutcome.Graceful, null), (outcome.Outcome, outcome.Fault));
        var power = Assert.Single(await VcsimState.JournalAsync(_vcsim, "vm-01-001", "powerState"));
        Assert.Equal(("poweredOff", "guestShutdown"), (power.To, power.Cause));
    }

    [Fact]
    public async Task Asked_twice_in_one_run_a_shutdown_gives_the_same_outcome_and_asks_the_guest_once()
    {
        var steps = Steps();
        var command = ShutdownOf("vm-01-001");

        var both = await Task.WhenAll(steps.ShutDownVmAsync(command, CancellationToken.None), steps.ShutDownVmAsync(command, CancellationToken.None));
        var third = await steps.ShutDownVmAsync(command, CancellationToken.None);

        Assert.All(both.Append(third), o => Assert.Equal(VmShutdownOutcome.Graceful, o.Outcome));
        Assert.Single(await VcsimState.JournalAsync(_vcsim, "vm-01-001", "shutdownGuest"));
    }

    [Fact]
    public async Task A_vm_that_is_already_off_is_reported_AlreadyOff_and_left_alone()
    {
        var steps = Steps();
        await steps.ShutDownVmAsync(ShutdownOf("vm-02-001"), CancellationToken.None);
        var journal = (await VcsimState.ReadAsync(_vcsim)).Journal.Count;

        var again = await steps.ShutDownVmAsync(ShutdownOf("vm-02-001"), CancellationToken.None);

        Assert.Equal((VmShutdownOutcome.AlreadyOff, null), (again.Outcome, again.Fault));
        Assert.Equal(journal, (await VcsimState.ReadAsync(_vcsim)).Journal.Count);
    }

    [Fact]
    public async Task A_vm_without_running_tools_is_powered_off_hard_directly()
    {
        var outcome = await Steps().ShutDownVmAsync(ShutdownOf("vm-01-002"), CancellationToken.None);

        Assert.Equal((VmShutdownOutcome.Forced, VCenterException.ToolsUnavailable), (outcome.Outcome, outcome.Fault?.Name));
        Assert.Empty(await VcsimState.JournalAsync(_vcsim, "vm-01-002", "shutdownGuest"));
        Assert.Equal("powerOff", Assert.Single(await VcsimState.JournalAsync(_vcsim, "vm-01-002", "powerState")).Cause);
    }

    [Fact]
    public async Task Without_hard_power_off_for_toolless_vms_such_a_vm_fails_with_ToolsUnavailable_and_stays_on()
    {
        var outcome = await Steps(o => o.HardPowerOffWithoutTools = false).ShutDownVmAsync(ShutdownOf("vm-02-002"), CancellationToken.None);

        Assert.Equal((VmShutdownOutcome.Failed, VCenterException.ToolsUnavailable), (outcome.Outcome, outcome.Fault?.Name));
        Assert.Equal("poweredOn", (await _client.GetVmAsync(outcome.VmId, CancellationToken.None)).PowerState);
    }

    [Fact]
    public async Task A_guest_that_never_finishes_its_shutdown_is_powered_off_hard_after_the_timeout()
    {
        var timeout = TimeSpan.FromSeconds(1);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var outcome = await Steps().ShutDownVmAsync(ShutdownOf("vm-01-003", timeout: timeout), CancellationToken.None);

        Assert.Equal((VmShutdownOutcome.Forced, VCenterException.Timeout), (outcome.Outcome, outcome.Fault?.Name));
        Assert.True(clock.Elapsed >= timeout, $"forced after {clock.Elapsed}, before the guest's {timeout}");
        Assert.Single(await VcsimState.JournalAsync(_vcsim, "vm-01-003", "shutdownGuest"));
        Assert.Equal("powerOff", Assert.Single(await VcsimState.JournalAsync(_vcsim, "vm-01-003", "powerState")).Cause);
    }

    [Fact]
    public async Task Powering_on_an_off_vm_is_Done_and_an_on_vm_AlreadyInState()
    {
        var steps = Steps();
        var vm = _inventory.Vms.Single(v => v.Name == "vm-03-001");
        await _client.PowerOffVmAsync(vm.Id, TimeSpan.FromSeconds(10), CancellationToken.None);

        var first = await steps.PowerOnVmAsync(new VmPowerOnRequested(Guid.NewGuid(), "cluster1", vm.Id, vm.Name), CancellationToken.None);
        var second = await steps.PowerOnVmAsync(new VmPowerOnRequested(Guid.NewGuid(), "cluster1", vm.Id, vm.Name), CancellationToken.None);

        Assert.Equal((StepOutcome.Done, StepOutcome.AlreadyInState), (first.Outcome, second.Outcome));
        Assert.True((await _client.GetVmAsync(vm.Id, CancellationToken.None)).IsOn);
    }

    [Fact]
    public async Task Entering_maintenance_while_vms_run_fails_with_vcenters_Timedout_after_the_timeout()
    {
        var outcome = await Steps().EnterMaintenanceAsync(new HostMaintenanceRequested(Guid.NewGuid(), "cluster1", "esx-02.pe.test"), CancellationToken.None);

        Assert.Equal((StepOutcome.Failed, "Timedout"), (outcome.Outcome, outcome.Fault?.Name));
        Assert.False((await _client.FindHostAsync("cluster1", "esx-02.pe.test", CancellationToken.None)).InMaintenanceMode);
    }

    [Fact]
    public async Task A_host_outside_maintenance_mode_is_not_shut_down_and_the_fault_is_InvalidState()
    {
        var outcome = await Steps().ShutDownHostAsync(new HostShutdownRequested(Guid.NewGuid(), "cluster1", "esx-02.pe.test"), CancellationToken.None);

        Assert.Equal((StepOutcome.Failed, VCenterException.InvalidState), (outcome.Outcome, outcome.Fault?.Name));
        Assert.Equal("poweredOn", (await _client.FindHostAsync("cluster1", "esx-02.pe.test", CancellationToken.None)).PowerState);
    }

    [Fact]
    public async Task Maintenance_enter_and_exit_each_report_Done_then_AlreadyInState()
    {
        var steps = Steps();
        await PowerOffAllVmsOfAsync("esx-03.pe.test");
        HostMaintenanceRequested Enter() => new(Guid.NewGuid(), "cluster1", "esx-03.pe.test");
        HostExitMaintenanceRequested Exit() => new(Guid.NewGuid(), "cluster1", "esx-03.pe.test");

        var entered = await steps.EnterMaintenanceAsync(Enter(), CancellationToken.None);
        var enteredAgain = await steps.EnterMaintenanceAsync(Enter(), CancellationToken.None);
        var exited = await steps.ExitMaintenanceAsync(Exit(), CancellationToken.None);
        var exitedAgain = await steps.ExitMaintenanceAsync(Exit(), CancellationToken.None);

        Assert.Equal([StepOutcome.Done, StepOutcome.AlreadyInState, StepOutcome.Done, StepOutcome.AlreadyInState],
            [entered.Outcome, enteredAgain.Outcome, exited.Outcome, exitedAgain.Outcome]);
        Assert.Equal(["entering", "entered", "exited"],
            (await VcsimState.JournalAsync(_vcsim, "esx-03.pe.test", "maintenance")).Select(e => e.To));
    }

    [Fact]
    public async Task A_host_in_maintenance_mode_shuts_down_and_asked_again_is_AlreadyInState()
    {
        var steps = Steps();
        await PowerOffAllVmsOfAsync("esx-03.pe.test");
        await steps.EnterMaintenanceAsync(new HostMaintenanceRequested(Guid.NewGuid(), "cluster1", "esx-03.pe.test"), CancellationToken.None);

        var off = await steps.ShutDownHostAsync(new HostShutdownRequested(Guid.NewGuid(), "cluster1", "esx-03.pe.test"), CancellationToken.None);
        var again = await steps.ShutDownHostAsync(new HostShutdownRequested(Guid.NewGuid(), "cluster1", "esx-03.pe.test"), CancellationToken.None);

        Assert.Equal((StepOutcome.Done, StepOutcome.AlreadyInState), (off.Outcome, again.Outcome));
        Assert.Single(await VcsimState.JournalAsync(_vcsim, "esx-03.pe.test", "shutdownHost"));
        var host = (await VcsimState.ReadAsync(_vcsim)).Hosts.Single(h => h.Name == "esx-03.pe.test");
        Assert.Equal("poweredOff", host.PowerState);
    }

    [Fact]
    public async Task An_unreachable_vcenter_is_retried_then_reported_in_the_outcome()
    {
        var options = Vcenter.Options(_vcsim, o => o.Url = new Uri($"https://127.0.0.1:{ServiceProcess.FreeTcpPort()}/sdk"));
        await using var connection = Vcenter.Connection(options);
        var steps = Vcenter.Steps(Vcenter.Client(connection, options), options);

        var outcome = await steps.ShutDownVmAsync(ShutdownOf("vm-01-001"), CancellationToken.None);

        Assert.Equal((VmShutdownOutcome.Failed, VCenterException.Unreachable), (outcome.Outcome, outcome.Fault?.Name));
        // The step's attempts, and the update stream's own (it backs off too) while the step waited on it.
        Assert.InRange(connection.RoundTrips, 1 + options.Retry.MaxAttempts, 3 * (1 + options.Retry.MaxAttempts));
    }

    [Fact]
    public async Task No_more_calls_than_configured_are_in_flight()
    {
        var options = Vcenter.Options(_vcsim, o => o.MaxConcurrentCalls = 2);
        await using var connection = Vcenter.Connection(options);
        var client = Vcenter.Client(connection, options);

        await Task.WhenAll(Enumerable.Range(0, 3).SelectMany(_ => _inventory.Vms).Select(v => client.GetVmAsync(v.Id, CancellationToken.None)));

        Assert.Equal(2, connection.InFlightPeak);
    }

    async Task PowerOffAllVmsOfAsync(string host)
    {
        foreach (var vm in _inventory.Vms.Where(v => v.Host == host))
            await _client.PowerOffVmAsync(vm.Id, TimeSpan.FromSeconds(10), CancellationToken.None);
    }
}
