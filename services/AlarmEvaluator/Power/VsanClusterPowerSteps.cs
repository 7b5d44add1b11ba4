using PowerEvents.Contracts;

namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>
/// vSAN's cluster power API (<c>PerformClusterPowerAction</c>, vSAN 7.0 U3+) as steps of a run, for a vSAN cluster configured
/// where <see cref="Decide"/> chooses it (<see cref="ClusterOptions.UseVsanClusterPowerApi"/>, default auto). Shutdown: after the tenant tiers, vCLS retreat, HA/DRS and the
/// resync wait, one step <see cref="PowerOff"/> replaces every host's maintenance mode and shutdown and vCenter's own VM and
/// host (vSAN's workflow does them, in its order); if vSAN did not finish it, the run goes on with the per-host steps.
/// Power-on: once every host is back and vCenter sees them, <see cref="PowerOn"/> (<c>clusterPoweredOn</c>: hosts out of
/// maintenance, vSAN membership and DOM resumed) replaces the per-host maintenance exits; if it fails, they follow.
/// Hooks: <see cref="ShutdownPlanner.Plan"/>, <see cref="RestorePlanner.Plan"/>, the two kinds' <see cref="StepRules"/> (the
/// power-off's end of stage, the power-on's entry), the saga's dispatch (<c>PowerActivities</c>) and one event
/// (<see cref="VsanClusterPowerCompleted"/>).
/// </summary>
public static class VsanClusterPowerSteps
{
    public const string PowerOff = "vsan-cluster-power-off";
    public const string PowerOn = "vsan-cluster-power-on";
    public const string ClusterPoweredOff = "clusterPoweredOff";
    public const string ClusterPoweredOn = "clusterPoweredOn";

    /// <summary>The plan preview's change line that names the chosen path and why.</summary>
    public const string PathStep = "vsan-cluster-power";

    /// <summary>After vCLS retreat and HA/DRS (stage 0) and the resync wait (stage 1): vSAN refuses while objects resync.</summary>
    const int Stage = 2;

    /// <summary>The first vCenter API version with vSAN's <c>VsanClusterPowerSystem</c> ("Since vSAN API vSAN 7.0U3", vCenter 7.0 U3).</summary>
    public static readonly Version MinimumApiVersion = new(7, 0, 3);

    /// <summary>Which way a vSAN cluster goes down and back, and why (one line for the plan, the history and the preview).</summary>
    public sealed record PowerPath(bool UseApi, string Reason);

    /// <summary>
    /// The path for this cluster as the inventory found it. <c>never</c>: per-host. <c>always</c>: the API whenever vSAN is on.
    /// <c>auto</c>: the API only when vSAN is on, vCenter offers it (<c>about.apiVersion</c> ≥ 7.0.3) and no host was in
    /// maintenance mode before the run (vSAN's <c>clusterPoweredOn</c> takes every host out of it, which the run could not
    /// undo) nor off or disconnected (vSAN refuses, or its power-on would wait for a host the run does not boot).
    /// </summary>
    public static PowerPath Decide(ClusterOptions options, ClusterSettings? settings, IReadOnlyCollection<HostInventory> hosts)
    {
        const string PerHost = "per-host steps: ";
        var mode = options.VsanClusterPowerApi;
        if (settings?.VsanEnabled != true)
            return new(false, PerHost + "vSAN is not enabled on the cluster");
        if (mode == VsanClusterPowerApiMode.Never)
            return new(false, PerHost + "UseVsanClusterPowerApi=never");
        if (mode == VsanClusterPowerApiMode.Always)
            return new(true, "vSAN's cluster power API: UseVsanClusterPowerApi=always (per-host steps only if vSAN refuses or does not finish)");
        if (settings.VCenterApiVersion is not { } version)
            return new(false, PerHost + "the inventory did not report vCenter's API version (vSAN's cluster power API needs 7.0.3 or later)");
        if (!OffersApi(version))
            return new(false, PerHost + $"vCenter {version} has no vSAN cluster power API (vSAN 7.0 U3 / API 7.0.3 and later)");
        var inMaintenance = hosts.Where(h => h.InMaintenanceMode).Select(h => h.Name).Order(StringComparer.Ordinal).ToList();
        if (inMaintenance.Count > 0)
            return new(false, PerHost + $"{string.Join(", ", inMaintenance)} {(inMaintenance.Count == 1 ? "was" : "were")} in maintenance mode before the run " +
                              "(vSAN's cluster power-on would take it out, which the run could not undo)");
        var notUp = hosts.Where(h => !string.Equals(h.PowerState, "poweredOn", StringComparison.OrdinalIgnoreCase)
                                     || !string.Equals(h.ConnectionState, "connected", StringComparison.OrdinalIgnoreCase))
            .Select(h => h.Name).Order(StringComparer.Ordinal).ToList();
        if (notUp.Count > 0)
            return new(false, PerHost + $"{string.Join(", ", notUp)} {(notUp.Count == 1 ? "was" : "were")} not powered on and connected before the run " +
                              "(vSAN's cluster power workflow needs every host of the cluster)");
        return new(true, $"vSAN's cluster power API: vSAN is on, vCenter {version} offers it, no host was in maintenance mode before the run");
    }

    /// <summary><c>about.apiVersion</c> (<c>7.0.3.0</c>, <c>8.0.2.0</c>) is 7.0.3 or later; false when it does not parse.</summary>
    public static bool OffersApi(string apiVersion) =>
        Version.TryParse(apiVersion.Count(c => c == '.') == 0 ? apiVersion + ".0" : apiVersion, out var v)
        && new Version(v.Major, v.Minor, Math.Max(v.Build, 0)) >= MinimumApiVersion;

    /// <summary>The power-off step, planned when <see cref="Decide"/> chose the API (none otherwise).</summary>
    public static IEnumerable<ClusterStep> Plan(PowerPath path)
    {
        if (path.UseApi)
            yield return new ClusterStep { Kind = PowerOff, Stage = Stage };
    }

    /// <summary>
    /// The power-on step, planned with the shutdown when it plans vSAN's power-off (or a carried-over run did); skipped at
    /// the power-on unless that power-off ran (<see cref="SkipPowerOnUnlessOwed"/>).
    /// </summary>
    public static ClusterStep? PlanPowerOn(PowerRun run, RestoreRun carried) =>
        carried.VsanClusterPowerOn is not null || run.ClusterSteps.Any(st => st.Kind == PowerOff)
            ? new ClusterStep { Kind = PowerOn, Outcome = carried.VsanClusterPowerOn is null ? RunOutcome.None : RunOutcome.Carried }
            : null;

    /// <summary>A power-on still owed by a run that was never restored (<see cref="RestorePlanner.CarryOver"/>).</summary>
    public static ClusterStep? CarryOver(PowerRun previous) =>
        previous.Restore.VsanClusterPowerOn is { } step && PoweredOffByVsan(previous, step) ? new ClusterStep { Kind = PowerOn } : null;

    /// <summary>The plan's line on vCenter's VM when vSAN's workflow takes it down (null: the per-host plan's line stands).</summary>
    public static string? VCenterPlanNote(PowerRun run) =>
        run.ClusterSteps.Any(st => st.Kind == PowerOff)
            ? "vCenter's own VM runs on this vSAN cluster: vSAN's cluster power-off takes it and every host down after the tenant VMs " +
              "(if vSAN does not finish, the other hosts go off through vCenter, then vCenter's VM, then its host through its own ESXi API)"
            : null;

    /// <summary>vSAN's power-off of this run (or of the carried-over run) went ahead: its power-on is owed.</summary>
    static bool PoweredOffByVsan(PowerRun run, ClusterStep powerOn) =>
        powerOn.Outcome == RunOutcome.Carried || run.ClusterSteps.Any(st => st.Kind == PowerOff && st.Status is StepStatus.Done or StepStatus.Late);

    /// <summary>A stage holding the power-off gets vSAN's own deadline (the whole cluster goes down in it).</summary>
    public static TimeSpan StageDeadline(IEnumerable<ClusterStep> stage, ClusterOptions options) =>
        stage.Any(st => st.Kind == PowerOff) ? options.VsanClusterPowerDeadline : options.ClusterStepDeadline;

    public static string? Describe(string kind) => kind switch
    {
        PowerOff => "vSAN cluster power-off through vSAN's cluster power API (clusterPoweredOff: HA off, vCLS and vCenter's VM off, " +
                    "vSAN membership updates and DOM paused, every host into maintenance mode and off); put back by clusterPoweredOn",
        PowerOn => "vSAN cluster power-on (clusterPoweredOn: hosts out of maintenance mode, vSAN membership and DOM resumed)",
        _ => null,
    };

    /// <summary>The command of a claimed step (null: not one of these).</summary>
    public static VsanClusterPowerRequested? Command(PowerRun run, string kind) => kind switch
    {
        PowerOff => new VsanClusterPowerRequested(run.RunId, run.Cluster, ClusterPoweredOff, $"PowerEvents: temperature alarm of zone {run.Zone}, run {run.RunId}",
            [.. run.Hosts.Where(h => h.WasPoweredOn).Select(h => h.Name)], run.VCenterVm, run.VCenterHost),
        PowerOn => new VsanClusterPowerRequested(run.RunId, run.Cluster, ClusterPoweredOn),
        _ => null,
    };

    /// <summary>
    /// At the end of the shutdown's cluster steps. True: vSAN powered the cluster off — the hosts and vCenter's VM are done
    /// and the run goes to its end. False: no such step, or it did not finish (the per-host steps follow).
    /// </summary>
    public static bool PoweredOff(PowerRun run, DateTimeOffset now)
    {
        if (run.ClusterSteps.FirstOrDefault(st => st.Kind == PowerOff) is not { } step)
            return false;
        if (step.Status != StepStatus.Done)
        {
            run.Record(now, PowerOff, run.Cluster, RunOutcome.FallBack, "vSAN's cluster power-off did not finish: per-host maintenance mode and shutdown instead");
            return false;
        }
        foreach (var host in run.Hosts.Where(h => !h.WasPoweredOn))
            (host.Maintenance, host.Shutdown) = (StepStatus.Skipped, StepStatus.Skipped);
        foreach (var vm in run.AllVms.Where(v => v.IsVCenter && StageEngine.Open(v.Status)))
        {
            (vm.Status, vm.Outcome, vm.Detail) = (StepStatus.Done, RunOutcome.VsanPowerOff, "powered off by vSAN's cluster power-off (vcVMPoweredOff)");
            run.Record(now, ShutdownPolicy.VmStep, vm.Name, RunOutcome.VsanPowerOff, vm.Detail);
        }
        // Nothing is left of vCenter's tier or its host: the run ends through the phase that finishes vCenter's host.
        run.VCenterTurn = true;
        run.CurrentTier = run.Tiers.Count;
        run.Phase = RunPhase.VCenterHostShutdown;
        return true;
    }

    /// <summary>The power-off's outcome; hosts it saw off are recorded as such (history line each). False: not news.</summary>
    public static bool RecordPowerOff(PowerRun run, VsanClusterPowerCompleted m, DateTimeOffset now)
    {
        var detail = m.Fault is null
            ? $"vSAN powered the cluster off; hosts off: {string.Join(", ", m.HostsOff)}" + (m.HostsUnconfirmed.Count > 0 ? $"; not confirmed: {string.Join(", ", m.HostsUnconfirmed)}" : "")
              + (m.Detail is { Length: > 0 } how ? $" ({how})" : "")
            : (m.Started ? "vSAN started its workflow, then: " : "refused before any change: ") + StageEngine.Detail(m.Fault);
        // Not asked again: a refusal falls back to the per-host steps at once, and a workflow under way must not be asked twice.
        if (!ShutdownPolicy.RecordClusterStep(run, PowerOff, m.Outcome != StepOutcome.Failed, RunOutcomes.Of(m.Outcome), detail, retries: 0, now))
            return false;
        if (m.Outcome == StepOutcome.Failed || run.Phase != RunPhase.ClusterPrepare)
            return true;
        foreach (var host in run.Hosts.Where(h => h.WasPoweredOn))
        {
            var confirmed = m.HostsOff.Contains(host.Name, StringComparer.OrdinalIgnoreCase);
            (host.Maintenance, host.Shutdown) = (StepStatus.Done, StepStatus.Done);
            host.Detail = confirmed ? "" : "vSAN's cluster power-off: not confirmed off (vCenter gone, no ESXi API configured for it)";
            run.Record(now, ShutdownPolicy.HostShutdownStep, host.Name, confirmed ? RunOutcome.VsanPowerOff : RunOutcome.Unconfirmed,
                confirmed ? "by vSAN's cluster power-off (maintenance mode, then off)" : host.Detail);
        }
        return true;
    }

    /// <summary>
    /// The power-on's stage starts: unless vSAN's power-off ran (this run's, or the carried-over run's), the step is skipped
    /// and the per-host maintenance exits follow. True: skipped here.
    /// </summary>
    public static bool SkipPowerOnUnlessOwed(PowerRun run, DateTimeOffset now)
    {
        if (run.Restore.VsanClusterPowerOn is not { Status: StepStatus.Pending } step || PoweredOffByVsan(run, step))
            return false;
        (step.Status, step.Outcome) = (StepStatus.Skipped, RunOutcome.Skipped);
        run.Record(now, PowerOn, run.Cluster, RunOutcome.Skipped, "the shutdown did not go through vSAN's cluster power-off");
        return true;
    }

    /// <summary>The power-on's outcome: done, every host still to leave maintenance mode has (vSAN's hostsOutOfMM). False: not news.</summary>
    public static bool RecordPowerOn(PowerRun run, VsanClusterPowerCompleted m, DateTimeOffset now)
    {
        var restore = run.Restore;
        if (restore.VsanClusterPowerOn is not { } step)
            return false;
        var detail = m.Fault is null ? "vSAN powered the cluster on" : StageEngine.Detail(m.Fault);
        if (!StageEngine.Record(run, PowerOn, step, run.Cluster, ClusterStep.Access, m.Outcome != StepOutcome.Failed, RunOutcomes.Of(m.Outcome), detail,
                false, 0, now, st => st.Detail = detail))
            return false;
        (step.Outcome, step.Detail) = (RunOutcomes.Of(m.Outcome), detail);
        if (run.Phase != RunPhase.ExitMaintenance)
            return true;
        if (step.Status == StepStatus.Failed)
        {
            run.Record(now, PowerOn, run.Cluster, RunOutcome.FallBack, "vSAN's cluster power-on did not finish: per-host maintenance exits instead");
            return true;
        }
        // The hosts the exits would ask: back in vCenter, and not in maintenance mode before the shutdown.
        foreach (var host in restore.Hosts.Where(h => h.ExitMaintenance == StepStatus.Pending && h.Connected && !h.WasInMaintenance))
        {
            (host.ExitMaintenance, host.Detail) = (StepStatus.Done, "");
            run.Record(now, PowerOnPolicy.ExitMaintenanceStep, host.Name, RunOutcome.VsanPowerOn, "out of maintenance mode by vSAN's cluster power-on");
        }
        return true;
    }
}
