using PowerEvents.Console.Readiness;
using PowerEvents.Contracts;
using Xunit;

namespace PowerEvents.Console.Tests;

/// <summary>The readiness grade, rule by rule, on plain data.</summary>
public sealed class ReadinessGraderTests
{
    static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-12-02T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    static ClusterObserved Observed(
        IReadOnlyList<HostInventory>? hosts = null, IReadOnlyList<VmInventory>? vms = null, ClusterSettings? settings = null,
        string? vcenterVm = null, string? vcenterHost = null, DateTimeOffset? at = null) => new(
        "c1", "vc1",
        hosts ?? [new HostInventory("host-1", "esx-1", "connected", "poweredOn", false, "lockdownDisabled"), new HostInventory("host-2", "esx-2", "connected", "poweredOn", false, "lockdownDisabled")],
        vms ?? [new VmInventory("vm-1", "db-1", "poweredOn", true, "esx-1", "dc/vm", false)],
        settings, vcenterVm, vcenterHost, at ?? Now.AddMinutes(-5));

    static PreflightCheckCompleted Check(string kind, string target, bool ok, string reason = "ok", string service = "ilo-actuator", double minutesAgo = 5) =>
        new(service, kind, target, ok, reason, Now.AddMinutes(-minutesAgo));

    static readonly PreflightCheckCompleted[] BmcsOk = [Check("bmc", "esx-1", true), Check("bmc", "esx-2", true)];

    static ReadinessInput Input(
        ClusterObserved? observed = null, bool observe = true, IReadOnlyList<PreflightCheckCompleted>? preflight = null, IReadOnlyList<string>? zones = null,
        IReadOnlyDictionary<string, string>? staleZones = null, IReadOnlyList<SensorHealth>? sensors = null, IReadOnlyList<FailingSource>? sources = null,
        bool runUnderWay = false, IReadOnlyList<string>? knownHosts = null) => new(
        "c1", observe ? observed ?? Observed() : null, knownHosts ?? [], zones ?? ["room"], staleZones ?? new Dictionary<string, string>(),
        sensors ?? [new SensorHealth("room", "s1", "meraki", false, Now.AddMinutes(-1))], sources ?? [], preflight ?? BmcsOk, runUnderWay, Now, TimeSpan.FromMinutes(45));

    static (string Grade, IReadOnlyList<ReadinessFinding> Findings) Grade(ReadinessInput input) => ReadinessGrader.Grade(input);

    [Fact]
    public void A_cluster_whose_every_check_passes_is_ready()
    {
        var (grade, findings) = Grade(Input());
        Assert.Equal("ready", grade);
        Assert.DoesNotContain(findings, f => f.Level != "info");
    }

    [Fact]
    public void A_powered_on_VM_without_Tools_degrades_it_and_names_the_VM_vCLS_and_powered_off_VMs_do_not()
    {
        var (grade, findings) = Grade(Input(Observed(vms:
        [
            new VmInventory("vm-1", "db-1", "poweredOn", true, "esx-1", "dc/vm", false),
            new VmInventory("vm-2", "legacy-app", "poweredOn", false, "esx-1", "dc/vm", false),
            new VmInventory("vm-3", "old-off", "poweredOff", false, "esx-2", "dc/vm", false),
            new VmInventory("vm-4", "vCLS-1", "poweredOn", false, "esx-2", "dc/vCLS", false, IsVcls: true),
        ])));
        Assert.Equal("degraded", grade);
        var tools = Assert.Single(findings, f => f.Check == "vm-tools");
        Assert.Contains("legacy-app", tools.Finding, StringComparison.Ordinal);
        Assert.DoesNotContain("old-off", tools.Finding, StringComparison.Ordinal);
        Assert.DoesNotContain("vCLS-1", tools.Finding, StringComparison.Ordinal);
        Assert.Contains("hard", tools.Finding, StringComparison.Ordinal);
        Assert.Contains("VMware Tools", tools.Action, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failing_BMC_check_makes_it_not_ready_with_the_reason_and_what_to_fix()
    {
        var (grade, findings) = Grade(Input(preflight: [Check("bmc", "esx-1", true), Check("bmc", "ESX-2", false, "esx-2: the BMC rejected the credentials")]));
        Assert.Equal("not-ready", grade);
        var bmc = Assert.Single(findings, f => f.Check == "host-power-on");
        Assert.Equal(("not-ready", "esx-2"), (bmc.Level, bmc.Subject));
        Assert.Contains("rejected the credentials", bmc.Finding, StringComparison.Ordinal);
        Assert.Contains("Bmc:Hosts", bmc.Action, StringComparison.Ordinal);
    }

    [Fact]
    public void A_host_with_no_BMC_result_cannot_come_back_and_is_not_ready()
    {
        var (grade, findings) = Grade(Input(preflight: [Check("bmc", "esx-1", true)]));
        Assert.Equal("not-ready", grade);
        var missing = Assert.Single(findings, f => f.Check == "host-power-on");
        Assert.Equal("esx-2", missing.Subject);
        Assert.Contains("cannot come back", missing.Finding, StringComparison.Ordinal);
    }

    [Fact]
    public void A_Wake_on_LAN_only_host_is_degraded_not_missing()
    {
        var (grade, findings) = Grade(Input(preflight: [Check("bmc", "esx-1", true), Check("wake-on-lan", "esx-2", true)]));
        Assert.Equal("degraded", grade);
        Assert.Contains("Wake-on-LAN", Assert.Single(findings, f => f.Check == "host-power-on").Finding, StringComparison.Ordinal);
    }

    [Fact]
    public void A_BMC_check_not_repeated_for_longer_than_the_maximum_age_degrades_it()
    {
        var (grade, findings) = Grade(Input(preflight: [Check("bmc", "esx-1", true), Check("bmc", "esx-2", true, minutesAgo: 120)]));
        Assert.Equal("degraded", grade);
        Assert.Equal("esx-2", Assert.Single(findings, f => f.Check == "host-power-on").Subject);
    }

    [Fact]
    public void Hosts_named_only_by_runs_are_checked_when_the_cluster_was_not_observed()
    {
        var (grade, findings) = Grade(Input(observe: false, knownHosts: ["esx-9"], preflight: []));
        Assert.Equal("not-ready", grade);
        Assert.Contains(findings, f => f.Check == "observed" && f.Level == "degraded");
        Assert.Contains(findings, f => f.Check == "host-power-on" && f.Subject == "esx-9");
    }

    [Fact]
    public void A_failing_BMC_of_a_host_no_cluster_holds_degrades_it_one_of_another_cluster_does_not()
    {
        var input = Input(preflight: [.. BmcsOk, Check("bmc", "esx-unplaced", false, "rejected the credentials"), Check("bmc", "esx-elsewhere", false, "down")])
            with { PlacedHosts = new HashSet<string>(["esx-1", "esx-2", "esx-elsewhere"], StringComparer.OrdinalIgnoreCase) };
        var (grade, findings) = Grade(input);
        Assert.Equal("degraded", grade);
        Assert.Equal("esx-unplaced", Assert.Single(findings, f => f.Check == "host-power-on").Subject);
    }

    [Fact]
    public void An_old_observation_degrades_it()
    {
        var (grade, findings) = Grade(Input(Observed(at: Now.AddHours(-2))));
        Assert.Equal("degraded", grade);
        Assert.Single(findings, f => f.Check == "observed");
    }

    [Fact]
    public void vCenter_on_the_cluster_is_said_and_its_host_must_pass_the_ESXi_login()
    {
        var observed = Observed(vcenterVm: "vcsa", vcenterHost: "esx-2");
        var (ok, okFindings) = Grade(Input(observed, preflight: [.. BmcsOk, Check("esxi", "esx-2", true, service: "vcenter-actuator")]));
        Assert.Equal("ready", ok);
        Assert.Contains(okFindings, f => f.Check == "vcenter" && f.Level == "info" && f.Finding.Contains("vcsa", StringComparison.Ordinal));

        var (unchecked_, missing) = Grade(Input(observed));
        Assert.Equal("degraded", unchecked_);
        Assert.Contains(missing, f => f.Check == "vcenter" && f.Level == "degraded" && f.Subject == "esx-2");

        var (failing, failed) = Grade(Input(observed, preflight: [.. BmcsOk, Check("esxi", "esx-2", false, "login refused", "vcenter-actuator")]));
        Assert.Equal("not-ready", failing);
        Assert.Contains("login refused", Assert.Single(failed, f => f.Check == "vcenter" && f.Level == "not-ready").Finding, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failing_vCenter_check_of_the_clusters_platform_makes_it_not_ready()
    {
        var (grade, findings) = Grade(Input(preflight: [.. BmcsOk, Check("vcenter", "vc1", false, "certificate does not match the pin", "vcenter-actuator")]));
        Assert.Equal("not-ready", grade);
        Assert.Contains("pin", Assert.Single(findings, f => f.Check == "vcenter").Finding, StringComparison.Ordinal);
        // Another platform's vCenter is not this cluster's business.
        Assert.Equal("ready", Grade(Input(preflight: [.. BmcsOk, Check("vcenter", "vc-other", false, "down", "vcenter-actuator")])).Grade);
    }

    [Fact]
    public void A_failing_standalone_check_of_the_cluster_makes_it_not_ready_as_a_vCenter_check_would()
    {
        // A standalone cluster (ESXi hosts without vCenter) is its own platform: the VCenterActuator checks it by the cluster's name.
        var standalone = Observed() with { Platform = "c1" };
        var (grade, findings) = Grade(Input(standalone, preflight: [.. BmcsOk, Check("standalone", "c1", false, "esx-1: wrong user or password", "vcenter-actuator")]));
        Assert.Equal("not-ready", grade);
        Assert.Contains("wrong user or password", Assert.Single(findings, f => f.Check == "vcenter").Finding, StringComparison.Ordinal);
        Assert.DoesNotContain(findings, f => f.Check == "preflight");
        Assert.Equal("ready", Grade(Input(standalone, preflight: [.. BmcsOk, Check("standalone", "c1", true, service: "vcenter-actuator")])).Grade);
    }

    [Fact]
    public void While_a_run_has_the_cluster_off_its_vcenter_and_esxi_failures_are_expected_and_do_not_lower_the_grade_a_bmc_failure_does()
    {
        var run = Guid.NewGuid();
        var observed = Observed(vcenterVm: "vcsa", vcenterHost: "esx-2", at: Now.AddHours(-2));
        PreflightCheckCompleted[] down =
        [
            .. BmcsOk, Check("vcenter", "vc1", false, "HTTP 503", "vcenter-actuator") with { Clusters = ["c1"] },
            Check("esxi", "esx-2", false, "Unreachable", "vcenter-actuator") with { Clusters = ["c1"] },
        ];
        var off = Input(observed, preflight: down) with { OffByRun = new ClusterOffByRun(run, Now.AddHours(-1)) };

        var (grade, findings) = Grade(off);
        Assert.Equal("ready", grade);
        var expected = findings.Where(f => f.Finding.StartsWith("expected: c1 is off by run " + run, StringComparison.Ordinal)).ToList();
        Assert.Equal(3, expected.Count);
        Assert.All(expected, f => Assert.Equal("info", f.Level));

        // The same failures without the run: real.
        Assert.Equal("not-ready", Grade(Input(observed, preflight: down)).Grade);
        // A BMC stays reachable while its host is off: its failure is real during the run too.
        Assert.Equal("not-ready", Grade(off with { Preflight = [.. down.Where(c => c.Kind != "bmc"), Check("bmc", "esx-1", false, "refused"), Check("bmc", "esx-2", true)] }).Grade);
        // A failure from before the run is not explained by it.
        Assert.Equal("not-ready", Grade(off with { OffByRun = new ClusterOffByRun(run, Now.AddMinutes(-1)) }).Grade);
    }

    [Fact]
    public void Right_after_the_power_on_a_failure_checked_in_the_dark_stays_expected_until_the_next_check_says_otherwise()
    {
        // Seen in the local run: the power-on completed, the latest vcenter result was still the one from while vCenter's VM
        // was off, and the grade dropped to not-ready (one webhook) until the next preflight, 30 s later (another).
        var run = Guid.NewGuid();
        var observed = Observed(at: Now.AddMinutes(-40));
        var restored = Now.AddMinutes(-1);
        var dark = Check("vcenter", "vc1", false, "HTTP 503", "vcenter-actuator") with { Clusters = ["c1"], CheckedAt = Now.AddMinutes(-2) };
        var after = Input(observed, preflight: [.. BmcsOk, dark]) with { OffByRun = new ClusterOffByRun(run, Now.AddMinutes(-30), restored) };

        var (grade, findings) = Grade(after);
        Assert.Equal("ready", grade);
        Assert.Contains(findings, f => f.Level == "info" && f.Finding.StartsWith("expected: seen while c1 was off by run " + run, StringComparison.Ordinal));
        // Checked again after the power-on and still failing: a real failure.
        Assert.Equal("not-ready", Grade(after with { Preflight = [.. BmcsOk, dark with { CheckedAt = Now }] }).Grade);
    }

    [Fact]
    public void The_cluster_is_off_by_its_latest_real_run_until_the_power_on_completed_or_every_host_is_seen_on_again()
    {
        var run = Guid.NewGuid();
        RunTimes Shutdown(DateTimeOffset? restored = null, bool interrupted = false, bool dryRun = false) =>
            new(run, dryRun, Now.AddHours(-2), Now.AddHours(-1.5), restored, interrupted);
        var allOn = Observed(at: Now.AddMinutes(-5));

        Assert.Equal(new ClusterOffByRun(run, Now.AddHours(-2)), ClusterOffByRun.Of([Shutdown()], Observed(at: Now.AddHours(-3))));
        Assert.Equal(new ClusterOffByRun(run, Now.AddHours(-2)), ClusterOffByRun.Of([Shutdown(Now.AddHours(-1), interrupted: true)], null));
        // Power-on completed: the window is closed at that moment (results from inside it stay expected until checked again).
        Assert.Equal(new ClusterOffByRun(run, Now.AddHours(-2), Now.AddHours(-1)), ClusterOffByRun.Of([Shutdown(Now.AddHours(-1))], null));
        Assert.Null(ClusterOffByRun.Of([Shutdown(dryRun: true)], null));
        Assert.Null(ClusterOffByRun.Of([], null));
        // A run without power-on: the cluster brought back by hand is seen on, which closes the window.
        Assert.Equal(new ClusterOffByRun(run, Now.AddHours(-2), allOn.ObservedAt), ClusterOffByRun.Of([Shutdown()], allOn));
        var oneOff = allOn with { Hosts = [.. allOn.Hosts.Take(1), allOn.Hosts[1] with { PowerState = "poweredOff", ConnectionState = "notResponding" }] };
        Assert.Null(ClusterOffByRun.Of([Shutdown()], oneOff)!.Until);
    }

    [Fact]
    public void Lockdown_on_vCenters_host_degrades_it_elsewhere_it_is_only_said()
    {
        HostInventory[] hosts = [new("host-1", "esx-1", "connected", "poweredOn", false, "lockdownNormal"), new("host-2", "esx-2", "connected", "poweredOn", false, "lockdownStrict")];
        PreflightCheckCompleted[] esxiOk = [.. BmcsOk, Check("esxi", "esx-2", true, service: "vcenter-actuator")];
        var (grade, findings) = Grade(Input(Observed(hosts: hosts, vcenterVm: "vcsa", vcenterHost: "esx-2"), preflight: esxiOk));
        Assert.Equal("degraded", grade);
        Assert.Equal("esx-2", Assert.Single(findings, f => f.Check == "lockdown" && f.Level == "degraded").Subject);
        Assert.Equal("esx-1", Assert.Single(findings, f => f.Check == "lockdown" && f.Level == "info").Subject);
        Assert.Contains("Exception Users", findings.Single(f => f.Check == "lockdown" && f.Level == "degraded").Action, StringComparison.Ordinal);
    }

    [Fact]
    public void vCLS_HA_DRS_and_vSAN_are_said_with_what_the_run_changes_and_do_not_change_the_grade()
    {
        var settings = new ClusterSettings("domain-c7", new ClusterHaDrsSettings(true, true, true, "fullyAutomated"), true, true, null);
        var (grade, findings) = Grade(Input(Observed(settings: settings)));
        Assert.Equal("ready", grade);
        Assert.Equal(["vCLS", "HA", "DRS", "vSAN"], findings.Where(f => f.Check == "cluster-settings").Select(f => f.Subject));
        Assert.All(findings.Where(f => f.Check == "cluster-settings"), f => Assert.Equal("info", f.Level));
        Assert.Contains("manual", findings.Single(f => f.Subject == "DRS").Finding, StringComparison.Ordinal);
        // DRS already manual: nothing to change.
        var manual = settings with { HaDrs = new ClusterHaDrsSettings(false, false, true, "manual"), HasVcls = false, VsanEnabled = false };
        Assert.DoesNotContain(Grade(Input(Observed(settings: manual))).Findings, f => f.Check == "cluster-settings");
    }

    [Fact]
    public void A_stale_zone_makes_it_not_ready_a_stale_sensor_degrades_it()
    {
        var (stale, staleFindings) = Grade(Input(staleZones: new Dictionary<string, string> { ["room"] = "0 of 2 sensors fresh" }));
        Assert.Equal("not-ready", stale);
        Assert.Contains("cannot raise an alarm", Assert.Single(staleFindings, f => f.Check == "sensors").Finding, StringComparison.Ordinal);

        var (grade, findings) = Grade(Input(sensors: [new SensorHealth("room", "s1", "meraki", false, Now), new SensorHealth("room", "s2", "meraki", true, Now.AddHours(-1))]));
        Assert.Equal("degraded", grade);
        Assert.Contains("s2", Assert.Single(findings, f => f.Check == "sensors").Finding, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failing_source_degrades_only_the_clusters_it_feeds()
    {
        FailingSource[] failing = [new("meraki", ["401 Unauthorized"], Now.AddMinutes(-3))];
        Assert.Equal("degraded", Grade(Input(sources: failing)).Grade);
        Assert.Equal("ready", Grade(Input(sources: [new("other-api", ["timeout"], Now)])).Grade);
        Assert.Equal("degraded", Grade(Input(preflight: [.. BmcsOk, Check("sensor-source", "meraki", false, "organization not accessible", "sensor-poller")])).Grade);
    }

    [Fact]
    public void A_zone_from_which_no_reading_came_degrades_it()
    {
        var (grade, findings) = Grade(Input(zones: ["room", "cold-aisle"]));
        Assert.Equal("degraded", grade);
        Assert.Equal("cold-aisle", Assert.Single(findings, f => f.Check == "sensors").Subject);
    }

    [Fact]
    public void A_cluster_without_a_known_zone_is_degraded()
    {
        var (grade, findings) = Grade(Input(zones: [], sensors: []));
        Assert.Equal("degraded", grade);
        Assert.Contains("Console:Clusters", Assert.Single(findings, f => f.Check == "sensors").Action, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failing_webhook_check_degrades_every_cluster()
    {
        var (grade, findings) = Grade(Input(preflight: [.. BmcsOk, Check("webhook", "ops-slack", false, "https://hooks.slack.com is not reachable", "notifier")]));
        Assert.Equal("degraded", grade);
        Assert.Contains("may not arrive", Assert.Single(findings, f => f.Check == "preflight").Finding, StringComparison.Ordinal);
    }

    [Fact]
    public void A_run_under_way_is_said_and_findings_come_worst_first()
    {
        var (grade, findings) = Grade(Input(runUnderWay: true, preflight: [Check("bmc", "esx-1", false, "down")],
            observed: Observed(vms: [new VmInventory("vm-2", "legacy", "poweredOn", false, "esx-1", "dc/vm", false)])));
        Assert.Equal("not-ready", grade);
        Assert.Contains(findings, f => f.Check == "run" && f.Level == "info");
        Assert.Equal(findings.OrderBy(f => f.Level switch { "not-ready" => 0, "degraded" => 1, _ => 2 }).Select(f => f.Level), findings.Select(f => f.Level));
    }

    [Fact]
    public void The_same_situation_gives_the_same_findings_later()
    {
        var input = Input(preflight: [Check("bmc", "esx-1", false, "down")]);
        var later = input with { Now = Now.AddMinutes(10) };
        Assert.Equal(ClusterReadiness.Signature(Grade(input).Grade, Grade(input).Findings, null), ClusterReadiness.Signature(Grade(later).Grade, Grade(later).Findings, null));
    }
}
