using System.Net.Http.Json;
using MassTransit;
using PowerEvents.Contracts;
using PowerEvents.Hosting;
using PowerEvents.Testing;
using PowerEvents.VCenterActuator.Consumers;
using PowerEvents.VCenterActuator.Vim;
using Xunit;

namespace PowerEvents.VCenterActuator.Tests;

/// <summary>
/// The cluster steps against pe-vcsim's typical small cluster (3 hosts, vSAN, vCLS, HA, DRS fully automated, vCenter's VM
/// <c>vcsa</c> on esx-02, a DNS VM on esx-01) with each host's own API: one fresh simulator per test.
/// </summary>
public sealed class ClusterStepTests : IAsyncLifetime
{
    const string Cluster = "cluster1";
    const string VCenterHost = "esx-02.pe.test";
    const string EsxiUser = "root";
    const string EsxiPassword = "esxpass";
    static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    VcsimProcess _vcsim = null!;
    VimConnection _connection = null!;
    VCenterClient _client = null!;
    VCenterOptions _options = null!;
    ClusterState _state = null!;

    public async Task InitializeAsync()
    {
        _vcsim = await VcsimProcess.StartAsync(["-topology", "typical-small", "-esxi-base-port", "-1", "-control", "127.0.0.1:0",
            "-vcls-restart-delay", "200ms", "-vcls-retreat-delay", "500ms", "-vcenter-boot-delay", "1s"]);
        _state = await ReadStateAsync();
        _options = Vcenter.Options(_vcsim, o =>
        {
            o.VclsRetreatTimeout = TimeSpan.FromSeconds(20);
            o.VCenterStartPollInterval = TimeSpan.FromMilliseconds(200);
            o.VCenterStartTimeout = TimeSpan.FromSeconds(30);
            o.VsanResyncPollInterval = TimeSpan.FromMilliseconds(100);
            o.GuestShutdownTimeout = TimeSpan.FromSeconds(20);
            foreach (var host in _state.Hosts)
                o.Hosts[host.Name] = new EsxiHostOptions { Url = new Uri(host.EsxiUrl!), Username = EsxiUser, Password = EsxiPassword, CertificateFingerprint = _vcsim.Fingerprint };
        });
        _connection = Vcenter.Connection(_options);
        _client = Vcenter.Client(_connection, _options);
    }

    public async Task DisposeAsync()
    {
        await _connection.DisposeAsync();
        await _vcsim.DisposeAsync();
    }

    VCenterSteps Steps() => Vcenter.Steps(_client, _options);

    async Task<ClusterState> ReadStateAsync() =>
        await Http.GetFromJsonAsync<ClusterState>(new Uri(_vcsim.ControlUrl!, "/state")) ?? throw new InvalidOperationException("empty /state");

    async Task PostAsync(string path, object? body = null)
    {
        using var response = await Http.PostAsJsonAsync(new Uri(_vcsim.ControlUrl!, path), body ?? new { });
        response.EnsureSuccessStatusCode();
    }

    ClusterEntry ClusterOf(ClusterState state) => state.Clusters.Single(c => c.Name == Cluster);

    [Fact]
    public async Task The_inventory_names_vcenter_and_its_host_the_vcls_vms_and_the_cluster_settings_a_run_will_change()
    {
        var captured = (await Steps().CaptureInventoryAsync(new ClusterInventoryRequested(Guid.NewGuid(), Cluster), CancellationToken.None)).Captured!;

        Assert.Equal(("vcsa", VCenterHost), (captured.VCenterVm, captured.VCenterHost));
        var vcls = captured.Vms.Where(v => v.IsVcls).Select(v => v.Name).Order().ToList();
        Assert.Equal(_state.Vms.Where(v => v.Vcls).Select(v => v.Name).Order().ToList(), vcls);
        Assert.Equal(3, vcls.Count);
        Assert.All(vcls, name => Assert.StartsWith("vCLS-", name, StringComparison.Ordinal));
        Assert.DoesNotContain(captured.Vms, v => v.IsVcls && v.IsVCenter);
        Assert.All(captured.Hosts, h => Assert.Equal("lockdownDisabled", h.LockdownMode));
        var settings = captured.Settings!;
        Assert.Equal(ClusterOf(_state).Moref, settings.ClusterId);
        Assert.Equal(new ClusterHaDrsSettings(true, true, true, "fullyAutomated"), settings.HaDrs);
        Assert.True(settings.VsanEnabled);
        Assert.True(settings.HasVcls);
        Assert.Null(settings.VclsEnabledSetting);
        // about.apiVersion, which the saga's default (auto) reads to choose vSAN's cluster power API (7.0.3+).
        Assert.Equal("7.0.3.0", settings.VCenterApiVersion);
    }

    [Fact]
    public async Task Vcls_retreat_mode_removes_the_vcls_vms_records_the_absent_setting_and_the_restore_puts_vcls_back()
    {
        var steps = Steps();
        var run = Guid.NewGuid();

        var retreat = await steps.EnterVclsRetreatAsync(new VclsRetreatRequested(run, Cluster), CancellationToken.None);

        Assert.Equal((StepOutcome.Done, null, null), (retreat.Outcome, retreat.PreviousValue, retreat.Fault));
        var state = await ReadStateAsync();
        Assert.False(ClusterOf(state).VclsEnabled);
        Assert.DoesNotContain(state.Vms, v => v.Vcls && v.PowerState == "poweredOn");
        var again = await Steps().EnterVclsRetreatAsync(new VclsRetreatRequested(Guid.NewGuid(), Cluster), CancellationToken.None);
        Assert.Equal((StepOutcome.AlreadyInState, "false"), (again.Outcome, again.PreviousValue));

        var restore = await steps.RestoreVclsAsync(new VclsRestoreRequested(run, Cluster, retreat.PreviousValue), CancellationToken.None);

        Assert.Equal((StepOutcome.Done, "true", "false"), (restore.Outcome, restore.Value, restore.ReplacedValue));
        Assert.True(ClusterOf(await ReadStateAsync()).VclsEnabled);
        await Vcenter.Eventually(async () => (await ReadStateAsync()).Vms.Count(v => v.Vcls && v.PowerState == "poweredOn") == 3,
            TimeSpan.FromSeconds(20), "vCenter's agent deploys the vCLS VMs again");
        var twice = await Steps().RestoreVclsAsync(new VclsRestoreRequested(Guid.NewGuid(), Cluster, "true"), CancellationToken.None);
        Assert.Equal(StepOutcome.AlreadyInState, twice.Outcome);
    }

    [Fact]
    public async Task Ha_goes_off_and_drs_to_manual_and_both_come_back_from_the_recorded_values()
    {
        var disabled = await Steps().DisableHaDrsAsync(new ClusterHaDrsDisableRequested(Guid.NewGuid(), Cluster), CancellationToken.None);

        Assert.Equal((StepOutcome.Done, new ClusterHaDrsSettings(true, true, true, "fullyAutomated")), (disabled.Outcome, disabled.Previous));
        var cluster = ClusterOf(await ReadStateAsync());
        Assert.Equal((false, true, "manual"), (cluster.HaEnabled, cluster.DrsEnabled, cluster.DrsBehavior));
        var again = await Steps().DisableHaDrsAsync(new ClusterHaDrsDisableRequested(Guid.NewGuid(), Cluster), CancellationToken.None);
        Assert.Equal(StepOutcome.AlreadyInState, again.Outcome);

        // A fresh actuator (as after a crash): the values travel in the command.
        var restored = await Steps().RestoreHaDrsAsync(new ClusterHaDrsRestoreRequested(Guid.NewGuid(), Cluster, disabled.Previous!), CancellationToken.None);

        Assert.Equal(StepOutcome.Done, restored.Outcome);
        Assert.Equal(new ClusterHaDrsSettings(false, true, true, "manual"), restored.Replaced);
        cluster = ClusterOf(await ReadStateAsync());
        Assert.Equal((true, true, true, "fullyAutomated"), (cluster.HaEnabled, cluster.AdmissionControl, cluster.DrsEnabled, cluster.DrsBehavior));
        var reconfigures = (await ReadStateAsync()).Journal.Count(e => e.Kind == "cluster" && e.Cause == "reconfigure");
        Assert.Equal(StepOutcome.AlreadyInState,
            (await Steps().RestoreHaDrsAsync(new ClusterHaDrsRestoreRequested(Guid.NewGuid(), Cluster, disabled.Previous!), CancellationToken.None)).Outcome);
        Assert.Equal(reconfigures, (await ReadStateAsync()).Journal.Count(e => e.Kind == "cluster" && e.Cause == "reconfigure"));
    }

    [Fact]
    public async Task On_vsan_the_last_hosts_enter_maintenance_with_noAction_and_evacuateAllData_is_refused()
    {
        var steps = Steps();
        var run = Guid.NewGuid();
        await steps.EnterVclsRetreatAsync(new VclsRetreatRequested(run, Cluster), CancellationToken.None);
        await steps.DisableHaDrsAsync(new ClusterHaDrsDisableRequested(run, Cluster), CancellationToken.None);
        var inventory = await _client.GetClusterInventoryAsync(Cluster, CancellationToken.None);
        foreach (var vm in inventory.Vms.Where(v => v.PowerState == VimStates.PoweredOn && !v.IsVCenter && !v.IsVcls && v.Host != VCenterHost))
            await _client.PowerOffVmAsync(vm.Id, TimeSpan.FromSeconds(10), CancellationToken.None);

        var refused = await steps.EnterMaintenanceAsync(new HostMaintenanceRequested(run, Cluster, "esx-01.pe.test", "evacuateAllData"), CancellationToken.None);
        Assert.Equal((StepOutcome.Failed, "InvalidArgument"), (refused.Outcome, refused.Fault?.Name));

        foreach (var host in (string[])["esx-01.pe.test", "esx-03.pe.test"])
        {
            var entered = await steps.EnterMaintenanceAsync(new HostMaintenanceRequested(run, Cluster, host), CancellationToken.None);
            Assert.Equal((StepOutcome.Done, null), (entered.Outcome, entered.Fault));
        }
        var journal = (await ReadStateAsync()).Journal;
        Assert.Equal(2, journal.Count(e => e.Event == "maintenance" && e.To == "entered"));
        // pe-vcsim records the vSAN mode on the "entering" entry; the default (ensureObjectAccessibility) fails on the last hosts.
        Assert.Equal(["vsan:noAction", "vsan:noAction"], journal.Where(e => e.Event == "maintenance" && e.To == "entering").Select(e => e.Cause));
    }

    [Fact]
    public async Task Vsans_cluster_power_off_is_refused_while_user_vms_run_then_takes_vcenter_and_every_host_down_and_the_hosts_are_confirmed_off()
    {
        var steps = Steps();
        _options.PollInterval = TimeSpan.FromMilliseconds(200);
        var refused = await steps.PowerVsanClusterAsync(new VsanClusterPowerRequested(Guid.NewGuid(), Cluster, "clusterPoweredOff", "test"), CancellationToken.None);
        Assert.Equal((StepOutcome.Failed, false, "VsanFault"), (refused.Outcome, refused.Started, refused.Fault?.Name));
        Assert.Contains("powered-on user VMs", refused.Fault!.Message, StringComparison.Ordinal);
        Assert.All((await ReadStateAsync()).Hosts, h => Assert.Equal("poweredOn", h.PowerState));

        var inventory = await _client.GetClusterInventoryAsync(Cluster, CancellationToken.None);
        foreach (var vm in inventory.Vms.Where(v => v.PowerState == VimStates.PoweredOn && !v.IsVCenter && !v.IsVcls))
            await _client.PowerOffVmAsync(vm.Id, TimeSpan.FromSeconds(10), CancellationToken.None);
        var done = await steps.PowerVsanClusterAsync(new VsanClusterPowerRequested(Guid.NewGuid(), Cluster, "clusterPoweredOff", "test"), CancellationToken.None);

        Assert.True(done.Outcome == StepOutcome.Done, done.Fault?.Message);
        Assert.True(done.Started);
        Assert.Equal(_state.Hosts.Select(h => h.Name).Order(), done.HostsOff.Order());
        Assert.Empty(done.HostsUnconfirmed);
        var after = await ReadStateAsync();
        Assert.All(after.Hosts, h => Assert.Equal("poweredOff", h.PowerState));
        Assert.Equal("poweredOff", after.Vms.Single(v => v.Name == "vcsa").PowerState);
        Assert.Equal(["haDisabled", "supportedVMsPoweredOff", "hostsInfraVMsPoweredoff", "vcVMPoweredOff", "vsanMemberShipUpdateDisabled", "vsanDOMPauseAllCCPsSet",
            "hostsInMM", "hostsPoweredOff"], after.Journal.Where(e => e.Kind == "vsanPower" && e.Event == "step").Select(e => e.To).Take(8));
    }

    /// <summary>Every user VM off (vSAN refuses otherwise), and vSAN's power-off workflow held before <paramref name="step"/>.</summary>
    async Task ReadyForVsanPowerOffHeldBeforeAsync(string step)
    {
        _options.PollInterval = TimeSpan.FromMilliseconds(200);
        var inventory = await _client.GetClusterInventoryAsync(Cluster, CancellationToken.None);
        foreach (var vm in inventory.Vms.Where(v => v.PowerState == VimStates.PoweredOn && !v.IsVCenter && !v.IsVcls))
            await _client.PowerOffVmAsync(vm.Id, TimeSpan.FromSeconds(10), CancellationToken.None);
        await PostAsync($"/clusters/{Cluster}/vsan-power-hold", new { before = step });
    }

    [Fact]
    public async Task A_vsan_power_off_asked_again_after_a_restart_while_vcenter_is_gone_follows_vsans_workflow_through_the_hosts_own_apis()
    {
        // vSAN's workflow waits after vCenter's VM went off, before the hosts go into maintenance mode and off.
        await ReadyForVsanPowerOffHeldBeforeAsync("hostsInMM");
        var run = Guid.NewGuid();
        var hosts = _state.Hosts.Select(h => h.Name).ToList();
        var command = new VsanClusterPowerRequested(run, Cluster, "clusterPoweredOff", "test", hosts, "vcsa", VCenterHost);
        var first = Steps().PowerVsanClusterAsync(command, CancellationToken.None);
        await Vcenter.Eventually(async () => (await ReadStateAsync()) is var st && !st.VcenterReachable
                                             && st.Journal.Any(e => e.Kind == "vsanPower" && e.Event == "held" && e.To == "hostsInMM"),
            TimeSpan.FromSeconds(60), "vSAN's workflow held after vCenter's VM went off");

        // The actuator restarted: no memory of the first request, a new session to a vCenter that is gone.
        await using var connection = Vcenter.Connection(_options);
        var restarted = Vcenter.Steps(Vcenter.Client(connection, _options), _options);
        // Without vCenter's VM named nothing shows the workflow (hosts on, none in maintenance mode): refused at once, as before.
        var blind = await restarted.PowerVsanClusterAsync(command with { RunId = Guid.NewGuid(), VCenterVm = null, VCenterHost = null }, CancellationToken.None);
        Assert.Equal((StepOutcome.Failed, false), (blind.Outcome, blind.Started));
        // Another restart (new ESXi sessions, so its logins show in the journal): the hold is released once it logged in to
        // every host, i.e. after it looked at vCenter's VM (first) and at each host, all still on.
        var mark = (await ReadStateAsync()).Journal.Max(e => e.Seq);
        await using var connection2 = Vcenter.Connection(_options);
        var repeat = Vcenter.Steps(Vcenter.Client(connection2, _options), _options).PowerVsanClusterAsync(command, CancellationToken.None);
        await Vcenter.Eventually(async () => (await ReadStateAsync()).Journal.Where(e => e.Seq > mark && e.Kind == "esxi" && e.Event == "login" && e.To == "accepted")
            .Select(e => e.Name).Distinct().Count() == hosts.Count, TimeSpan.FromSeconds(60), "the repeated request asked every host's own API");
        await PostAsync($"/clusters/{Cluster}/vsan-power-hold", new { before = "" });
        var followed = await repeat.WaitAsync(TimeSpan.FromSeconds(90));

        Assert.True(followed.Outcome == StepOutcome.Done, followed.Fault?.Message);
        Assert.True(followed.Started);
        Assert.Contains("followed after a restart", followed.Detail, StringComparison.Ordinal);
        Assert.True(followed.Detail!.Contains("vCenter's VM vcsa off", StringComparison.Ordinal), followed.Detail);
        Assert.Equal(hosts.Order(), followed.HostsOff.Order());
        Assert.Equal(StepOutcome.Done, (await first.WaitAsync(TimeSpan.FromSeconds(90))).Outcome);
        var after = await ReadStateAsync();
        Assert.All(after.Hosts, h => Assert.Equal("poweredOff", h.PowerState));
        Assert.Single(after.Journal, e => e.Kind == "vsanPower" && e.Event == "requested");
    }

    [Fact]
    public async Task A_vsan_power_off_asked_again_after_a_restart_while_vcenter_still_answers_follows_the_running_task_instead_of_asking_vsan_twice()
    {
        // Held before vCenter's VM goes off: vCenter answers and the task runs.
        await ReadyForVsanPowerOffHeldBeforeAsync("vcVMPoweredOff");
        var hosts = _state.Hosts.Select(h => h.Name).ToList();
        var command = new VsanClusterPowerRequested(Guid.NewGuid(), Cluster, "clusterPoweredOff", "test", hosts, "vcsa", VCenterHost);
        var first = Steps().PowerVsanClusterAsync(command, CancellationToken.None);
        await Vcenter.Eventually(async () => (await ReadStateAsync()).Journal.Any(e => e.Kind == "vsanPower" && e.Event == "held" && e.To == "vcVMPoweredOff"),
            TimeSpan.FromSeconds(60), "vSAN's workflow held before vCenter's VM goes off");

        await using var connection = Vcenter.Connection(_options);
        var client = Vcenter.Client(connection, _options);
        var repeat = Vcenter.Steps(client, _options).PowerVsanClusterAsync(command, CancellationToken.None);
        // Asking vSAN again would fail at once ("already in progress"); the repeat follows the running task instead. Released once
        // the repeat waits on the task (its update stream watches it) or has ended.
        await Vcenter.Eventually(() => Task.FromResult(repeat.IsCompleted || client.Watcher.Count > 0), TimeSpan.FromSeconds(60), "the repeat under way");
        await PostAsync($"/clusters/{Cluster}/vsan-power-hold", new { before = "" });
        var followed = await repeat.WaitAsync(TimeSpan.FromSeconds(90));

        Assert.True(followed.Outcome == StepOutcome.Done, followed.Fault?.Message);
        Assert.StartsWith("followed after a restart: vSAN's workflow was running", followed.Detail, StringComparison.Ordinal);
        Assert.Equal(hosts.Order(), followed.HostsOff.Order());
        Assert.Equal(StepOutcome.Done, (await first.WaitAsync(TimeSpan.FromSeconds(90))).Outcome);
        Assert.Single((await ReadStateAsync()).Journal, e => e.Kind == "vsanPower" && e.Event == "requested");
    }

    [Fact]
    public async Task After_vcenter_was_down_long_enough_for_a_long_back_off_a_step_waiting_on_the_update_stream_sees_its_change_within_seconds()
    {
        // A back-off that grows to 16 s and more while vCenter is down (the default grows to 30 s).
        _options.Retry = new VCenterRetryOptions { MaxAttempts = 2, BaseDelay = TimeSpan.FromMilliseconds(100), MaxDelay = TimeSpan.FromSeconds(30) };
        await using var connection = Vcenter.Connection(_options);
        var client = Vcenter.Client(connection, _options);
        var inventory = await client.GetClusterInventoryAsync(Cluster, CancellationToken.None);
        var host = inventory.Hosts.Single(h => h.Name == "esx-03.pe.test");
        Assert.True((await client.WaitForHostAsync(host.Id, h => h.ConnectionState == VimStates.Connected, TimeSpan.FromSeconds(30), CancellationToken.None)).Met);
        var vcsa = inventory.Vms.Single(v => v.IsVCenter);
        try
        {
            await client.PowerOffVmAsync(vcsa.Id, TimeSpan.FromSeconds(10), CancellationToken.None);
        }
        catch (VCenterException)
        {
            // vCenter's API goes down with its VM: the answer may be lost.
        }
        await Vcenter.Eventually(async () => !(await ReadStateAsync()).VcenterReachable, TimeSpan.FromSeconds(20), "vCenter's VM off");
        // 100 ms << 8: the stream's next try would be 12.8 s away (then 25.6 s).
        await Vcenter.Eventually(() => Task.FromResult(client.Watcher.Failures >= 8), TimeSpan.FromSeconds(120), "the update stream failing while vCenter is down");
        await PostAsync("/vms/vcsa/power-on");
        await Vcenter.Eventually(async () => (await ReadStateAsync()).VcenterReachable, TimeSpan.FromSeconds(60), "vCenter answering again");

        // The step's object is in the stream's view and read (connected) before the change, which only the stream can bring.
        using var lease = client.Watch("HostSystem", host.Id);
        Assert.True((await client.WaitForHostAsync(host.Id, h => h.ConnectionState == VimStates.Connected, TimeSpan.FromSeconds(60), CancellationToken.None)).Met);
        var waiting = client.WaitForHostAsync(host.Id, h => h.ConnectionState != VimStates.Connected, TimeSpan.FromSeconds(120), CancellationToken.None);
        await PostAsync($"/hosts/{host.Name}/power-off");
        var changed = DateTime.UtcNow;
        var (met, _) = await waiting;
        var lag = DateTime.UtcNow - changed;

        Assert.True(met);
        Assert.True(lag < TimeSpan.FromSeconds(8), $"the step saw the host go down {lag} after it did (the stream sat in its back-off)");
    }

    [Fact]
    public async Task The_resync_check_waits_for_a_running_resync_and_reports_one_that_outlasts_its_deadline()
    {
        var steps = Steps();
        Assert.Equal(VsanResyncOutcome.Idle, (await steps.CheckVsanResyncAsync(new VsanResyncCheckRequested(Guid.NewGuid(), Cluster), CancellationToken.None)).Outcome);

        await PostAsync($"/clusters/{Cluster}/vsan-resync", new { bytesToSync = 4096, objects = 2, etaSeconds = 60 });
        var late = await steps.CheckVsanResyncAsync(new VsanResyncCheckRequested(Guid.NewGuid(), Cluster, TimeSpan.FromMilliseconds(500)), CancellationToken.None);
        Assert.Equal((VsanResyncOutcome.StillResyncing, 2L, 4096L, 60L, "Timeout"), (late.Outcome, late.ObjectsToSync, late.BytesToSync, late.EtaSeconds, late.Fault?.Name));

        var queries = _connection.Calls("QuerySyncingVsanObjectsSummary");
        var waiting = steps.CheckVsanResyncAsync(new VsanResyncCheckRequested(Guid.NewGuid(), Cluster, TimeSpan.FromSeconds(60)), CancellationToken.None);
        // The check is under way and has seen the resync: its second query went out, so the first was answered.
        await Vcenter.Eventually(() => Task.FromResult(_connection.Calls("QuerySyncingVsanObjectsSummary") >= queries + 2), TimeSpan.FromSeconds(30), "the check polling");
        Assert.False(waiting.IsCompleted);
        await PostAsync($"/clusters/{Cluster}/vsan-resync", new { bytesToSync = 0, objects = 0, etaSeconds = 0 });
        var finished = await waiting;
        Assert.Equal((VsanResyncOutcome.Finished, 0L, null), (finished.Outcome, finished.ObjectsToSync, finished.Fault));
    }

    [Fact]
    public async Task The_login_check_tells_accepted_wrong_password_lockdown_and_missing_credentials_apart_without_the_secret()
    {
        Assert.Equal(EsxiLoginOutcome.Accepted, (await Steps().CheckEsxiLoginAsync(new(Guid.Empty, Cluster, VCenterHost), CancellationToken.None)).Outcome);

        const string wrong = "not-the-password-42";
        _options.Hosts["esx-03.pe.test"].Password = wrong;
        var refused = await Steps().CheckEsxiLoginAsync(new(Guid.Empty, Cluster, "esx-03.pe.test"), CancellationToken.None);
        Assert.Equal((EsxiLoginOutcome.Refused, "InvalidLogin"), (refused.Outcome, refused.Fault?.Name));
        Assert.Contains("esx-03.pe.test", refused.Fault!.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, refused.Fault.Message, StringComparison.Ordinal);

        await PostAsync("/hosts/esx-01.pe.test/lockdown", new { mode = "lockdownNormal" });
        var locked = await Steps().CheckEsxiLoginAsync(new(Guid.Empty, Cluster, "esx-01.pe.test"), CancellationToken.None);
        Assert.Equal((EsxiLoginOutcome.LockdownMode, "LockdownMode"), (locked.Outcome, locked.Fault?.Name));
        Assert.Contains("esx-01.pe.test", locked.Fault!.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(EsxiPassword, locked.Fault.Message, StringComparison.Ordinal);

        _options.Hosts.Remove("esx-03.pe.test");
        var missing = await Steps().CheckEsxiLoginAsync(new(Guid.Empty, Cluster, "esx-03.pe.test"), CancellationToken.None);
        Assert.Equal(EsxiLoginOutcome.NoCredentials, missing.Outcome);
        Assert.Contains("esx-03.pe.test", missing.Fault!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Vcenters_host_is_finished_through_its_own_api_and_on_power_on_vcenter_is_started_through_it_and_waited_for()
    {
        var steps = Steps();
        var run = Guid.NewGuid();
        var inventory = await _client.GetClusterInventoryAsync(Cluster, CancellationToken.None);
        await steps.EnterVclsRetreatAsync(new VclsRetreatRequested(run, Cluster), CancellationToken.None);
        foreach (var vm in inventory.Vms.Where(v => v.Host == VCenterHost && !v.IsVCenter && !v.IsVcls))
            await steps.ShutDownVmAsync(new VmShutdownRequested(run, Cluster, vm.Id, vm.Name, null), CancellationToken.None);
        var vcsa = inventory.Vms.Single(v => v.IsVCenter);
        // vCenter takes its API down with it: the step may report either.
        await steps.ShutDownVmAsync(new VmShutdownRequested(run, Cluster, vcsa.Id, vcsa.Name, null), CancellationToken.None);
        await Vcenter.Eventually(async () => !(await ReadStateAsync()).VcenterReachable, TimeSpan.FromSeconds(20), "vCenter's VM off");

        var off = await steps.ShutDownEsxiHostAsync(new EsxiHostShutdownRequested(run, Cluster, VCenterHost, Vsan: true), CancellationToken.None);

        Assert.Equal((StepOutcome.Done, false, true, null), (off.Outcome, off.WasInMaintenance, off.EnteredMaintenance, off.Fault));
        var state = await ReadStateAsync();
        Assert.Equal("poweredOff", state.Hosts.Single(h => h.Name == VCenterHost).PowerState);
        Assert.Contains(state.Journal, e => e.Name == VCenterHost && e.Event == "maintenance" && e.To == "entering" && e.Cause == "vsan:noAction");
        Assert.Contains(state.Journal, e => e.Name == VCenterHost && e.Event == "maintenance" && e.To == "entered");
        Assert.Contains(state.Journal, e => e.Kind == "esxi" && e.Event == "login" && e.To == "accepted");

        await PostAsync($"/hosts/{VCenterHost}/power-on");
        var started = await steps.StartVCenterAsync(new VCenterStartRequested(run, Cluster, VCenterHost, vcsa.Name), CancellationToken.None);

        Assert.Equal((StepOutcome.Done, null, VCenterHost), (started.Outcome, started.Fault, started.StartedOn));
        Assert.Equal(3, started.HostsConnected.Count);
        state = await ReadStateAsync();
        Assert.True(state.VcenterReachable);
        Assert.Equal((false, "poweredOn"), (state.Hosts.Single(h => h.Name == VCenterHost).InMaintenance, state.Vms.Single(v => v.Name == "vcsa").PowerState));
        var order = state.Journal.Where(e => e.Name == VCenterHost && e.Event == "maintenance" && e.To == "exited")
            .Concat(state.Journal.Where(e => e.Name == "vcsa" && e.Event == "powerState" && e.To == "poweredOn")).Select(e => e.Seq).ToList();
        Assert.Equal(2, order.Count);
        Assert.True(order[0] < order[1], "out of maintenance mode before vCenter's VM powers on");

        var again = await Steps().StartVCenterAsync(new VCenterStartRequested(Guid.NewGuid(), Cluster, VCenterHost, vcsa.Name), CancellationToken.None);
        Assert.Equal(StepOutcome.AlreadyInState, again.Outcome);
    }

    [Fact]
    public async Task Where_vcenters_vm_moved_since_the_plan_the_start_finds_it_on_another_configured_host()
    {
        var steps = Steps();
        var run = Guid.NewGuid();
        var vcsa = (await _client.GetClusterInventoryAsync(Cluster, CancellationToken.None)).Vms.Single(v => v.IsVCenter);
        await steps.ShutDownVmAsync(new VmShutdownRequested(run, Cluster, vcsa.Id, vcsa.Name, null), CancellationToken.None);
        await Vcenter.Eventually(async () => !(await ReadStateAsync()).VcenterReachable, TimeSpan.FromSeconds(20), "vCenter's VM off");

        var started = await steps.StartVCenterAsync(new VCenterStartRequested(run, Cluster, "esx-01.pe.test", vcsa.Name), CancellationToken.None);

        Assert.Equal((StepOutcome.Done, null, VCenterHost), (started.Outcome, started.Fault, started.StartedOn));
        Assert.True((await ReadStateAsync()).VcenterReachable);
    }

    [Fact]
    public async Task A_refused_login_to_vcenters_host_fails_the_host_step_naming_the_host()
    {
        _options.Hosts[VCenterHost].Password = "wrong-password-7";

        var off = await Steps().ShutDownEsxiHostAsync(new EsxiHostShutdownRequested(Guid.NewGuid(), Cluster, VCenterHost, Vsan: true), CancellationToken.None);

        Assert.Equal((StepOutcome.Failed, "InvalidLogin"), (off.Outcome, off.Fault?.Name));
        Assert.Contains(VCenterHost, off.Fault!.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-password-7", off.Fault.Message, StringComparison.Ordinal);
        Assert.Equal("poweredOn", (await ReadStateAsync()).Hosts.Single(h => h.Name == VCenterHost).PowerState);
    }

    [Fact]
    public async Task Without_force_the_host_is_not_shut_down_while_a_vm_still_runs_on_it_and_the_vm_is_named()
    {
        _options.GuestShutdownTimeout = TimeSpan.FromMilliseconds(500);

        var off = await Steps().ShutDownEsxiHostAsync(new EsxiHostShutdownRequested(Guid.NewGuid(), Cluster, VCenterHost, Vsan: true, Force: false), CancellationToken.None);

        Assert.Equal((StepOutcome.Failed, VCenterException.InvalidState, false), (off.Outcome, off.Fault?.Name, off.EnteredMaintenance));
        Assert.Contains("vcsa", off.Fault!.Message, StringComparison.Ordinal);
        var state = await ReadStateAsync();
        Assert.Equal(("poweredOn", false), (state.Hosts.Single(h => h.Name == VCenterHost).PowerState, state.Hosts.Single(h => h.Name == VCenterHost).InMaintenance));
        Assert.DoesNotContain(state.Journal, e => e.Name == VCenterHost && e.Event == "shutdownHost");
    }

    [Fact]
    public void Each_new_command_goes_to_the_queue_of_the_consumer_that_carries_it_out()
    {
        var vcenter = new KebabCaseEndpointNameFormatter(CommandRoutes.VCenterActuator, includeNamespace: false);

        Assert.Equal(vcenter.Consumer<VclsRetreatRequestedConsumer>(), CommandRoutes.QueueOf<VclsRetreatRequested>());
        Assert.Equal(vcenter.Consumer<VclsRestoreRequestedConsumer>(), CommandRoutes.QueueOf<VclsRestoreRequested>());
        Assert.Equal(vcenter.Consumer<ClusterHaDrsDisableRequestedConsumer>(), CommandRoutes.QueueOf<ClusterHaDrsDisableRequested>());
        Assert.Equal(vcenter.Consumer<ClusterHaDrsRestoreRequestedConsumer>(), CommandRoutes.QueueOf<ClusterHaDrsRestoreRequested>());
        Assert.Equal(vcenter.Consumer<VsanResyncCheckRequestedConsumer>(), CommandRoutes.QueueOf<VsanResyncCheckRequested>());
        Assert.Equal(vcenter.Consumer<EsxiHostLoginCheckRequestedConsumer>(), CommandRoutes.QueueOf<EsxiHostLoginCheckRequested>());
        Assert.Equal(vcenter.Consumer<EsxiHostShutdownRequestedConsumer>(), CommandRoutes.QueueOf<EsxiHostShutdownRequested>());
        Assert.Equal(vcenter.Consumer<VCenterStartRequestedConsumer>(), CommandRoutes.QueueOf<VCenterStartRequested>());
    }

    sealed record ClusterState(bool VcenterReachable, List<HostEntry> Hosts, List<VmEntry> Vms, List<ClusterEntry> Clusters, List<VcsimState.Entry> Journal);

    sealed record HostEntry(string Name, string PowerState, bool InMaintenance, string? EsxiUrl, string? LockdownMode);

    sealed record VmEntry(string Name, string Host, string PowerState, bool Vcls);

    sealed record ClusterEntry(string Name, string Moref, bool HaEnabled, bool AdmissionControl, bool DrsEnabled, string DrsBehavior, bool Vsan, bool VclsEnabled);
}
