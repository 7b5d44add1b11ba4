using Xunit;

namespace PowerEvents.PowerSaga.Tests;

/// <summary>
/// A standalone "cluster" of ESXi hosts (no vCenter in use: <c>VCenter:Clusters:lab:Hosts</c>) through the whole saga: the
/// AlarmEvaluator, VCenterActuator and IloActuator in this process over the real RabbitMQ and PostgreSQL, pe-vcsim's hosts
/// answering on their own APIs, one Redfish BMC simulator per host.
/// </summary>
[Collection(PowerIntegrationCollection.Name)]
public sealed class StandaloneClusterSagaTests
{
    [Fact]
    public async Task A_standalone_host_is_shut_down_and_restored_through_its_own_api_by_the_saga()
    {
        await using var world = await PowerWorld.StartAsync(["-clusters", "0", "-standalone-hosts", "2", "-vms", "2", "-esxi-base-port", "-1",
            "-journal-calls", "-guest-shutdown-min", "100ms", "-guest-shutdown-max", "300ms"]);
        world.UseFastPowerOn(TimeSpan.FromSeconds(1));
        world.Power["Clusters:0:Name"] = "lab";
        var before = await world.StateAsync();
        var hosts = before.Hosts.Select(h => h.Name).Order().ToList();
        Assert.Equal(2, hosts.Count);
        await world.UseEsxiHostsAsync();
        for (var i = 0; i < hosts.Count; i++)
            world.Actuator[$"VCenter:Clusters:lab:Hosts:{i}"] = hosts[i];
        await world.StartBmcsAsync(TimeSpan.FromMilliseconds(300));
        await world.StartActuatorInProcessAsync();
        await world.StartIloActuatorInProcessAsync();
        await world.StartEvaluatorInProcessAsync();
        var ran = before.Vms.Where(v => v.PowerState == "poweredOn").Select(v => v.Name).Order().ToList();
        Assert.NotEmpty(ran);

        await world.RaiseAlarmAsync();
        var down = await world.WaitForStateAsync("ShutDown", TimeSpan.FromSeconds(180));
        var off = await world.StateAsync();
        var history = await world.HistoryAsync(down.RunId!.Value);
        string Lines(IEnumerable<PowerWorld.HistoryRow> rows) => string.Join("\n", rows);
        var completed = Assert.Single(history, h => h.Step == "run");
        Assert.True(completed.Outcome == "Completed", completed.Detail + "\n" + Lines(history));
        Assert.All(off.Hosts, h => Assert.Equal("poweredOff", h.PowerState));
        Assert.All(off.Vms, v => Assert.Equal("poweredOff", v.PowerState));
        Assert.Equal(hosts, history.Where(h => h.Step == "host-shutdown" && h.Outcome is "Done" or "AlreadyInState").Select(h => h.Target).Order());

        await world.BmcsFollowHostsOffAsync();
        await world.ClearAlarmAsync();
        var restored = await world.WaitForStateAsync("Restored", TimeSpan.FromSeconds(180));
        var after = await world.StateAsync();
        var restoreHistory = await world.HistoryAsync(restored.RunId!.Value);
        var restoreDone = Assert.Single(restoreHistory, h => h.Step == "restore");
        Assert.True(restoreDone.Outcome == "Completed", restoreDone.Detail + "\n" + Lines(restoreHistory));
        Assert.All(after.Hosts, h => Assert.Equal(("poweredOn", "connected", false), (h.PowerState, h.ConnectionState, h.InMaintenance)));
        Assert.Equal(ran, after.Vms.Where(v => v.PowerState == "poweredOn").Select(v => v.Name).Order().ToList());
    }
}
