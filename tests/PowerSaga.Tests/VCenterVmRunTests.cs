using Xunit;

namespace PowerEvents.PowerSaga.Tests;

/// <summary>vCenter's own VM on the protected cluster: detected and reported, shut down last; the host steps then fail and are listed.</summary>
[Collection(PowerIntegrationCollection.Name)]
public sealed class VCenterVmRunTests
{
    [Fact]
    public async Task The_vcenter_vm_is_reported_shut_down_last_and_the_unreachable_host_steps_are_listed_as_failures()
    {
        await using var world = await PowerWorld.StartAsync(["-hosts", "2", "-vms", "2", "-vcenter-vm", "vcsa", "-guest-shutdown-min", "200ms", "-guest-shutdown-max", "500ms"]);
        await world.StartActuatorInProcessAsync();
        await world.StartEvaluatorInProcessAsync();

        await world.RaiseAlarmAsync();
        var saga = await world.WaitForStateAsync("ShutDown", TimeSpan.FromSeconds(120));

        var history = await world.HistoryAsync(saga.RunId!.Value);
        Assert.Contains(history, h => h.Outcome == "VCenterVmOnCluster" && h.Target == "vcsa");
        var state = await world.StateAsync();
        Assert.All(state.Vms, vm => Assert.Equal("poweredOff", vm.PowerState));
        var offs = state.Journal.Where(e => e.Kind == "vm" && e.Event == "powerState" && e.To == "poweredOff").OrderBy(e => e.Seq).ToList();
        Assert.Equal("vcsa", offs[^1].Name);
        Assert.True(offs.Where(e => e.Name != "vcsa").Max(e => e.Seq) < state.Journal.First(e => e.Name == "vcsa" && e.Event == "shutdownGuest").Seq,
            "vCenter's VM is asked only after every other VM is off");
        Assert.All(state.Hosts, h => Assert.Equal("poweredOn", h.PowerState));
        var completed = Assert.Single(history, h => h.Step == "run");
        Assert.Equal("CompletedWithFailures", completed.Outcome);
        Assert.Contains("host esx-01", completed.Detail, StringComparison.Ordinal);
        Assert.Contains("host esx-02", completed.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("vm-shutdown vcsa", completed.Detail, StringComparison.Ordinal);
    }
}
