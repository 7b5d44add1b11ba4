using Xunit;

namespace PowerEvents.PowerSaga.Tests;

/// <summary>
/// <c>Power:Clusters:N:UseVsanClusterPowerApi</c> against a vCenter without vSAN's cluster power API (pe-vcsim
/// <c>-api-version 7.0.2.0</c>: <c>PerformClusterPowerAction</c> answers <c>MethodNotFound</c>), over the real RabbitMQ and
/// PostgreSQL with the AlarmEvaluator, VCenterActuator and IloActuator in this process. The default path through the API on
/// a 7.0.3 vCenter is <see cref="TypicalSmallClusterTests"/>' full cycle.
/// </summary>
[Collection(PowerIntegrationCollection.Name)]
public sealed class VsanClusterPowerApiTests
{
    static readonly string[] Vcsim =
    [
        "-topology", "typical-small", "-esxi-base-port", "-1", "-vcls-restart-delay", "200ms", "-vcls-retreat-delay", "500ms",
        "-vcenter-boot-delay", "1s", "-guest-shutdown-min", "200ms", "-guest-shutdown-max", "500ms", "-api-version", "7.0.2.0",
    ];

    static async Task<PowerWorld> StartAsync(string? mode)
    {
        var world = await PowerWorld.StartAsync(Vcsim);
        world.Power["Clusters:0:InfrastructureVmPatterns:1"] = "^dns$";
        if (mode is not null)
            world.Power["Clusters:0:UseVsanClusterPowerApi"] = mode;
        world.Power["Clusters:0:ClusterStepDeadline"] = "00:01:00";
        world.Power["Clusters:0:EsxiHostShutdownDeadline"] = "00:01:00";
        world.Power["Clusters:0:VsanClusterPowerDeadline"] = "00:01:30";
        world.Actuator["VCenter:VclsRetreatTimeout"] = "00:00:30";
        world.Actuator["VCenter:VsanResyncPollInterval"] = "00:00:00.100";
        world.Actuator["VCenter:VsanResyncTimeout"] = "00:00:05";
        world.Actuator["VCenter:VsanClusterPowerTimeout"] = "00:01:00";
        world.Actuator["VCenter:PollInterval"] = "00:00:00.200";
        world.Actuator["VCenter:GuestShutdownTimeout"] = "00:00:20";
        await world.UseEsxiHostsAsync();
        await world.StartActuatorInProcessAsync();
        await world.StartEvaluatorInProcessAsync();
        return world;
    }

    static async Task<(VcsimState Off, IReadOnlyList<string> Lines, List<PowerWorld.HistoryRow> History)> ShutDownAsync(PowerWorld world)
    {
        await world.RaiseAlarmAsync();
        var down = await world.WaitForStateAsync("ShutDown", TimeSpan.FromSeconds(180));
        var off = await world.StateAsync();
        var history = (await world.HistoryAsync(down.RunId!.Value)).ToList();
        var lines = history.Select(h => h.ToString()).ToList();
        Assert.True(off.Hosts.All(h => h.PowerState == "poweredOff"),
            $"hosts on: {string.Join(", ", off.Hosts.Where(h => h.PowerState != "poweredOff").Select(h => h.Name))}\n{string.Join("\n", lines)}");
        return (off, lines, history);
    }

    [Fact]
    public async Task By_default_a_vcenter_below_7_0_3_takes_the_per_host_steps_and_the_history_says_why()
    {
        await using var world = await StartAsync(mode: null);

        var (off, lines, history) = await ShutDownAsync(world);

        Assert.Contains(history, h => h.Step == "plan" && h.Outcome == "Planned"
            && h.Detail == "per-host steps: vCenter 7.0.2.0 has no vSAN cluster power API (vSAN 7.0 U3 / API 7.0.3 and later)");
        var completed = Assert.Single(history, h => h.Step == "run");
        Assert.True(completed.Outcome == "Completed", completed.Detail + "\n" + string.Join("\n", lines));
        Assert.DoesNotContain(history, h => h.Step == "vsan-cluster-power-off");
        Assert.DoesNotContain(off.Journal, e => e.Kind == "vsanPower");
        Assert.Contains(off.Journal, e => e.Event == "maintenance" && e.Cause == "vsan:noAction");
        Assert.Contains(history, h => h.Step == "esxi-host-shutdown" && h.Outcome == "Done");
    }

    [Fact]
    public async Task With_always_a_vcenter_below_7_0_3_refuses_the_api_and_the_run_falls_back_every_host_still_off()
    {
        await using var world = await StartAsync(mode: "always");

        var (off, lines, history) = await ShutDownAsync(world);

        Assert.Contains(history, h => h.Step == "plan" && h.Detail.StartsWith("vSAN's cluster power API: UseVsanClusterPowerApi=always", StringComparison.Ordinal));
        var refused = history.SingleOrDefault(h => h.Step == "vsan-cluster-power-off" && h.Outcome == "Failed");
        Assert.True(refused is not null, string.Join("\n", lines));
        Assert.Contains("refused before any change", refused!.Detail, StringComparison.Ordinal);
        Assert.Contains("MethodNotFound", refused.Detail, StringComparison.Ordinal);
        Assert.Contains(history, h => h.Step == "vsan-cluster-power-off" && h.Outcome == "FallBack");
        Assert.DoesNotContain(off.Journal, e => e.Kind == "vsanPower");
        Assert.Contains(off.Journal, e => e.Event == "maintenance" && e.Cause == "vsan:noAction");
        var completed = Assert.Single(history, h => h.Step == "run");
        Assert.Equal("CompletedWithFailures", completed.Outcome);
    }
}
