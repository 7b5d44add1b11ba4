using PowerEvents.AlarmEvaluator.Power;
using Xunit;

namespace PowerEvents.PowerSaga.Tests;

/// <summary>
/// Whole cycles: AlarmEvaluator (saga), VCenterActuator and IloActuator hosted in this process over the real RabbitMQ and
/// PostgreSQL; a private vcsim (3 hosts × 3 VMs) and one HTTPS Redfish BMC simulator per host (certificate pinned) that
/// brings its host back in vcsim when it reaches On. Tiers: apps (-003), databases (-002), infrastructure (-001).
/// </summary>
[Collection(PowerIntegrationCollection.Name)]
public sealed class PowerOnRunTests
{
    static readonly string[] Vcsim = ["-hosts", "3", "-vms", "3", "-guest-shutdown-min", "200ms", "-guest-shutdown-max", "500ms"];
    static readonly TimeSpan MinimumOffTime = TimeSpan.FromSeconds(2);
    static readonly TimeSpan BootDelay = TimeSpan.FromMilliseconds(300);

    static async Task<PowerWorld> StartAsync(Action<PowerWorld>? configure = null)
    {
        var world = await PowerWorld.StartAsync(Vcsim);
        world.UseFastPowerOn(MinimumOffTime);
        configure?.Invoke(world);
        await world.StartBmcsAsync(BootDelay);
        await world.StartActuatorInProcessAsync();
        await world.StartIloActuatorInProcessAsync();
        await world.StartEvaluatorInProcessAsync();
        return world;
    }

    /// <summary>Alarm → everything off → the BMCs see their servers off → alarm cleared.</summary>
    static async Task<PowerWorld.SagaRow> ShutDownAndClearAsync(PowerWorld world)
    {
        await world.RaiseAlarmAsync();
        var down = await world.WaitForStateAsync("ShutDown", TimeSpan.FromSeconds(60));
        var state = await world.StateAsync();
        Assert.All(state.Vms, vm => Assert.Equal("poweredOff", vm.PowerState));
        Assert.All(state.Hosts, host => Assert.Equal("poweredOff", host.PowerState));
        await world.BmcsFollowHostsOffAsync();
        await world.ClearAlarmAsync();
        return down;
    }

    [Fact]
    public async Task After_the_clear_the_hosts_come_back_through_their_BMCs_and_exactly_the_running_vms_start_in_reverse_tier_order()
    {
        await using var world = await StartAsync();
        await world.PowerOffVmBeforehandAsync("vm-02-002");

        var down = await ShutDownAndClearAsync(world);
        var restored = await world.WaitForStateAsync("Restored", TimeSpan.FromSeconds(60));

        Assert.Equal(down.RunId, restored.RunId);
        var state = await world.StateAsync();
        Assert.All(state.Hosts, h => Assert.Equal(("poweredOn", "connected", false), (h.PowerState, h.ConnectionState, h.InMaintenance)));
        Assert.All(world.Bmcs.Values, bmc => Assert.Contains("On", bmc.Bmc.ResetRequests));
        Assert.Equal(["vm-02-002"], state.Vms.Where(v => v.PowerState != "poweredOn").Select(v => v.Name));

        // The minimum off time counts from the shutdown's completion, i.e. after the last host went off.
        var lastHostOff = state.Journal.Where(e => e.Kind == "host" && e.Event == "powerState" && e.To == "poweredOff").Max(e => e.At);
        var firstHostOn = state.Journal.Where(e => e.Kind == "host" && e.Event == "powerState" && e.To == "poweredOn").ToList();
        Assert.Equal(3, firstHostOn.Count);
        Assert.All(firstHostOn, e => Assert.Equal("control:power-on", e.Cause));
        Assert.True(firstHostOn.Min(e => e.At) >= lastHostOff + MinimumOffTime, $"first host on at {firstHostOn.Min(e => e.At):O}, last off at {lastHostOff:O}");

        // Maintenance exits after the hosts are back; VMs after the exits, tier by tier in reverse: -001, then -002, then -003.
        var lastExit = state.Journal.Where(e => e.Kind == "host" && e.Event == "maintenance" && e.To == "exited").ToList();
        Assert.Equal(3, lastExit.Count);
        var vmOns = state.Journal.Where(e => e.Kind == "vm" && e.Event == "powerState" && e.To == "poweredOn").ToList();
        Assert.Equal(8, vmOns.Count);
        Assert.True(vmOns.Min(e => e.Seq) > lastExit.Max(e => e.Seq), "VMs start only after every host left maintenance mode");
        for (var tier = PowerWorld.TierSuffixes.Length - 1; tier > 0; tier--)
        {
            var lastOn = vmOns.Where(e => PowerWorld.TierOf(e.Name) == tier).Max(e => e.Seq);
            var nextFirst = vmOns.Where(e => PowerWorld.TierOf(e.Name) == tier - 1).Min(e => e.Seq);
            Assert.True(lastOn < nextFirst, $"tier {tier} on (seq {lastOn}) before tier {tier - 1} starts (seq {nextFirst})");
        }

        var history = await world.HistoryAsync(restored.RunId!.Value);
        Assert.Contains(history, h => h.Step == "power-on" && h.Outcome == "Scheduled");
        Assert.Equal(3, history.Count(h => h.Step == "host-power-on" && h.Outcome == "PoweredOn"));
        Assert.Equal(3, history.Count(h => h.Step == "host-reconnect" && h.Outcome == "Connected"));
        Assert.Equal(8, history.Count(h => h.Step == "vm-power-on" && h.Outcome == "Done"));
        Assert.DoesNotContain(history, h => h.Step == "vm-power-on" && h.Target == "vm-02-002");
        Assert.Contains(history, h => h.Step == "restore" && h.Outcome == "Completed");
    }

    [Fact]
    public async Task A_bmc_with_a_wrong_password_leaves_that_host_and_its_vms_reported_and_the_others_restored()
    {
        await using var world = await StartAsync(w => w.BmcPasswords["esx-02.pe.test"] = "not-the-password");

        var down = await ShutDownAndClearAsync(world);
        var restored = await world.WaitForStateAsync("Restored", TimeSpan.FromSeconds(60));

        var state = await world.StateAsync();
        Assert.Equal("poweredOff", state.Hosts.Single(h => h.Name == "esx-02.pe.test").PowerState);
        Assert.All(state.Hosts.Where(h => h.Name != "esx-02.pe.test"), h => Assert.Equal(("poweredOn", false), (h.PowerState, h.InMaintenance)));
        Assert.All(state.Vms, v => Assert.Equal(v.Host == "esx-02.pe.test" ? "poweredOff" : "poweredOn", v.PowerState));
        Assert.Empty(world.Bmcs["esx-02.pe.test"].Bmc.ResetRequests);
        Assert.True(world.Bmcs["esx-02.pe.test"].Bmc.LoginFailures >= 1);

        var history = await world.HistoryAsync(down.RunId!.Value);
        var failed = Assert.Single(history, h => h.Step == "host-power-on" && h.Outcome == "Failed");
        Assert.Equal("esx-02.pe.test", failed.Target);
        Assert.Contains("credentials", failed.Detail, StringComparison.Ordinal);
        Assert.Equal(3, history.Count(h => h.Step == "vm-power-on" && h.Outcome == "NotRestored"));
        var end = Assert.Single(history, h => h.Step == "restore");
        Assert.Equal("CompletedWithFailures", end.Outcome);
        Assert.Contains("host esx-02.pe.test: not powered on", end.Detail, StringComparison.Ordinal);
        Assert.Equal(restored.RunId, down.RunId);
    }

    [Fact]
    public async Task When_the_alarm_returns_during_the_power_on_no_further_host_is_powered_on_and_everything_ends_off()
    {
        // Staggered: one host is back before the next is asked, so the alarm lands between two power-on steps.
        await using var world = await StartAsync(w => w.Power["Clusters:0:PowerOnStagger"] = "00:00:10");

        var down = await ShutDownAndClearAsync(world);
        await PowerWorld.Eventually(async () => (await world.StateAsync()).Hosts.Any(h => h.PowerState == "poweredOn"), TimeSpan.FromSeconds(30), "first host back");
        await world.RaiseAlarmAsync();
        var again = await world.WaitForAsync(s => s.CurrentState == "ShutDown" && s.RunId != down.RunId, TimeSpan.FromSeconds(60), "second shutdown done");

        var state = await world.StateAsync();
        Assert.All(state.Vms, vm => Assert.Equal("poweredOff", vm.PowerState));
        Assert.All(state.Hosts, host => Assert.Equal("poweredOff", host.PowerState));
        Assert.Equal(1, world.Bmcs.Values.Count(b => b.Bmc.ResetRequests.Contains("On")));

        var first = await world.HistoryAsync(down.RunId!.Value);
        Assert.Single(first, h => h.Step == "host-power-on" && h.Outcome == "Requested");
        // esx-01 was on but not yet seen in vCenter: the saga waited for it before reading the fresh inventory.
        Assert.Contains(first, h => h.Step == "restore" && h.Outcome == "Draining");
        Assert.Contains(first, h => h.Step == "restore" && h.Outcome == "Interrupted");
        Assert.DoesNotContain(first, h => h.Step == "vm-power-on" && h.Outcome == "Requested");
        var second = await world.HistoryAsync(again.RunId!.Value);
        Assert.Contains(second, h => h.Step == "host-shutdown" && h.Outcome == "Done");

        // What the interrupted power-on still owed is kept for the next one: all 9 VMs that ran before the first alarm.
        Assert.Equal(9, await world.StepCountAsync(again.RunId.Value, PowerSteps.VmPowerOn));
    }
}
