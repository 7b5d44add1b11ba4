using Xunit;

namespace PowerEvents.PowerSaga.Tests;

/// <summary>
/// The typical small cluster with <c>Power:Clusters:N:UseVsanClusterPowerApi</c> on: the hosts and vCenter's VM go down and
/// come back through vSAN's cluster power API (pe-vcsim's <c>/vsan</c> endpoint), each call its own step in the run history,
/// over the real RabbitMQ and PostgreSQL with the AlarmEvaluator, VCenterActuator and IloActuator in this process.
/// </summary>
[Collection(PowerIntegrationCollection.Name)]
public sealed class VsanClusterPowerApiTests
{
    static readonly string[] Vcsim =
    [
        "-topology", "typical-small", "-esxi-base-port", "-1", "-vcls-restart-delay", "200ms", "-vcls-retreat-delay", "500ms",
        "-vcenter-boot-delay", "1s", "-guest-shutdown-min", "200ms", "-guest-shutdown-max", "500ms",
    ];

    [Fact]
    public async Task Full_cycle_through_vsans_cluster_power_api_every_host_off_and_everything_back()
    {
        await using var world = await PowerWorld.StartAsync(Vcsim);
        world.UseFastPowerOn(TimeSpan.FromSeconds(1));
        world.Power["Clusters:0:InfrastructureVmPatterns:1"] = "^dns$";
        world.Power["Clusters:0:UseVsanClusterPowerApi"] = "true";
        world.Power["Clusters:0:ClusterStepDeadline"] = "00:01:00";
        world.Power["Clusters:0:VsanClusterPowerDeadline"] = "00:01:30";
        world.Power["Clusters:0:VCenterStartDeadline"] = "00:01:30";
        world.Power["Clusters:0:HostReconnectDeadline"] = "00:01:00";
        world.Actuator["VCenter:VclsRetreatTimeout"] = "00:00:30";
        world.Actuator["VCenter:VCenterStartPollInterval"] = "00:00:00.200";
        world.Actuator["VCenter:VCenterStartTimeout"] = "00:01:00";
        world.Actuator["VCenter:VsanResyncPollInterval"] = "00:00:00.100";
        world.Actuator["VCenter:VsanResyncTimeout"] = "00:00:05";
        world.Actuator["VCenter:VsanClusterPowerTimeout"] = "00:01:00";
        world.Actuator["VCenter:PollInterval"] = "00:00:00.200";
        world.Actuator["VCenter:GuestShutdownTimeout"] = "00:00:20";
        await world.UseEsxiHostsAsync();
        await world.StartBmcsAsync(TimeSpan.FromMilliseconds(300));
        await world.StartActuatorInProcessAsync();
        await world.StartIloActuatorInProcessAsync();
        await world.StartEvaluatorInProcessAsync();

        var before = await world.StateAsync();
        var clusterBefore = before.Clusters!.Single(c => c.Name == PowerWorld.Cluster);
        var ran = before.Vms.Where(v => !v.Vcls && v.PowerState == "poweredOn").Select(v => v.Name).Order().ToList();
        Assert.Contains("vcsa", ran);

        await world.RaiseAlarmAsync();
        var down = await world.WaitForStateAsync("ShutDown", TimeSpan.FromSeconds(180));
        var off = await world.StateAsync();
        var history = await world.HistoryAsync(down.RunId!.Value);
        string Lines() => string.Join("\n", history);
        Assert.True(off.Hosts.All(h => h.PowerState == "poweredOff"), $"hosts on: {string.Join(", ", off.Hosts.Where(h => h.PowerState != "poweredOff").Select(h => h.Name))}\n{Lines()}");
        var completed = Assert.Single(history, h => h.Step == "run");
        Assert.True(completed.Outcome == "Completed", completed.Detail + "\n" + Lines());
        var powerOff = history.SingleOrDefault(h => h.Step == "vsan-cluster-power-off" && h.Outcome == "Done");
        Assert.True(powerOff is not null, Lines());
        Assert.Contains("hosts off:", powerOff!.Detail, StringComparison.Ordinal);
        Assert.Equal(off.Hosts.Select(h => h.Name).Order(), history.Where(h => h.Step == "host-shutdown" && h.Outcome == "VsanPowerOff").Select(h => h.Target).Order());
        // No per-host step: vSAN did the maintenance mode and the shutdowns, and vCenter's VM.
        Assert.DoesNotContain(history, h => h.Step is "host-maintenance" or "esxi-host-shutdown" && h.Outcome is not ("Skipped" or "Deferred"));

        var j = off.Journal;
        var tenantsOff = j.Where(e => e.Kind == "vm" && e.Event == "powerState" && e.To == "poweredOff" && e.Name != "vcsa" && !e.Name.StartsWith("vCLS", StringComparison.Ordinal)).Max(e => e.Seq);
        var requested = Assert.Single(j, e => e.Kind == "vsanPower" && e.Event == "requested");
        Assert.Equal("clusterPoweredOff", requested.To);
        Assert.True(tenantsOff < requested.Seq, "every user VM is off before vSAN is asked");
        Assert.All(j.Where(e => e.Kind == "host" && e.Event is "maintenance" or "powerState" && e.Seq > requested.Seq && e.To is "entering" or "poweredOff"),
            e => Assert.Equal("vsanPower", e.Cause));
        Assert.Contains(j, e => e.Kind == "vm" && e.Name == "vcsa" && e.To == "poweredOff" && e.Cause == "vsanPower");
        Assert.DoesNotContain(j, e => e.Kind == "vm" && e.Name == "vcsa" && e.Event == "shutdownGuest");

        await world.BmcsFollowHostsOffAsync();
        await world.ClearAlarmAsync();
        var restored = await world.WaitForStateAsync("Restored", TimeSpan.FromSeconds(240));
        var after = await world.StateAsync();
        var restoreHistory = await world.HistoryAsync(restored.RunId!.Value);
        var restoreDone = Assert.Single(restoreHistory, h => h.Step == "restore");
        Assert.True(restoreDone.Outcome == "Completed", restoreDone.Detail + "\n" + string.Join("\n", restoreHistory));
        Assert.True(restoreHistory.Count(h => h.Step == "vsan-cluster-power-on" && h.Outcome == "Done") == 1, string.Join("\n", restoreHistory));
        Assert.Contains(restoreHistory, h => h.Step == "host-exit-maintenance" && h.Outcome == "VsanPowerOn");
        Assert.All(after.Hosts, h => Assert.Equal(("poweredOn", "connected", false), (h.PowerState, h.ConnectionState, h.InMaintenance)));
        Assert.Equal(ran, after.Vms.Where(v => !v.Vcls && v.PowerState == "poweredOn").Select(v => v.Name).Order().ToList());
        Assert.Equal(clusterBefore, after.Clusters!.Single(c => c.Name == PowerWorld.Cluster));

        var j2 = after.Journal.Where(e => e.Seq > j.Max(x => x.Seq)).ToList();
        var powerOn = Assert.Single(j2, e => e.Kind == "vsanPower" && e.Event == "requested");
        Assert.Equal("clusterPoweredOn", powerOn.To);
        var tenantsOn = j2.Where(e => e.Kind == "vm" && e.Event == "powerState" && e.To == "poweredOn" && e.Name != "vcsa" && !e.Name.StartsWith("vCLS", StringComparison.Ordinal)).Min(e => e.Seq);
        var outOfMaintenance = j2.Where(e => e.Kind == "vsanPower" && e.Event == "step" && e.To == "clusterPoweredOn").Max(e => e.Seq);
        Assert.True(outOfMaintenance < tenantsOn, "vSAN's power-on is finished before any VM starts");
    }
}
