using System.Net.Http.Json;
using Xunit;

namespace PowerEvents.PowerSaga.Tests;

/// <summary>
/// Issue 12's "typical small cluster" (vcsim <c>-topology typical-small</c>: 3 hosts, vSAN, vCenter's VM <c>vcsa</c> on host 2,
/// vCLS, HA and DRS fully automated, a DNS VM), with each host's own API: AlarmEvaluator, VCenterActuator and IloActuator in
/// this process over the real RabbitMQ and PostgreSQL, one Redfish BMC simulator per host. By default (UseVsanClusterPowerApi
/// auto) the hosts go down and back through vSAN's cluster power API; tests of the per-host path pin <c>never</c>.
/// </summary>
[Collection(PowerIntegrationCollection.Name)]
public sealed class TypicalSmallClusterTests
{
    static readonly string[] Vcsim =
    [
        "-topology", "typical-small", "-esxi-base-port", "-1", "-vcls-restart-delay", "200ms", "-vcls-retreat-delay", "500ms",
        "-vcenter-boot-delay", "1s", "-guest-shutdown-min", "200ms", "-guest-shutdown-max", "500ms",
    ];

    /// <param name="vsanMode"><c>Power:Clusters:0:UseVsanClusterPowerApi</c>; null: the default (auto, which takes vSAN's API here:
    /// pe-vcsim's typical small cluster has vSAN and reports API 7.0.3).</param>
    static async Task<PowerWorld> StartAsync(Func<VcsimState, IReadOnlyDictionary<string, string>>? esxiPasswords = null, string? vsanMode = null, params string[] vcsimExtra)
    {
        var world = await PowerWorld.StartAsync([.. Vcsim, .. vcsimExtra]);
        world.UseFastPowerOn(TimeSpan.FromSeconds(1));
        if (vsanMode is not null)
            world.Power["Clusters:0:UseVsanClusterPowerApi"] = vsanMode;
        world.Power["Clusters:0:VsanClusterPowerDeadline"] = "00:01:30";
        world.Actuator["VCenter:VsanClusterPowerTimeout"] = "00:01:00";
        world.Actuator["VCenter:PollInterval"] = "00:00:00.200";
        world.Power["Clusters:0:InfrastructureVmPatterns:1"] = "^dns$";
        world.Power["Clusters:0:ClusterStepDeadline"] = "00:01:00";
        world.Power["Clusters:0:EsxiHostShutdownDeadline"] = "00:01:00";
        world.Power["Clusters:0:VCenterStartDeadline"] = "00:01:30";
        world.Power["Clusters:0:HostReconnectDeadline"] = "00:01:00";
        world.Actuator["VCenter:VclsRetreatTimeout"] = "00:00:30";
        world.Actuator["VCenter:VCenterStartPollInterval"] = "00:00:00.200";
        world.Actuator["VCenter:VCenterStartTimeout"] = "00:01:00";
        world.Actuator["VCenter:VsanResyncPollInterval"] = "00:00:00.100";
        world.Actuator["VCenter:VsanResyncTimeout"] = "00:00:05";
        world.Actuator["VCenter:GuestShutdownTimeout"] = "00:00:20";
        await world.UseEsxiHostsAsync(esxiPasswords?.Invoke(await world.StateAsync()));
        await world.StartBmcsAsync(TimeSpan.FromMilliseconds(300));
        await world.StartActuatorInProcessAsync();
        await world.StartIloActuatorInProcessAsync();
        await world.StartEvaluatorInProcessAsync();
        return world;
    }

    /// <summary>
    /// The kill -9 tests' world (the services run as processes, started by each test): deadlines leave room for a process
    /// to come back (up to 90 s to ready on a busy machine); <paramref name="configure"/> adds the test's own settings.
    /// </summary>
    static async Task<PowerWorld> StartKillWorldAsync(Action<PowerWorld> configure)
    {
        var world = await PowerWorld.StartAsync(Vcsim);
        try
        {
            world.UseFastPowerOn(TimeSpan.FromSeconds(1));
            world.Power["Clusters:0:InfrastructureVmPatterns:1"] = "^dns$";
            world.Power["Clusters:0:VCenterStartDeadline"] = "00:02:00";
            world.Power["Clusters:0:HostReconnectDeadline"] = "00:01:30";
            world.Actuator["VCenter:VCenterStartPollInterval"] = "00:00:00.200";
            world.Actuator["VCenter:VCenterStartTimeout"] = "00:01:30";
            world.Actuator["VCenter:VsanResyncPollInterval"] = "00:00:00.100";
            world.Actuator["VCenter:GuestShutdownTimeout"] = "00:00:20";
            configure(world);
            await world.UseEsxiHostsAsync();
            await world.StartBmcsAsync(TimeSpan.FromMilliseconds(300));
            await world.StartIloActuatorInProcessAsync();
            return world;
        }
        catch
        {
            await world.DisposeAsync();
            throw;
        }
    }

    /// <summary>The kill -9 world on vSAN's path: room for vSAN's workflow (<c>VsanClusterPowerDeadline</c>, the actuator's timeout) and a fast poll.</summary>
    static Task<PowerWorld> StartVsanKillWorldAsync(string deadline, string timeout) => StartKillWorldAsync(world =>
    {
        world.Power["Clusters:0:VsanClusterPowerDeadline"] = deadline;
        world.Actuator["VCenter:VsanClusterPowerTimeout"] = timeout;
        world.Actuator["VCenter:PollInterval"] = "00:00:00.200";
    });

    static string VCenterHostOf(VcsimState state) => state.Vms.Single(v => v.Name == "vcsa").Host;

    [Fact]
    public async Task Full_cycle_by_default_through_vsans_cluster_power_api_every_host_off_and_everything_back_with_vcls_ha_and_drs_as_they_were()
    {
        await using var world = await StartAsync();
        var before = await world.StateAsync();
        var clusterBefore = before.Clusters!.Single(c => c.Name == PowerWorld.Cluster);
        Assert.True(clusterBefore is { HaEnabled: true, DrsEnabled: true, DrsBehavior: "fullyAutomated", Vsan: true, VclsEnabled: true }, clusterBefore.ToString());
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
        // The plan says which path and why.
        Assert.Contains(history, h => h.Step == "plan" && h.Outcome == "Planned"
            && h.Detail == "vSAN's cluster power API: vSAN is on, vCenter 7.0.3.0 offers it, no host was in maintenance mode before the run");
        var powerOff = history.SingleOrDefault(h => h.Step == "vsan-cluster-power-off" && h.Outcome == "Done");
        Assert.True(powerOff is not null, Lines());
        Assert.Equal(off.Hosts.Select(h => h.Name).Order(), history.Where(h => h.Step == "host-shutdown" && h.Outcome == "VsanPowerOff").Select(h => h.Target).Order());
        // No per-host step: vSAN did the maintenance mode and the shutdowns, and vCenter's VM.
        Assert.DoesNotContain(history, h => h.Step is "host-maintenance" or "esxi-host-shutdown" && h.Outcome is not ("Skipped" or "Deferred"));

        // The order, from the simulator's journal.
        var j = off.Journal;
        int First(Func<VcsimState.Entry, bool> p) => j.Where(p).Select(e => e.Seq).DefaultIfEmpty(-1).Min() is var seq and >= 0 ? seq
            : throw new Xunit.Sdk.XunitException("no such journal entry; journal:\n" + string.Join("\n", j));
        int Last(Func<VcsimState.Entry, bool> p) => j.Where(p).Max(e => e.Seq);
        var tenantsOff = Last(e => e.Kind == "vm" && e.Event == "powerState" && e.To == "poweredOff" && e.Name != "vcsa" && !e.Name.StartsWith("vCLS", StringComparison.Ordinal));
        var vclsOption = First(e => e.Kind == "cluster" && e.Event == "vcls" && e.To == "retreat");
        var haOff = First(e => e.Kind == "cluster" && e.Event == "ha" && e.To == "disabled");
        var requested = Assert.Single(j, e => e.Kind == "vsanPower" && e.Event == "requested");
        Assert.Equal("clusterPoweredOff", requested.To);
        var vcenterOff = First(e => e.Kind == "vm" && e.Name == "vcsa" && e.Event == "powerState" && e.To == "poweredOff");
        var firstMaintenance = First(e => e.Kind == "host" && e.Event == "maintenance" && e.To is "entering" or "entered");
        var firstHostOff = First(e => e.Kind == "host" && e.Event == "powerState" && e.To == "poweredOff");
        Assert.True(tenantsOff < vclsOption && tenantsOff < haOff, "tenant VMs off before vCLS retreat and HA off");
        Assert.True(vclsOption < requested.Seq && haOff < requested.Seq, "vCLS retreat and HA off (by the run) before vSAN is asked");
        Assert.True(requested.Seq < vcenterOff && vcenterOff < firstMaintenance && firstMaintenance < firstHostOff,
            "vSAN's workflow: vCenter's VM off, then every host into maintenance mode, then off");
        Assert.All(j.Where(e => e.Kind == "host" && e.Event is "maintenance" or "powerState" && e.To is "entering" or "entered" or "poweredOff"),
            e => Assert.Equal("vsanPower", e.Cause));
        Assert.Equal("vsanPower", j.Single(e => e.Seq == vcenterOff).Cause);
        Assert.DoesNotContain(j, e => e.Kind == "vm" && e.Name == "vcsa" && e.Event == "shutdownGuest");
        Assert.DoesNotContain(j, e => e.Kind == "vm" && e.Name.StartsWith("vCLS", StringComparison.Ordinal) && e.Event == "shutdownGuest");
        Assert.DoesNotContain(j, e => e.Event == "maintenance" && e.Cause is { } cause && cause.Contains("ensureObjectAccessibility", StringComparison.Ordinal));

        await world.BmcsFollowHostsOffAsync();
        await world.ClearAlarmAsync();
        var restored = await world.WaitForStateAsync("Restored", TimeSpan.FromSeconds(240));
        var after = await world.StateAsync();
        var restoreHistory = await world.HistoryAsync(restored.RunId!.Value);
        string RestoreLines() => string.Join("\n", restoreHistory);
        var restoreDone = Assert.Single(restoreHistory, h => h.Step == "restore");
        Assert.True(restoreDone.Outcome == "Completed", restoreDone.Detail + "\n" + RestoreLines());
        Assert.True(restoreHistory.Count(h => h.Step == "vsan-cluster-power-on" && h.Outcome == "Done") == 1, RestoreLines());
        Assert.Contains(restoreHistory, h => h.Step == "host-exit-maintenance" && h.Outcome == "VsanPowerOn");
        Assert.All(after.Hosts, h => Assert.Equal(("poweredOn", "connected", false), (h.PowerState, h.ConnectionState, h.InMaintenance)));
        Assert.Equal(ran, after.Vms.Where(v => !v.Vcls && v.PowerState == "poweredOn").Select(v => v.Name).Order().ToList());
        Assert.Equal(clusterBefore, after.Clusters!.Single(c => c.Name == PowerWorld.Cluster));

        var j2 = after.Journal.Where(e => e.Seq > j.Max(x => x.Seq)).ToList();
        var vcenterOn = j2.Where(e => e.Kind == "vm" && e.Name == "vcsa" && e.Event == "powerState" && e.To == "poweredOn").Min(e => e.Seq);
        var powerOn = Assert.Single(j2, e => e.Kind == "vsanPower" && e.Event == "requested");
        Assert.Equal("clusterPoweredOn", powerOn.To);
        var vsanDone = j2.Where(e => e.Kind == "vsanPower" && e.Event == "step" && e.To == "clusterPoweredOn").Max(e => e.Seq);
        var exits = j2.Where(e => e.Kind == "host" && e.Event == "maintenance" && e.To == "exited").Max(e => e.Seq);
        var tenantsOn = j2.Where(e => e.Kind == "vm" && e.Event == "powerState" && e.To == "poweredOn" && e.Name != "vcsa" && !e.Name.StartsWith("vCLS", StringComparison.Ordinal)).ToList();
        var haBack = j2.Where(e => e.Kind == "cluster" && e.Event == "ha" && e.To == "enabled").Min(e => e.Seq);
        Assert.True(vcenterOn < powerOn.Seq, "vCenter's VM is started first, through its host; vSAN's power-on is asked of it");
        Assert.True(vsanDone < tenantsOn.Min(e => e.Seq) && exits < tenantsOn.Min(e => e.Seq), "vSAN's power-on (every host out of maintenance mode) is finished before any VM starts");
        Assert.True(tenantsOn.Max(e => e.Seq) < haBack, "HA is put back (by the run, from the recorded value) after the VMs");
        Assert.Equal("enabled", j2.Where(e => e.Kind == "cluster" && e.Event == "ha").OrderBy(e => e.Seq).Last().To);
        await PowerWorld.Eventually(async () => (await world.StateAsync()).Vms.Any(v => v.Vcls && v.PowerState == "poweredOn"),
            TimeSpan.FromSeconds(30), "vCLS VMs deployed again once the setting is back");
    }

    /// <summary>The per-host path, pinned: maintenance mode with vSAN noAction, vCenter's host finished through its own ESXi API.</summary>
    [Fact]
    public async Task Full_cycle_with_never_every_host_goes_off_through_per_host_steps_and_everything_comes_back_with_vcls_ha_and_drs_as_they_were()
    {
        await using var world = await StartAsync(vsanMode: "never");
        var before = await world.StateAsync();
        var vcenterHost = VCenterHostOf(before);
        var clusterBefore = before.Clusters!.Single(c => c.Name == PowerWorld.Cluster);
        Assert.True(clusterBefore is { HaEnabled: true, DrsEnabled: true, DrsBehavior: "fullyAutomated", Vsan: true, VclsEnabled: true }, clusterBefore.ToString());
        var ran = before.Vms.Where(v => !v.Vcls && v.PowerState == "poweredOn").Select(v => v.Name).Order().ToList();
        Assert.Contains("vcsa", ran);

        await world.RaiseAlarmAsync();
        var down = await world.WaitForStateAsync("ShutDown", TimeSpan.FromSeconds(180));
        var off = await world.StateAsync();
        var history = await world.HistoryAsync(down.RunId!.Value);
        Assert.True(off.Hosts.All(h => h.PowerState == "poweredOff"),
            $"hosts on: {string.Join(", ", off.Hosts.Where(h => h.PowerState != "poweredOff").Select(h => h.Name))}; history:\n{string.Join("\n", history)}");
        var completed = Assert.Single(history, h => h.Step == "run");
        Assert.True(completed.Outcome == "Completed", completed.Detail);
        Assert.Contains(history, h => h.Step == "plan" && h.Detail == "per-host steps: UseVsanClusterPowerApi=never");

        // The order, from the simulator's journal.
        var j = off.Journal;
        Assert.DoesNotContain(j, e => e.Kind == "vsanPower");
        string Settings() => string.Join("\n", j.Where(e => e.Kind is "cluster" or "option"));
        int First(Func<VcsimState.Entry, bool> p) => j.Where(p).Select(e => e.Seq).DefaultIfEmpty(-1).Min() is var seq and >= 0 ? seq
            : throw new Xunit.Sdk.XunitException("no such journal entry; cluster/option entries:\n" + Settings());
        int Last(Func<VcsimState.Entry, bool> p) => j.Where(p).Max(e => e.Seq);
        var tenantsOff = Last(e => e.Kind == "vm" && e.Event == "powerState" && e.To == "poweredOff" && e.Name != "vcsa" && !e.Name.StartsWith("vCLS", StringComparison.Ordinal));
        var vclsOption = First(e => e.Kind == "cluster" && e.Event == "vcls" && e.To == "retreat");
        var haOff = First(e => e.Kind == "cluster" && e.Event == "ha" && e.To == "disabled");
        var firstMaintenance = First(e => e.Kind == "host" && e.Event == "maintenance" && e.To == "entering");
        var othersOff = Last(e => e.Kind == "host" && e.Event == "powerState" && e.To == "poweredOff" && e.Name != vcenterHost);
        var vcenterAsked = First(e => e.Kind == "vm" && e.Name == "vcsa" && e.Event == "shutdownGuest");
        var vcenterHostOff = First(e => e.Kind == "host" && e.Event == "powerState" && e.To == "poweredOff" && e.Name == vcenterHost);
        Assert.True(tenantsOff < vclsOption && tenantsOff < haOff, "tenant VMs off before vCLS retreat and HA off");
        Assert.True(vclsOption < firstMaintenance && haOff < firstMaintenance, "vCLS retreat and HA off before any maintenance mode");
        Assert.True(othersOff < vcenterAsked, "the hosts without vCenter are off before vCenter's VM is asked to shut down");
        Assert.True(vcenterAsked < vcenterHostOff, "vCenter's host goes off after its VM");
        Assert.DoesNotContain(j, e => e.Kind == "vm" && e.Name.StartsWith("vCLS", StringComparison.Ordinal) && e.Event == "shutdownGuest");
        Assert.DoesNotContain(j, e => e.Event == "maintenance" && e.Cause is { } cause && cause.Contains("ensureObjectAccessibility", StringComparison.Ordinal));
        Assert.Contains(j, e => e.Event == "maintenance" && e.Cause == "vsan:noAction");

        await world.BmcsFollowHostsOffAsync();
        await world.ClearAlarmAsync();
        var restored = await world.WaitForStateAsync("Restored", TimeSpan.FromSeconds(240));
        var after = await world.StateAsync();
        var restoreHistory = await world.HistoryAsync(restored.RunId!.Value);
        var restoreDone = Assert.Single(restoreHistory, h => h.Step == "restore");
        Assert.True(restoreDone.Outcome == "Completed", restoreDone.Detail);
        Assert.All(after.Hosts, h => Assert.Equal(("poweredOn", "connected", false), (h.PowerState, h.ConnectionState, h.InMaintenance)));
        Assert.Equal(ran, after.Vms.Where(v => !v.Vcls && v.PowerState == "poweredOn").Select(v => v.Name).Order().ToList());
        Assert.Equal(clusterBefore, after.Clusters!.Single(c => c.Name == PowerWorld.Cluster));

        var j2 = after.Journal.Where(e => e.Seq > j.Max(x => x.Seq)).ToList();
        var vcenterOn = j2.Where(e => e.Kind == "vm" && e.Name == "vcsa" && e.Event == "powerState" && e.To == "poweredOn").Min(e => e.Seq);
        var exits = j2.Where(e => e.Kind == "host" && e.Event == "maintenance" && e.To == "exited").Max(e => e.Seq);
        var tenantsOn = j2.Where(e => e.Kind == "vm" && e.Event == "powerState" && e.To == "poweredOn" && e.Name != "vcsa" && !e.Name.StartsWith("vCLS", StringComparison.Ordinal)).ToList();
        var haBack = j2.Where(e => e.Kind == "cluster" && e.Event == "ha" && e.To == "enabled").Min(e => e.Seq);
        Assert.True(vcenterOn < tenantsOn.Min(e => e.Seq), "vCenter's VM is started first, through its host");
        Assert.True(exits < tenantsOn.Min(e => e.Seq), "every host leaves maintenance mode before any VM starts");
        Assert.True(tenantsOn.Max(e => e.Seq) < haBack, "HA is put back after the VMs");
        await PowerWorld.Eventually(async () => (await world.StateAsync()).Vms.Any(v => v.Vcls && v.PowerState == "poweredOn"),
            TimeSpan.FromSeconds(30), "vCLS VMs deployed again once the setting is back");
    }

    /// <summary>Per-host path (vSAN's workflow takes vCenter's VM down wherever it runs, so there it needs no following).</summary>
    [Fact]
    public async Task When_vcenters_vm_moved_after_the_plan_the_shutdown_and_the_power_on_follow_it()
    {
        await using var world = await StartAsync(vsanMode: "never");
        var before = await world.StateAsync();
        var planned = VCenterHostOf(before);
        var moved = before.Hosts.Select(h => h.Name).First(h => h != planned);
        var ran = before.Vms.Where(v => !v.Vcls && v.PowerState == "poweredOn").Select(v => v.Name).Order().ToList();

        await world.RaiseAlarmAsync();
        var planning = await world.WaitForAsync(r => r is { CurrentState: "ShuttingDown", Phase: "VmTiers" or "ClusterPrepare" }, TimeSpan.FromSeconds(60), "the plan made");
        Assert.Equal(("ShuttingDown", "VmTiers"), (planning.CurrentState, planning.Phase));
        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) })
        using (var response = await http.PostAsJsonAsync(new Uri(world.Vcsim.ControlUrl!, "/vms/vcsa/migrate"), new { host = moved }))
            response.EnsureSuccessStatusCode();
        Assert.Equal(moved, VCenterHostOf(await world.StateAsync()));

        var down = await world.WaitForStateAsync("ShutDown", TimeSpan.FromSeconds(240));
        var off = await world.StateAsync();
        var history = await world.HistoryAsync(down.RunId!.Value);
        string Lines() => string.Join("\n", history);
        Assert.True(off.Hosts.All(h => h.PowerState == "poweredOff"), $"hosts on: {string.Join(", ", off.Hosts.Where(h => h.PowerState != "poweredOff").Select(h => h.Name))}\n{Lines()}");
        Assert.Contains(history, h => h.Step == "esxi-host-shutdown" && h.Target == moved && h.Outcome == "Moved");
        // Through vCenter the host it moved to is refused at once (not left waiting for maintenance mode until the timeout).
        Assert.Contains(history, h => h.Step == "host-maintenance" && h.Target == moved && h.Outcome == "Failed" && h.Detail.Contains("vCenter's own VM", StringComparison.Ordinal));
        var completed = Assert.Single(history, h => h.Step == "run");
        Assert.True(completed.Outcome == "Completed", completed.Detail + "\n" + Lines());
        var j = off.Journal;
        var vcenterOff = j.Where(e => e.Kind == "vm" && e.Name == "vcsa" && e.Event == "powerState" && e.To == "poweredOff").Min(e => e.Seq);
        var movedOff = j.Where(e => e.Kind == "host" && e.Name == moved && e.Event == "powerState" && e.To == "poweredOff").Min(e => e.Seq);
        Assert.True(vcenterOff < movedOff, "the host vCenter's VM moved to goes off after that VM");

        await world.BmcsFollowHostsOffAsync();
        await world.ClearAlarmAsync();
        var restored = await world.WaitForStateAsync("Restored", TimeSpan.FromSeconds(240));
        var after = await world.StateAsync();
        var restoreHistory = await world.HistoryAsync(restored.RunId!.Value);
        Assert.Contains(restoreHistory, h => h.Step == "vcenter-start" && h.Target == moved && h.Outcome == "Done");
        var restoreDone = Assert.Single(restoreHistory, h => h.Step == "restore");
        Assert.True(restoreDone.Outcome == "Completed", restoreDone.Detail + "\n" + string.Join("\n", restoreHistory));
        Assert.Equal(ran, after.Vms.Where(v => !v.Vcls && v.PowerState == "poweredOn").Select(v => v.Name).Order().ToList());
        Assert.Equal(moved, VCenterHostOf(after));
    }

    /// <summary>Per-host path: there vCenter's host is finished through its own ESXi API, which this password fails.</summary>
    [Fact]
    public async Task A_wrong_esxi_password_for_vcenters_host_is_reported_and_every_other_host_still_goes_off()
    {
        await using var world = await StartAsync(state => new Dictionary<string, string> { [VCenterHostOf(state)] = "not-the-password" }, "never");
        var vcenterHost = VCenterHostOf(await world.StateAsync());
        await world.RaiseAlarmAsync();
        var down = await world.WaitForStateAsync("ShutDown", TimeSpan.FromSeconds(180));

        var state = await world.StateAsync();
        Assert.All(state.Hosts.Where(h => h.Name != vcenterHost), h => Assert.Equal("poweredOff", h.PowerState));
        Assert.Equal("poweredOn", state.Hosts.Single(h => h.Name == vcenterHost).PowerState);
        var history = await world.HistoryAsync(down.RunId!.Value);
        Assert.Contains(history, h => h.Step == "esxi-host-shutdown" && h.Target == vcenterHost && h.Outcome == "Failed");
        var completed = Assert.Single(history, h => h.Step == "run");
        Assert.Equal("CompletedWithFailures", completed.Outcome);
        Assert.Contains($"host {vcenterHost}", completed.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_plan_preview_shows_where_vcenter_runs_what_is_changed_and_restored_and_finds_lockdown_mode_on_its_host()
    {
        await using var world = await StartAsync(null, null, "-lockdown", "esx-02");
        var state = await world.StateAsync();
        var vcenterHost = VCenterHostOf(state);
        Assert.StartsWith("esx-02", vcenterHost, StringComparison.Ordinal);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var plan = await http.GetFromJsonAsync<System.Text.Json.JsonElement>(new Uri(new Uri(world.EvaluatorApp!.Urls.First()), $"/power/plan/{PowerWorld.Cluster}"));

        var vcenter = plan.GetProperty("vCenter");
        Assert.Equal(("vcsa", vcenterHost, "lockdownNormal", "LockdownMode"), (vcenter.GetProperty("vm").GetString(), vcenter.GetProperty("host").GetString(),
            vcenter.GetProperty("lockdownMode").GetString(), vcenter.GetProperty("esxiLogin").GetString()));
        Assert.Contains("vSAN's cluster power-off takes it", vcenter.GetProperty("shutdown").GetString(), StringComparison.Ordinal);
        Assert.Contains("own ESXi API", vcenter.GetProperty("shutdown").GetString(), StringComparison.Ordinal);
        Assert.Contains("not autostart", vcenter.GetProperty("powerOn").GetString(), StringComparison.Ordinal);
        var changes = plan.GetProperty("clusterChanges").EnumerateArray().ToList();
        Assert.Equal(["vcls-retreat", "ha-drs-disable", "vsan-resync", "vsan-cluster-power-off", "vsan-maintenance", "vsan-cluster-power"],
            changes.Select(c => c.GetProperty("step").GetString()));
        // Which path, and why: the default (auto) with vCenter 7.0.3 and no host in maintenance mode.
        Assert.Equal("vSAN's cluster power API: vSAN is on, vCenter 7.0.3.0 offers it, no host was in maintenance mode before the run",
            changes[^1].GetProperty("change").GetString());
        var restores = plan.GetProperty("restores").EnumerateArray().Select(r => r.GetString()!).ToList();
        Assert.Equal(2, restores.Count);
        Assert.Contains(restores, r => r.Contains("fullyAutomated", StringComparison.Ordinal));
        var problems = plan.GetProperty("problems").EnumerateArray().Select(p => p.GetString()!).ToList();
        Assert.Contains(problems, p => p.Contains("lockdown mode", StringComparison.Ordinal) && p.Contains(vcenterHost, StringComparison.Ordinal));
        Assert.DoesNotContain(plan.GetProperty("tiers").EnumerateArray().SelectMany(t => t.GetProperty("vms").EnumerateArray()),
            v => v.GetProperty("name").GetString()!.StartsWith("vCLS", StringComparison.Ordinal));
        Assert.Null(await world.SagaAsync());
    }

    static async Task Kill9Async(PowerEvents.Testing.ServiceProcess service)
    {
        using (var process = System.Diagnostics.Process.GetProcessById(service.ProcessId))
            process.Kill(); // SIGKILL on Linux
        await PowerWorld.Eventually(() => Task.FromResult(service.HasExited), TimeSpan.FromSeconds(10), "process gone");
    }

    static async Task<(PowerEvents.Testing.ServiceProcess Evaluator, PowerEvents.Testing.ServiceProcess Actuator)> StartProcessesAsync(PowerWorld world, TimeSpan ready)
    {
        var evaluator = world.StartEvaluatorProcess();
        world.Own(evaluator);
        var actuator = world.StartActuatorProcess();
        world.Own(actuator);
        await evaluator.WaitUntilReadyAsync(ready);
        await actuator.WaitUntilReadyAsync(ready);
        return (evaluator, actuator);
    }

    /// <summary>
    /// The default path (vSAN's cluster power API): both processes killed while vCenter boots on the way back (started through
    /// its host's ESXi API, before vSAN's clusterPoweredOn is asked). The power-off's own window (vCenter gone inside vSAN's
    /// task): <see cref="Kill_9_inside_vsans_power_off_after_vcenters_vm_went_off_the_workflow_is_followed_and_the_cycle_completes"/>.
    /// </summary>
    [Fact]
    public async Task Kill_9_of_the_evaluator_and_the_actuator_while_vcenter_boots_after_vsans_power_off_the_cycle_still_completes()
    {
        var ready = TimeSpan.FromSeconds(90);
        var world = await StartVsanKillWorldAsync("00:02:00", "00:01:30");
        await using var _ = world;
        var clusterBefore = (await world.StateAsync()).Clusters!.Single(c => c.Name == PowerWorld.Cluster);
        var (evaluator, actuator) = await StartProcessesAsync(world, ready);

        await world.RaiseAlarmAsync();
        var down = await world.WaitForStateAsync("ShutDown", TimeSpan.FromSeconds(180));
        Assert.All((await world.StateAsync()).Hosts, h => Assert.Equal("poweredOff", h.PowerState));
        Assert.Contains(await world.HistoryAsync(down.RunId!.Value), h => h.Step == "vsan-cluster-power-off" && h.Outcome == "Done");

        await world.BmcsFollowHostsOffAsync();
        await world.ClearAlarmAsync();
        var at = await world.WaitForAsync(r => r is { CurrentState: "PoweringOn", Phase: "VCenterStart" or "HostReconnect" or "ExitMaintenance" } or { CurrentState: "Restored" },
            TimeSpan.FromSeconds(120), "vCenter starting");
        Assert.Equal(("PoweringOn", "VCenterStart"), (at.CurrentState, at.Phase));
        await Kill9Async(evaluator);
        await Kill9Async(actuator);
        await StartProcessesAsync(world, ready);
        var restored = await world.WaitForStateAsync("Restored", TimeSpan.FromSeconds(240));

        var history = await world.HistoryAsync(restored.RunId!.Value);
        var done = Assert.Single(history, h => h.Step == "restore");
        Assert.True(done.Outcome == "Completed", done.Detail + "\n" + string.Join("\n", history));
        Assert.Contains(history, h => h.Step == "vsan-cluster-power-on" && h.Outcome == "Done");
        var after = await world.StateAsync();
        Assert.All(after.Hosts, h => Assert.Equal(("poweredOn", false), (h.PowerState, h.InMaintenance)));
        Assert.Equal(clusterBefore, after.Clusters!.Single(c => c.Name == PowerWorld.Cluster));
        Assert.Equal(down.RunId, restored.RunId);
    }

    /// <summary>
    /// The default path: vSAN's power-off is held by pe-vcsim after vCenter's VM went off and before the hosts go into
    /// maintenance mode and off (vCenter is gone); the actuator, or the evaluator, is killed there and restarted. The restarted
    /// actuator's redelivered command (or the evaluator's repeated ask, joined by the live actuator) follows vSAN's workflow
    /// through the hosts' own APIs: the step ends Done, no per-host fallback, vSAN asked once; then the power-on restores all.
    /// </summary>
    [Theory]
    [InlineData("actuator")]
    [InlineData("evaluator")]
    public async Task Kill_9_inside_vsans_power_off_after_vcenters_vm_went_off_the_workflow_is_followed_and_the_cycle_completes(string killed)
    {
        var ready = TimeSpan.FromSeconds(90);
        var world = await StartVsanKillWorldAsync("00:03:00", "00:02:30");
        await using var _ = world;
        var clusterBefore = (await world.StateAsync()).Clusters!.Single(c => c.Name == PowerWorld.Cluster);
        var (evaluator, actuator) = await StartProcessesAsync(world, ready);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        async Task HoldAsync(string before)
        {
            using var response = await http.PostAsJsonAsync(new Uri(world.Vcsim.ControlUrl!, $"/clusters/{PowerWorld.Cluster}/vsan-power-hold"), new { before });
            response.EnsureSuccessStatusCode();
        }

        await HoldAsync("hostsInMM");
        await world.RaiseAlarmAsync();
        await PowerWorld.Eventually(async () => await world.StateAsync() is var st && !st.VcenterReachable
                                                && st.Journal.Any(e => e.Kind == "vsanPower" && e.Event == "held" && e.To == "hostsInMM"),
            TimeSpan.FromSeconds(180), "vSAN's power-off held after vCenter's VM went off");
        var held = await world.StateAsync();
        Assert.Equal("poweredOff", held.Vms.Single(v => v.Name == "vcsa").PowerState);
        Assert.All(held.Hosts, h => Assert.Equal(("poweredOn", false), (h.PowerState, h.InMaintenance)));
        var run = (await world.WaitForAsync(r => r.RunId is not null, TimeSpan.FromSeconds(30), "the run")).RunId!.Value;
        var mark = held.Journal.Max(e => e.Seq);
        if (killed == "actuator")
        {
            await Kill9Async(actuator);
            var restarted = world.StartActuatorProcess();
            world.Own(restarted);
            await restarted.WaitUntilReadyAsync(ready);
            // Released once the restarted actuator asked every host's own API (its new sessions log in): it looked while the
            // workflow was still held, with vCenter's VM off and every host on.
            await PowerWorld.Eventually(async () => (await world.StateAsync()).Journal
                    .Where(e => e.Seq > mark && e.Kind == "esxi" && e.Event == "login" && e.To == "accepted").Select(e => e.Name).Distinct().Count() == held.Hosts.Count,
                TimeSpan.FromSeconds(120), "the restarted actuator asking the hosts");
        }
        else
        {
            await Kill9Async(evaluator);
            var restarted = world.StartEvaluatorProcess();
            world.Own(restarted);
            await restarted.WaitUntilReadyAsync(ready);
            await PowerWorld.Eventually(async () => (await world.HistoryAsync(run)).Any(h => h.Step == "resume" && h.Outcome == "Resumed"),
                TimeSpan.FromSeconds(120), "the restarted evaluator asking again");
        }
        await HoldAsync("");
        var down = await world.WaitForStateAsync("ShutDown", TimeSpan.FromSeconds(240));

        var state = await world.StateAsync();
        Assert.All(state.Hosts, h => Assert.Equal("poweredOff", h.PowerState));
        var history = await world.HistoryAsync(down.RunId!.Value);
        var all = string.Join("\n", history);
        var power = Assert.Single(history, h => h.Step == "vsan-cluster-power-off" && h.Outcome is "Done" or "Failed" or "Late");
        Assert.True(power.Outcome == "Done", all);
        if (killed == "actuator")
            Assert.Contains("followed after a restart", power.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(history, h => h.Outcome == "FallBack");
        Assert.DoesNotContain(history, h => h.Step is "host-maintenance" or "esxi-host-shutdown" && h.Outcome is not ("Skipped" or "Deferred"));
        Assert.Equal(held.Hosts.Select(h => h.Name).Order(), history.Where(h => h.Step == "host-shutdown" && h.Outcome == "VsanPowerOff").Select(h => h.Target).Order());
        Assert.Single(state.Journal, e => e.Kind == "vsanPower" && e.Event == "requested" && e.To == "clusterPoweredOff");

        await world.BmcsFollowHostsOffAsync();
        await world.ClearAlarmAsync();
        var restored = await world.WaitForStateAsync("Restored", TimeSpan.FromSeconds(240));
        history = await world.HistoryAsync(restored.RunId!.Value);
        var done = Assert.Single(history, h => h.Step == "restore");
        Assert.True(done.Outcome == "Completed", done.Detail + "\n" + string.Join("\n", history));
        Assert.Contains(history, h => h.Step == "vsan-cluster-power-on" && h.Outcome == "Done");
        var after = await world.StateAsync();
        Assert.All(after.Hosts, h => Assert.Equal(("poweredOn", false), (h.PowerState, h.InMaintenance)));
        Assert.Equal(clusterBefore, after.Clusters!.Single(c => c.Name == PowerWorld.Cluster));
        Assert.Equal(down.RunId, restored.RunId);
    }

    [Fact]
    public async Task Kill_9_of_the_evaluator_and_the_actuator_while_vcenter_is_down_the_cycle_still_completes_and_the_settings_are_restored()
    {
        var ready = TimeSpan.FromSeconds(90);
        var world = await StartKillWorldAsync(world =>
        {
            // Pinned to the per-host path: its window "vCenter's VM off, its host not yet" is a phase of the run (VCenterHostShutdown)
            // held at the host's ESXi API; on vSAN's path that window lies inside vSAN's workflow: Kill_9_inside_vsans_power_off_….
            world.Power["Clusters:0:UseVsanClusterPowerApi"] = "never";
            world.Power["Clusters:0:EsxiHostShutdownDeadline"] = "00:02:00";
        });
        await using var _ = world;
        var clusterBefore = (await world.StateAsync()).Clusters!.Single(c => c.Name == PowerWorld.Cluster);
        Task<(PowerEvents.Testing.ServiceProcess Evaluator, PowerEvents.Testing.ServiceProcess Actuator)> StartServicesAsync() => StartProcessesAsync(world, ready);

        var (evaluator, actuator) = await StartServicesAsync();
        // vCenter's host answers its maintenance and shutdown calls only when released: the run is held, deterministically,
        // between vCenter's VM's shutdown and its host's (the step took < 100 ms, so a poll could miss it: failed in CI).
        using var http = new HttpClient();
        async Task HoldAsync(bool hold)
        {
            using var response = await http.PostAsJsonAsync(new Uri(world.Vcsim.ControlUrl!, $"/hosts/{VCenterHostOf(await world.StateAsync())}/esxi-hold"), new { hold });
            response.EnsureSuccessStatusCode();
        }
        await HoldAsync(true);
        await world.RaiseAlarmAsync();
        // Between vCenter's VM's shutdown and its host's: vCenter is down.
        var at = await world.WaitForAsync(r => r is { CurrentState: "ShuttingDown", Phase: "VCenterHostShutdown" } or { CurrentState: "ShutDown" }, TimeSpan.FromSeconds(180), "vCenter's host being finished");
        Assert.Equal(("ShuttingDown", "VCenterHostShutdown"), (at.CurrentState, at.Phase));
        Assert.Equal("poweredOff", (await world.StateAsync()).Vms.Single(v => v.Name == "vcsa").PowerState);
        await Kill9Async(evaluator);
        await Kill9Async(actuator);
        await HoldAsync(false);
        (evaluator, actuator) = await StartServicesAsync();
        var down = await world.WaitForStateAsync("ShutDown", TimeSpan.FromSeconds(180));
        Assert.All((await world.StateAsync()).Hosts, h => Assert.Equal("poweredOff", h.PowerState));

        await world.BmcsFollowHostsOffAsync();
        await world.ClearAlarmAsync();
        // During vCenter's boot.
        at = await world.WaitForAsync(r => r is { CurrentState: "PoweringOn", Phase: "VCenterStart" or "HostReconnect" } or { CurrentState: "Restored" }, TimeSpan.FromSeconds(120), "vCenter starting");
        Assert.Equal(("PoweringOn", "VCenterStart"), (at.CurrentState, at.Phase));
        await Kill9Async(evaluator);
        await Kill9Async(actuator);
        await StartServicesAsync();
        var restored = await world.WaitForStateAsync("Restored", TimeSpan.FromSeconds(240));

        var history = await world.HistoryAsync(restored.RunId!.Value);
        var done = Assert.Single(history, h => h.Step == "restore");
        Assert.True(done.Outcome == "Completed", done.Detail);
        var after = await world.StateAsync();
        Assert.All(after.Hosts, h => Assert.Equal(("poweredOn", false), (h.PowerState, h.InMaintenance)));
        Assert.Equal(clusterBefore, after.Clusters!.Single(c => c.Name == PowerWorld.Cluster));
        Assert.Equal(down.RunId, restored.RunId);
    }

    [Fact]
    public async Task A_vsan_resync_still_running_is_waited_for_then_reported_and_the_hosts_still_go_off()
    {
        await using var world = await StartAsync();
        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) })
        using (var response = await http.PostAsJsonAsync(new Uri(world.Vcsim.ControlUrl!, $"/clusters/{PowerWorld.Cluster}/vsan-resync"),
                   new { bytesToSync = 5_000_000_000L, objects = 12, etaSeconds = 600 }))
            response.EnsureSuccessStatusCode();

        await world.RaiseAlarmAsync();
        var down = await world.WaitForStateAsync("ShutDown", TimeSpan.FromSeconds(180));

        var history = await world.HistoryAsync(down.RunId!.Value);
        var resync = Assert.Single(history, h => h.Step == "vsan-resync" && h.Outcome == "StillResyncing");
        Assert.Contains("12 object(s)", resync.Detail, StringComparison.Ordinal);
        var requested = history.ToList().FindIndex(h => h.Step == "vsan-resync" && h.Outcome == "Requested");
        var firstMaintenance = history.ToList().FindIndex(h => h.Step == "host-maintenance" && h.Outcome == "Requested");
        Assert.True(requested < history.ToList().IndexOf(resync) && history.ToList().IndexOf(resync) < firstMaintenance, "maintenance only after the resync check ended");
        var completed = Assert.Single(history, h => h.Step == "run");
        Assert.Equal("CompletedWithFailures", completed.Outcome);
        Assert.Contains("vsan-resync cluster1: vSAN still resyncing", completed.Detail, StringComparison.Ordinal);
        // The default path (vSAN's API) is refused while objects resync; the per-host steps follow.
        Assert.Contains(history, h => h.Step == "vsan-cluster-power-off" && h.Outcome == "Failed" && h.Detail.Contains("resyncing", StringComparison.Ordinal));
        Assert.Contains(history, h => h.Step == "vsan-cluster-power-off" && h.Outcome == "FallBack");
        Assert.All((await world.StateAsync()).Hosts, h => Assert.Equal("poweredOff", h.PowerState));
    }
}
