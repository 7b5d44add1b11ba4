using Xunit;

namespace PowerEvents.PowerSaga.Tests;

/// <summary>
/// vCenter's own VM on the protected cluster, with no ESXi credentials configured for its host: the other host goes off
/// through vCenter first, then vCenter's VM; its host cannot be finished (no credentials) and is listed, nothing else.
/// </summary>
[Collection(PowerIntegrationCollection.Name)]
public sealed class VCenterVmRunTests
{
    [Fact]
    public async Task The_other_hosts_go_off_before_the_vcenter_vm_and_its_host_without_esxi_credentials_is_listed_as_the_only_failure()
    {
        await using var world = await PowerWorld.StartAsync(["-hosts", "2", "-vms", "2", "-vcenter-vm", "vcsa", "-guest-shutdown-min", "200ms", "-guest-shutdown-max", "500ms"]);
        await world.StartActuatorInProcessAsync();
        await world.StartEvaluatorInProcessAsync();
        var vcenterHost = (await world.StateAsync()).Vms.Single(v => v.Name == "vcsa").Host;

        await world.RaiseAlarmAsync();
        var saga = await world.WaitForStateAsync("ShutDown", TimeSpan.FromSeconds(120));

        var history = await world.HistoryAsync(saga.RunId!.Value);
        Assert.Contains(history, h => h.Outcome == "VCenterVmOnCluster" && h.Target == "vcsa");
        var state = await world.StateAsync();
        Assert.All(state.Vms, vm => Assert.Equal("poweredOff", vm.PowerState));
        var offs = state.Journal.Where(e => e.Kind == "vm" && e.Event == "powerState" && e.To == "poweredOff").OrderBy(e => e.Seq).ToList();
        Assert.Equal("vcsa", offs[^1].Name);
        var vcenterAsked = state.Journal.First(e => e.Name == "vcsa" && e.Event == "shutdownGuest").Seq;
        Assert.True(offs.Where(e => e.Name != "vcsa").Max(e => e.Seq) < vcenterAsked, "vCenter's VM is asked only after every other VM is off");
        Assert.True(state.Journal.Where(e => e.Kind == "host" && e.Event == "powerState" && e.To == "poweredOff").Max(e => e.Seq) < vcenterAsked,
            "the host without vCenter is off before vCenter's VM is asked");
        Assert.All(state.Hosts, h => Assert.Equal(h.Name == vcenterHost ? "poweredOn" : "poweredOff", h.PowerState));
        var completed = Assert.Single(history, h => h.Step == "run");
        Assert.Equal("CompletedWithFailures", completed.Outcome);
        Assert.Contains($"host {vcenterHost}: esxi-host-shutdown", completed.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("vm-shutdown vcsa", completed.Detail, StringComparison.Ordinal);
        Assert.Single(completed.Detail.Split("; "));
    }
}
