using System.Globalization;
using PowerEvents.Contracts;

namespace PowerEvents.Console.Readiness;

/// <summary>A sensor of a zone that protects the cluster, as the console last heard from it.</summary>
public sealed record SensorHealth(string Zone, string Sensor, string Source, bool Stale, DateTimeOffset? LastReadingAt);

/// <summary>A sensor source that is failing (<c>SourceHealthChanged</c>), with what is wrong.</summary>
public sealed record FailingSource(string Name, IReadOnlyList<string> Problems, DateTimeOffset Since);

/// <summary>Everything the grade of one cluster depends on, as plain data (built by the read model from the bus's events).</summary>
/// <param name="Observed">The latest <c>ClusterObserved</c>; null when the VCenterActuator has not described the cluster yet.</param>
/// <param name="KnownHosts">Hosts the console knows of the cluster from runs, when it was not observed.</param>
/// <param name="Zones">Zones that protect the cluster (configured or learned from runs).</param>
/// <param name="StaleZones">Of those, the ones the evaluator reported stale, with its words.</param>
/// <param name="Preflight">The latest result of every preflight check of every service.</param>
public sealed record ReadinessInput(
    string Cluster,
    ClusterObserved? Observed,
    IReadOnlyList<string> KnownHosts,
    IReadOnlyList<string> Zones,
    IReadOnlyDictionary<string, string> StaleZones,
    IReadOnlyList<SensorHealth> Sensors,
    IReadOnlyList<FailingSource> FailingSources,
    IReadOnlyList<PreflightCheckCompleted> Preflight,
    bool RunUnderWay,
    DateTimeOffset Now,
    TimeSpan MaxAge)
{
    /// <summary>Hosts known in any cluster (observed or named by a run): a BMC check of a host outside them cannot be placed.</summary>
    public IReadOnlySet<string> PlacedHosts { get; init; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>The run of PowerEvents that has the cluster powered off now, or null: failures it explains are expected.</summary>
    public ClusterOffByRun? OffByRun { get; init; }
}

/// <summary>What the off-by-run rule needs of one run.</summary>
public sealed record RunTimes(Guid RunId, bool DryRun, DateTimeOffset StartedAt, DateTimeOffset? CompletedAt, DateTimeOffset? RestoreCompletedAt, bool Interrupted);

/// <summary>
/// A cluster powered off on purpose by a PowerEvents run, from the run's start until its power-on completed (<see cref="Until"/>,
/// null while it is still off). Results checked inside that window stay expected after it, until a newer check replaces them:
/// the preflight runs every interval, so right after the power-on its latest vcenter/esxi results are still from the dark.
/// </summary>
public sealed record ClusterOffByRun(Guid RunId, DateTimeOffset Since, DateTimeOffset? Until = null)
{
    /// <summary>
    /// The cluster's latest real run (not a drill): off until its power-on completed (an interrupted one: still off), or until an
    /// observation after its shutdown shows every host on and connected again (a run without power-on, the cluster brought
    /// back by hand). Null: no run yet.
    /// </summary>
    public static ClusterOffByRun? Of(IEnumerable<RunTimes> runs, ClusterObserved? observed)
    {
        var run = runs.Where(r => !r.DryRun).MaxBy(r => r.StartedAt);
        if (run is null)
            return null;
        if (run.RestoreCompletedAt is { } restored && !run.Interrupted)
            return new ClusterOffByRun(run.RunId, run.StartedAt, restored);
        var upAgain = run.CompletedAt is { } done && observed is { } o && o.ObservedAt > done && o.Hosts.Count > 0
            && o.Hosts.All(h => h.PowerState == "poweredOn" && h.ConnectionState == "connected");
        return new ClusterOffByRun(run.RunId, run.StartedAt, upAgain ? observed!.ObservedAt : null);
    }

    /// <summary>True when something seen at <paramref name="at"/> was seen while the run had the cluster off.</summary>
    public bool Covers(DateTimeOffset at) => at >= Since && (Until is null || at <= Until);
}

public static class ReadinessGrades
{
    public const string Ready = "ready";
    public const string Degraded = "degraded";
    public const string NotReady = "not-ready";
    public const string Info = "info";

    static int Rank(string level) => level switch { NotReady => 0, Degraded => 1, _ => 2 };

    public static IEnumerable<ReadinessFinding> WorstFirst(IEnumerable<ReadinessFinding> findings) => findings.OrderBy(f => Rank(f.Level));
}

/// <summary>
/// The readiness grade of a cluster, pure: each rule turns part of <see cref="ReadinessInput"/> into findings; any
/// <c>not-ready</c> finding makes the cluster not ready, any <c>degraded</c> one degraded; <c>info</c> says what a run will
/// do and changes nothing. Findings carry no ages or counters that change by themselves, so the same situation is
/// the same list (the console publishes on change).
/// </summary>
public static class ReadinessGrader
{
    public const string BmcKind = "bmc";
    public const string WakeOnLanKind = "wake-on-lan";
    public const string EsxiKind = "esxi";
    public const string VCenterKind = "vcenter";
    /// <summary>A standalone cluster (ESXi hosts without vCenter) read through its hosts' own APIs: the vCenter check's counterpart.</summary>
    public const string StandaloneKind = "standalone";
    public const string SourceKind = "sensor-source";
    public const string WebhookKind = "webhook";

    public static (string Grade, IReadOnlyList<ReadinessFinding> Findings) Grade(ReadinessInput input)
    {
        var findings = ReadinessGrades.WorstFirst(
            Observation(input)
            .Concat(VmTools(input))
            .Concat(HostPowerOn(input))
            .Concat(VCenter(input))
            .Concat(Lockdown(input))
            .Concat(Settings(input))
            .Concat(Sensors(input))
            .Concat(OtherPreflight(input))
            .Concat(Run(input))).ToList();
        var grade = findings.Any(f => f.Level == ReadinessGrades.NotReady) ? ReadinessGrades.NotReady
            : findings.Any(f => f.Level == ReadinessGrades.Degraded) ? ReadinessGrades.Degraded
            : ReadinessGrades.Ready;
        return (grade, findings);
    }

    static ReadinessFinding Finding(string check, string level, string subject, string finding, string action) => new(check, level, subject, finding, action);

    /// <summary>Checks whose target is down while its cluster is off (a BMC still answers then: its failure is always real).</summary>
    static readonly string[] OffKinds = [VCenterKind, EsxiKind, StandaloneKind];

    /// <summary>The failure of <paramref name="check"/> is expected: PowerEvents has the cluster off, and the check serves it.</summary>
    static bool Expected(ReadinessInput input, PreflightCheckCompleted check) =>
        input.OffByRun is { } off && off.Covers(check.CheckedAt) && OffKinds.Contains(check.Kind, StringComparer.OrdinalIgnoreCase)
        && (check.Clusters is not { Count: > 0 } clusters || clusters.Contains(input.Cluster, StringComparer.OrdinalIgnoreCase));

    /// <summary>A failure the run explains: shown as info, it does not lower the grade (the grade is about the next run).</summary>
    static ReadinessFinding ExpectedFinding(ReadinessInput input, string check, string subject, string what) =>
        Finding(check, ReadinessGrades.Info, subject,
            input.OffByRun!.Until is { } until
                ? $"expected: seen while {input.Cluster} was off by run {input.OffByRun.RunId} ({Stamp(input.OffByRun.Since)} to {Stamp(until)}), not checked since: {what}"
                : $"expected: {input.Cluster} is off by run {input.OffByRun.RunId} (since {Stamp(input.OffByRun.Since)}): {what}",
            "none while the cluster is off; a check still failing once the power-on completed is alerted as a real failure");

    static string Stamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) + " UTC";

    static string List(IEnumerable<string> names, int max = 8)
    {
        var all = names.ToList();
        return all.Count <= max ? string.Join(", ", all) : string.Join(", ", all.Take(max)) + $" and {all.Count - max} more";
    }

    static PreflightCheckCompleted? Latest(ReadinessInput input, string kind, string target) => input.Preflight
        .Where(p => p.Kind.Equals(kind, StringComparison.OrdinalIgnoreCase) && p.Target.Equals(target, StringComparison.OrdinalIgnoreCase))
        .MaxBy(p => p.CheckedAt);

    /// <summary>The VCenterActuator's view of the cluster: missing or old, nothing about Tools, vCenter or settings can be said.</summary>
    public static IEnumerable<ReadinessFinding> Observation(ReadinessInput input)
    {
        if (input.Observed is null)
            yield return Finding("observed", ReadinessGrades.Degraded, input.Cluster,
                "the cluster has not been observed yet: VMware Tools, where vCenter runs, vCLS/HA/DRS/vSAN and lockdown are unknown",
                "check that the VCenterActuator runs its preflight (Preflight:Interval) and that the cluster's name matches its configuration");
        else if (input.Now - input.Observed.ObservedAt > input.MaxAge && input.OffByRun is { } off && (off.Until is null || input.Observed.ObservedAt <= off.Until))
            yield return ExpectedFinding(input, "observed", input.Cluster, $"the latest view of the cluster is from {Stamp(input.Observed.ObservedAt)}");
        else if (input.Now - input.Observed.ObservedAt > input.MaxAge)
            yield return Finding("observed", ReadinessGrades.Degraded, input.Cluster,
                $"the latest view of the cluster is from {Stamp(input.Observed.ObservedAt)}: vCenter may not be answering the preflight",
                "check the VCenterActuator's log and its vcenter preflight result");
    }

    /// <summary>Powered-on VMs without running VMware Tools cannot be shut down cleanly: the run powers them off hard.</summary>
    public static IEnumerable<ReadinessFinding> VmTools(ReadinessInput input)
    {
        if (input.Observed is null)
            yield break;
        var without = input.Observed.Vms.Where(v => v.PowerState == "poweredOn" && !v.IsVcls && !v.ToolsRunning)
            .Select(v => v.Name).Order(StringComparer.OrdinalIgnoreCase).ToList();
        if (without.Count > 0)
            yield return Finding("vm-tools", ReadinessGrades.Degraded, $"{without.Count} VM(s)",
                $"no running VMware Tools in {List(without)}: a shutdown will power them off hard (as pulling the plug)",
                "install or start VMware Tools (open-vm-tools) in these VMs, or accept a hard power-off for them");
    }

    /// <summary>Each host must be able to come back: a BMC that passes its check, or at least a Wake-on-LAN MAC.</summary>
    public static IEnumerable<ReadinessFinding> HostPowerOn(ReadinessInput input)
    {
        var hosts = input.Observed?.Hosts.Select(h => h.Name).ToList() ?? [.. input.KnownHosts];
        foreach (var host in hosts.Order(StringComparer.OrdinalIgnoreCase))
        {
            var bmc = Latest(input, BmcKind, host);
            if (bmc is not null)
            {
                if (!bmc.Ok)
                    yield return Finding("host-power-on", ReadinessGrades.NotReady, host,
                        $"its BMC check fails: {bmc.Reason}; after a shutdown it cannot be powered on",
                        "fix the BMC's address, credentials (Bmc:Hosts, the password secret) or certificate pin; the next preflight shows the result");
                else if (input.Now - bmc.CheckedAt > input.MaxAge)
                    yield return Finding("host-power-on", ReadinessGrades.Degraded, host,
                        $"its BMC was last checked at {Stamp(bmc.CheckedAt)}",
                        "check that the IloActuator runs (its preflight publishes a result every Preflight:Interval)");
                continue;
            }
            if (Latest(input, WakeOnLanKind, host) is not null)
                yield return Finding("host-power-on", ReadinessGrades.Degraded, host,
                    "no BMC: it can only be woken by Wake-on-LAN, which nothing confirms (a switch that drops the packet leaves it off)",
                    "configure its BMC (Bmc:Hosts:N:Url) so a power-on is confirmed; keep Wake-on-LAN as the fallback");
            else
                yield return Finding("host-power-on", ReadinessGrades.NotReady, host,
                    "no BMC and no Wake-on-LAN is known for it (no bmc preflight result): after a shutdown it cannot come back by itself",
                    "add the host to the IloActuator's Bmc:Hosts (a BMC Url, or WakeOnLan:Mac) under the name vCenter gives it");
        }

        // A failing BMC the console cannot place in a cluster yet (none observed it): it may be one of this cluster's.
        foreach (var bmc in input.Preflight.Where(p => !p.Ok && p.Kind.Equals(BmcKind, StringComparison.OrdinalIgnoreCase)
                     && !hosts.Contains(p.Target, StringComparer.OrdinalIgnoreCase) && !input.PlacedHosts.Contains(p.Target)).OrderBy(p => p.Target, StringComparer.OrdinalIgnoreCase))
            yield return Finding("host-power-on", ReadinessGrades.Degraded, bmc.Target,
                $"its BMC check fails: {bmc.Reason}; no cluster is known to hold {bmc.Target} yet, so it may be this one's",
                "fix the BMC's address, credentials (Bmc:Hosts, the password secret) or certificate pin; the VCenterActuator's observation places the host");
    }

    /// <summary>vCenter's own VM on the cluster goes down last; its host is then finished through its own ESXi API.</summary>
    public static IEnumerable<ReadinessFinding> VCenter(ReadinessInput input)
    {
        var observed = input.Observed;
        if (observed is null)
            yield break;
        var login = input.Preflight.Where(p => (p.Kind.Equals(VCenterKind, StringComparison.OrdinalIgnoreCase) || p.Kind.Equals(StandaloneKind, StringComparison.OrdinalIgnoreCase))
            && (p.Target.Equals(observed.Platform, StringComparison.OrdinalIgnoreCase) || p.Target.Equals(observed.Cluster, StringComparison.OrdinalIgnoreCase)))
            .MaxBy(p => p.CheckedAt);
        if (login is { Ok: false } && Expected(input, login))
            yield return ExpectedFinding(input, "vcenter", observed.Platform, $"the vCenter check fails: {login.Reason}");
        else if (login is { Ok: false })
            yield return Finding("vcenter", ReadinessGrades.NotReady, observed.Platform,
                $"the vCenter check fails: {login.Reason}; a shutdown cannot read the inventory or ask anything of vCenter",
                "fix vCenter's address, credentials (VCenter:*) or certificate pin in the VCenterActuator");

        if (observed.VCenterVm is null)
            yield break;
        if (observed.VCenterHost is null)
        {
            yield return Finding("vcenter", ReadinessGrades.Degraded, observed.VCenterVm,
                "vCenter's VM runs on this cluster but its host is unknown: the run cannot finish that host after vCenter is down",
                "check the VCenterActuator's inventory of the cluster (the VM's host) in its log");
            yield break;
        }
        yield return Finding("vcenter", ReadinessGrades.Info, observed.VCenterHost,
            $"vCenter ({observed.VCenterVm}) runs on {observed.VCenterHost}: it is shut down last, then {observed.VCenterHost} is finished through its own ESXi API",
            "");
        var esxi = Latest(input, EsxiKind, observed.VCenterHost);
        if (esxi is null)
            yield return Finding("vcenter", ReadinessGrades.Degraded, observed.VCenterHost,
                $"no ESXi login check of {observed.VCenterHost}: once vCenter is down, nothing proves the run can shut that host down",
                $"configure {observed.VCenterHost}'s own ESXi credentials in the VCenterActuator so its preflight checks the login");
        else if (!esxi.Ok && Expected(input, esxi))
            yield return ExpectedFinding(input, "vcenter", observed.VCenterHost, $"the ESXi login to {observed.VCenterHost} fails: {esxi.Reason}");
        else if (!esxi.Ok)
            yield return Finding("vcenter", ReadinessGrades.NotReady, observed.VCenterHost,
                $"the ESXi login to {observed.VCenterHost} fails: {esxi.Reason}; after vCenter is down that host cannot be finished and stays on",
                $"fix {observed.VCenterHost}'s ESXi credentials or address (and its lockdown exception users), then wait for the next preflight");
    }

    /// <summary>Lockdown refuses direct logins to a host's own API: harmless while vCenter lives, a problem for vCenter's own host.</summary>
    public static IEnumerable<ReadinessFinding> Lockdown(ReadinessInput input)
    {
        if (input.Observed is null)
            yield break;
        foreach (var host in input.Observed.Hosts.Where(h => h.LockdownMode is "lockdownNormal" or "lockdownStrict").OrderBy(h => h.Name, StringComparer.OrdinalIgnoreCase))
        {
            var vcenterHost = host.Name.Equals(input.Observed.VCenterHost, StringComparison.OrdinalIgnoreCase);
            yield return vcenterHost
                ? Finding("lockdown", ReadinessGrades.Degraded, host.Name,
                    $"{host.Name} is in {host.LockdownMode} and runs vCenter: once vCenter is down, its own API refuses the run's login",
                    "add the PowerEvents ESXi account to the host's Exception Users, or turn lockdown off on it")
                : Finding("lockdown", ReadinessGrades.Info, host.Name,
                    $"{host.Name} is in {host.LockdownMode}: the run goes through vCenter, which lockdown does not stop",
                    "");
        }
    }

    /// <summary>What the run will change on the cluster (and put back on the way up).</summary>
    public static IEnumerable<ReadinessFinding> Settings(ReadinessInput input)
    {
        if (input.Observed is null)
            yield break;
        var settings = input.Observed.Settings;
        if (settings is null)
        {
            yield return Finding("cluster-settings", ReadinessGrades.Info, input.Cluster, "standalone hosts: no vCLS, HA, DRS or vSAN to change", "");
            yield break;
        }
        if (settings.HasVcls)
            yield return Finding("cluster-settings", ReadinessGrades.Info, "vCLS",
                "vCLS runs: the run sets retreat mode (its VMs are removed) before the hosts, and restores the setting on the way up", "");
        if (settings.HaDrs.HaEnabled)
            yield return Finding("cluster-settings", ReadinessGrades.Info, "HA",
                "HA is on: the run turns it off so it does not restart the VMs it stops, and turns it back on after the power-on", "");
        if (settings.HaDrs.DrsEnabled && settings.HaDrs.DrsBehavior != "manual")
            yield return Finding("cluster-settings", ReadinessGrades.Info, "DRS",
                $"DRS is {settings.HaDrs.DrsBehavior}: the run sets it to manual so it moves nothing during the shutdown, and restores it", "");
        if (settings.VsanEnabled)
            yield return Finding("cluster-settings", ReadinessGrades.Info, "vSAN",
                "vSAN is on: hosts enter maintenance mode with noAction (no data moved) and the resync is checked before the power-on finishes", "");
    }

    /// <summary>A cluster is only protected if the zones that watch it can raise an alarm.</summary>
    public static IEnumerable<ReadinessFinding> Sensors(ReadinessInput input)
    {
        if (input.Zones.Count == 0)
            yield return Finding("sensors", ReadinessGrades.Degraded, input.Cluster,
                "no zone is known to protect this cluster: the console cannot tell whether its sensors work",
                "name the cluster's zones in the console's configuration (Console:Clusters:N:Zones)");
        foreach (var zone in input.Zones.Order(StringComparer.OrdinalIgnoreCase))
        {
            if (input.StaleZones.TryGetValue(zone, out var detail))
                yield return Finding("sensors", ReadinessGrades.NotReady, zone,
                    $"zone {zone} is stale ({detail}): it cannot raise an alarm, so the cluster is not protected",
                    "bring its sensors back (power, gateway, the source's credentials) or lower the zone's quorum knowingly");
            if (!input.Sensors.Any(s => s.Zone.Equals(zone, StringComparison.OrdinalIgnoreCase)) && !input.StaleZones.ContainsKey(zone))
                yield return Finding("sensors", ReadinessGrades.Degraded, zone,
                    $"no reading from zone {zone} has reached the console",
                    "check that the zone's sensors are configured in the SensorPoller and named in the zone (Console:Zones:N:Sensors, AlarmEvaluator zones)");
            var stale = input.Sensors.Where(s => s.Zone.Equals(zone, StringComparison.OrdinalIgnoreCase) && s.Stale)
                .OrderBy(s => s.Sensor, StringComparer.OrdinalIgnoreCase).ToList();
            if (stale.Count > 0 && !input.StaleZones.ContainsKey(zone))
                yield return Finding("sensors", ReadinessGrades.Degraded, zone,
                    $"sensor(s) without a recent reading: {List(stale.Select(s => s.Sensor + (s.LastReadingAt is { } at ? " (last " + Stamp(at) + ")" : "")))}",
                    "check these sensors (battery, placement, gateway): fewer fresh sensors bring the zone closer to stale");
        }

        // A source matters when it feeds the cluster's sensors (or always, when the cluster's sensors are unknown).
        var sources = input.Sensors.Select(s => s.Source).ToHashSet(StringComparer.OrdinalIgnoreCase);
        bool Feeds(string source) => input.Zones.Count == 0 || sources.Count == 0 || sources.Contains(source);
        foreach (var source in input.FailingSources.Where(s => Feeds(s.Name)).OrderBy(s => s.Name, StringComparer.OrdinalIgnoreCase))
            yield return Finding("sensors", ReadinessGrades.Degraded, source.Name,
                $"sensor source {source.Name} is failing since {Stamp(source.Since)}{(source.Problems.Count > 0 ? ": " + source.Problems[0] : "")}",
                "check the source's key, organization or address; its zones go stale when it stays down");
        foreach (var check in input.Preflight.Where(p => !p.Ok && p.Kind.Equals(SourceKind, StringComparison.OrdinalIgnoreCase) && Feeds(p.Target)
                     && !input.FailingSources.Any(s => s.Name.Equals(p.Target, StringComparison.OrdinalIgnoreCase))).OrderBy(p => p.Target, StringComparer.OrdinalIgnoreCase))
            yield return Finding("preflight", ReadinessGrades.Degraded, check.Target,
                $"the sensor source check fails: {check.Reason}",
                "check the source's credentials and organization access (SensorPoller configuration)");
    }

    /// <summary>Failing checks that no rule above covers: webhooks (alerts may not arrive) and any kind added later.</summary>
    public static IEnumerable<ReadinessFinding> OtherPreflight(ReadinessInput input)
    {
        string[] covered = [BmcKind, WakeOnLanKind, EsxiKind, VCenterKind, StandaloneKind, SourceKind];
        foreach (var check in input.Preflight.Where(p => !p.Ok && !covered.Contains(p.Kind, StringComparer.OrdinalIgnoreCase))
                     .OrderBy(p => p.Kind, StringComparer.Ordinal).ThenBy(p => p.Target, StringComparer.OrdinalIgnoreCase))
            yield return check.Kind.Equals(WebhookKind, StringComparison.OrdinalIgnoreCase)
                ? Finding("preflight", ReadinessGrades.Degraded, check.Target,
                    $"webhook destination {check.Target} is not reachable: {check.Reason}; alerts to it may not arrive",
                    "check the destination's host, network path and certificate (Notifier:Destinations)")
                : Finding("preflight", ReadinessGrades.Degraded, $"{check.Kind} {check.Target}",
                    $"the {check.Kind} check of {check.Service} fails: {check.Reason}",
                    "see docs/operations.md for this check");
    }

    public static IEnumerable<ReadinessFinding> Run(ReadinessInput input)
    {
        if (input.RunUnderWay)
            yield return Finding("run", ReadinessGrades.Info, input.Cluster, "a run is under way: this grade is about the next one", "");
    }
}
