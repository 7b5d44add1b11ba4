using PowerEvents.Contracts;

namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>
/// The power-on's decisions as pure functions over <see cref="PowerRun.Restore"/>: when it may start, what to ask next,
/// what an outcome or a passed deadline means, what was not restored. No bus, no clock of its own.
/// </summary>
public static class PowerOnPolicy
{
    public const string PowerOnStep = "power-on";
    public const string HostPowerOnStep = "host-power-on";
    public const string ReconnectStep = "host-reconnect";
    public const string ExitMaintenanceStep = "host-exit-maintenance";
    public const string VmPowerOnStep = "vm-power-on";
    public const string RestoreStep = "restore";
    public const string VCenterStartStep = ClusterStep.VCenterStart;


    /// <summary>The minimum off time counts from the shutdown's completion (the last host step), and never ends before the clear.</summary>
    public static DateTimeOffset EarliestPowerOn(DateTimeOffset shutdownCompletedAt, DateTimeOffset clearedAt, ClusterOptions options)
    {
        var offLongEnough = shutdownCompletedAt + options.MinimumOffTime;
        return offLongEnough > clearedAt ? offLongEnough : clearedAt;
    }

    /// <summary>The alarm cleared after (or during) a finished shutdown: wait for the minimum off time. False: no power-on (disabled, drill, nothing to restore).</summary>
    public static bool Schedule(PowerRun run, ClusterOptions options, DateTimeOffset shutdownCompletedAt, DateTimeOffset clearedAt, DateTimeOffset now)
    {
        if (run.CompletedAt is null || run.Phase is not null || run.Restore.DueAt is not null)
            return false;
        var skip = !options.PowerOnAfterClear ? "PowerOnAfterClear is off: the cluster stays off until an operator brings it back"
            : run.PowerOnHeldBy is { } held ? $"held by an operator ({held}): the cluster stays off until an operator powers it on"
            : run.DryRun ? "drill: nothing was shut down"
            : run.Restore.IsEmpty ? "nothing was running before the shutdown"
            : null;
        if (skip is not null)
        {
            if (!run.DryRun && ShutdownPolicy.LeftChanged(run) is { Count: > 0 } left)
                skip += "; left changed: " + string.Join("; ", left);
            run.Record(now, PowerOnStep, run.Cluster, RunOutcome.Skipped, skip);
            return false;
        }

        var at = EarliestPowerOn(shutdownCompletedAt, clearedAt, options);
        run.Restore.DueAt = at;
        Wake(run, at);
        run.Record(now, PowerOnStep, run.Cluster, RunOutcome.Scheduled,
            $"not before {at:O} (minimum off time {options.MinimumOffTime} after the shutdown completed at {shutdownCompletedAt:O}), if the zone stays clear");
        return true;
    }

    /// <summary>The zone's alarm came back before the power-on began: nothing was sent, the cluster stays off.</summary>
    public static void Cancel(PowerRun run, string why, DateTimeOffset now)
    {
        run.Restore.DueAt = null;
        StageEngine.Enter(run, null);
        run.Record(now, PowerOnStep, run.Cluster, RunOutcome.Cancelled, why);
    }

    /// <summary>The minimum off time passed with the zone clear: the hosts are powered on (staggered if configured).</summary>
    public static Asks Begin(PowerRun run, ClusterOptions options, DateTimeOffset now)
    {
        var restore = run.Restore;
        restore.StartedAt = now;
        restore.CurrentTier = 0;
        restore.DueAt = null;
        run.Record(now, PowerOnStep, run.Cluster, RunOutcome.Started,
            $"{restore.Hosts.Count} host(s); {restore.AllVms.Count()} VM(s) in {restore.Tiers.Count} tier(s): {string.Join(", ", restore.Tiers.Select(t => $"{t.Name}={t.Vms.Count}"))}");
        foreach (var vcenter in restore.AllVms.Where(v => v.IsVCenter))
            run.Record(now, PowerOnStep, vcenter.Name, RunOutcome.VCenterVmOnCluster, restore.VCenterStart is not null
                ? $"vCenter's own VM is started through {restore.VCenterHost}'s own ESXi API once the hosts are on (never relying on autostart)"
                : "vCenter's own VM goes first; until it runs the reconnect poll gets no inventory (its host must start it, e.g. ESXi VM autostart)");
        return PlanWalker.Begin(run, PlanDirection.PowerOn, options, now);
    }

    /// <summary>The maintenance exits ended: a VM whose host is not back is not powered on (listed as not restored).</summary>
    internal static void NotRestored(PowerRun run, DateTimeOffset now)
    {
        var restore = run.Restore;
        foreach (var vm in restore.AllVms.Where(v => v.Status == StepStatus.Pending && HostOf(restore, v) is { Ready: false }))
        {
            vm.Status = StepStatus.Skipped;
            vm.Outcome = RunOutcome.NotRestored;
            vm.Detail = $"its host {vm.Host} is not back: {HostOf(restore, vm)!.Detail}".TrimEnd(' ', ':');
            run.Record(now, VmPowerOnStep, vm.Name, RunOutcome.NotRestored, vm.Detail);
        }
    }

    /// <summary>
    /// vCenter's start through its host's ESXi API. vCenter unreachable before is expected. Where the VM was found on another
    /// host (it moved since the plan), the run follows it. False: not news.
    /// </summary>
    public static bool RecordVCenterStarted(PowerRun run, VCenterStarted m, int retries, DateTimeOffset now)
    {
        var restore = run.Restore;
        if (restore.VCenterStart is not { } step)
            return false;
        var detail = m.Fault is null ? $"started on {m.StartedOn ?? m.Host}; vCenter sees {m.HostsConnected.Count} host(s) connected" : StageEngine.Detail(m.Fault);
        if (!StageEngine.Record(run, VCenterStartStep, step, m.StartedOn ?? m.Host, ClusterStep.Access, m.Outcome != StepOutcome.Failed, RunOutcomes.Of(m.Outcome), detail,
                run.Phase == RunPhase.VCenterStart, retries, now, st => st.Detail = detail))
            return false;
        step.Outcome = RunOutcomes.Of(m.Outcome);
        step.Detail = detail;
        if (m.StartedOn is { } on && !string.Equals(on, restore.VCenterHost, StringComparison.OrdinalIgnoreCase))
        {
            run.Record(now, VCenterStartStep, m.VmName, RunOutcome.Moved, $"vCenter's VM was found on {on}, not on {restore.VCenterHost}: followed");
            restore.VCenterHost = on;
        }
        return true;
    }

    /// <summary>HA/DRS or vCLS put back. False: not news.</summary>
    public static bool RecordClusterRestore(PowerRun run, string kind, StepOutcome outcome, string detail, VCenterFault? fault, int retries, DateTimeOffset now)
    {
        if (run.Restore.ClusterSteps.FirstOrDefault(st => st.Kind == kind) is not { } step)
            return false;
        var shown = fault is null ? detail : StageEngine.Detail(fault);
        if (!StageEngine.Record(run, kind, step, run.Cluster, ClusterStep.Access, outcome != StepOutcome.Failed, RunOutcomes.Of(outcome), shown,
                run.Phase == RunPhase.ClusterRestore, retries, now, st => st.Detail = shown))
            return false;
        step.Outcome = RunOutcomes.Of(outcome);
        step.Detail = shown;
        return true;
    }

    /// <summary>A BMC's answer. Wake-on-LAN counts as done: vCenter seeing the host connected is the proof. False: not news.</summary>
    public static bool RecordHostPowerOn(PowerRun run, HostPowerOnCompleted outcome, int retries, DateTimeOffset now) =>
        FindHost(run.Restore, outcome.Host) is { } host
        && StageEngine.Record(run, HostPowerOnStep, host, host.Name, HostSteps.PowerOn, outcome.Outcome != PowerOnOutcome.Failed, RunOutcomes.Of(outcome.Outcome),
            $"{outcome.Method}: {outcome.Reason}".TrimEnd(' ', ':'), run.Phase == RunPhase.HostPowerOn, retries, now, h => h.Detail = $"not powered on: {outcome.Reason}");

    /// <summary>
    /// An <c>AlreadyOn</c> answer (just recorded) for a host this run powered off: someone switched it on since, and only
    /// this run asked — the fact is "powered on by this run", whatever the repeated request found.
    /// </summary>
    public static bool PoweredOnByThisRun(PowerRun run, HostPowerOnCompleted outcome) =>
        outcome.Outcome == PowerOnOutcome.AlreadyOn
        && FindHost(run.Restore, outcome.Host) is { PowerOn: StepStatus.Done }
        && run.Hosts.Any(h => h.Shutdown == StepStatus.Done && string.Equals(h.Name, outcome.Host, StringComparison.OrdinalIgnoreCase));

    /// <summary>A reconnect poll's answer: hosts vCenter sees connected and powered on are back. True while the poll matters.</summary>
    public static bool RecordInventory(PowerRun run, ClusterInventoryCaptured inventory, DateTimeOffset now)
    {
        if (run.Phase != RunPhase.HostReconnect)
            return false;
        // vCenter's VM may have moved (HA restarted it elsewhere, an operator): a later start follows the inventory.
        if (inventory.VCenterHost is { } vcenterHost && run.Restore.VCenterHost is { } planned
            && !string.Equals(vcenterHost, planned, StringComparison.OrdinalIgnoreCase))
        {
            run.Record(now, VCenterStartStep, inventory.VCenterVm ?? "", RunOutcome.Moved, $"vCenter's VM runs on {vcenterHost}, planned on {planned}: followed");
            run.Restore.VCenterHost = vcenterHost;
        }
        foreach (var host in run.Restore.Hosts.Where(AwaitingConnection))
        {
            var seen = inventory.Hosts.FirstOrDefault(h => string.Equals(h.Name, host.Name, StringComparison.OrdinalIgnoreCase));
            if (seen is null
                || !string.Equals(seen.ConnectionState, "connected", StringComparison.OrdinalIgnoreCase)
                || !string.Equals(seen.PowerState, "poweredOn", StringComparison.OrdinalIgnoreCase))
                continue;
            host.Connected = true;
            if (host.PowerOn == StepStatus.Late)
                host.PowerOn = StepStatus.Done;
            run.Record(now, ReconnectStep, host.Name, RunOutcome.Connected, $"poll {run.Restore.InventoryPolls}{(seen.InMaintenanceMode ? ", in maintenance mode" : "")}");
        }
        return true;
    }

    public static bool RecordExitMaintenance(PowerRun run, HostExitedMaintenance outcome, int retries, DateTimeOffset now)
    {
        var detail = StageEngine.Detail(outcome.Fault);
        return FindHost(run.Restore, outcome.Host) is { } host
            && StageEngine.Record(run, ExitMaintenanceStep, host, host.Name, HostSteps.ExitMaintenance, outcome.Outcome != StepOutcome.Failed,
                RunOutcomes.Of(outcome.Outcome), detail, run.Phase == RunPhase.ExitMaintenance, retries, now, h => h.Detail = $"still in maintenance mode: {detail}");
    }

    /// <summary>Records a VM's power-on outcome (<see cref="StageEngine"/>). False: not news.</summary>
    public static bool RecordVm(PowerRun run, VmPoweredOn outcome, int retries, DateTimeOffset now)
    {
        var restore = run.Restore;
        var vm = restore.AllVms.FirstOrDefault(v => v.Id == outcome.VmId);
        if (vm is null)
            return false;
        var inCurrentTier = run.Phase == RunPhase.VmPowerOn && restore.CurrentTier < restore.Tiers.Count && restore.Tiers[restore.CurrentTier].Vms.Contains(vm);
        return StageEngine.Record(run, VmPowerOnStep, vm, outcome.Outcome != StepOutcome.Failed, RunOutcomes.Of(outcome.Outcome), StageEngine.Detail(outcome.Fault),
            inCurrentTier, retries, now);
    }

    /// <summary>
    /// The alarm came back during the power-on: no further power-on step is sent. True: the shutdown may start now on a
    /// fresh inventory. False: hosts already told to power on are not yet seen in vCenter — a fresh inventory would miss
    /// them and they would come up after the shutdown passed; the run drains (waits for them, asking nothing else) and
    /// the walker says <see cref="Asks.ShutDownAgain"/> when they are up or their deadline passed.
    /// </summary>
    public static bool Interrupt(PowerRun run, Guid alarmId, DateTimeOffset raisedAt, DateTimeOffset now)
    {
        var restore = run.Restore;
        if (restore.Draining)
        {
            run.Record(now, RestoreStep, run.Cluster, RunOutcome.Draining, $"alarm {alarmId}: still waiting for hosts already told to power on");
            return false;
        }

        var booting = restore.Hosts.Where(h => h.PowerOn == StepStatus.Requested || AwaitingConnection(h)).ToList();
        if (run.Phase is RunPhase.HostPowerOn or RunPhase.VCenterStart or RunPhase.HostReconnect && booting.Count > 0)
        {
            restore.Draining = true;
            restore.DrainAlarmId = alarmId;
            restore.DrainAlarmRaisedAt = raisedAt;
            foreach (var host in restore.Hosts.Where(h => h.PowerOn == StepStatus.Pending))
            {
                host.PowerOn = StepStatus.Skipped;
                host.Detail = "not powered on: the alarm came back";
                run.Record(now, HostPowerOnStep, host.Name, RunOutcome.Skipped, "the alarm came back before its turn");
            }
            run.Record(now, RestoreStep, run.Cluster, RunOutcome.Draining,
                $"alarm raised again during the power-on; nothing more is asked. Waiting for {string.Join(", ", booting.Select(h => h.Name))} " +
                "(already told to power on) to come up, then the shutdown runs again");
            return false;
        }

        EndInterrupted(run, now);
        return true;
    }

    internal static void EndInterrupted(PowerRun run, DateTimeOffset now)
    {
        run.Restore.Interrupted = true;
        run.Restore.Draining = false;
        run.Restore.CompletedAt = now;
        run.Phase = null;
        StageEngine.Enter(run, null);
        run.Record(now, RestoreStep, run.Cluster, RunOutcome.Interrupted,
            $"alarm raised again during the power-on; no further power-on step, the shutdown runs again on a fresh inventory. Not restored: {string.Join("; ", Failures(run))}");
    }

    /// <summary>Every host or VM not brought back, one line each.</summary>
    public static IReadOnlyList<string> Failures(PowerRun run) =>
    [
        .. run.Restore.Hosts.Where(h => !h.Ready).Select(h => $"host {h.Name}: {(h.Detail.Length > 0 ? h.Detail : "not restored")}"),
        .. run.Restore.AllVms.Where(v => v.Status != StepStatus.Done)
            .Select(v => $"{VmPowerOnStep} {v.Name}: {(v.Status == StepStatus.Late ? "no outcome" : v.Status is StepStatus.Pending or StepStatus.Requested ? "not powered on" : v.Outcome.Text())} {v.Detail}".TrimEnd()),
        .. new[] { run.Restore.VCenterStart, run.Restore.VsanClusterPowerOn }.Concat(run.Restore.ClusterSteps).OfType<ClusterStep>().Where(st => st.Status is StepStatus.Failed or StepStatus.Late)
            .Select(st => $"{st.Kind} {run.Cluster}: {(st.Status == StepStatus.Late ? "no outcome" : st.Outcome.Text())} {st.Detail}".TrimEnd()),
        .. run.Restore.ClusterSteps.Where(st => st.Status is StepStatus.Pending or StepStatus.Requested)
            .Select(st => $"{st.Kind} {run.Cluster}: not put back"),
    ];

    static bool AwaitingConnection(RestoreHost host) => !host.Connected && host.PowerOn is StepStatus.Done or StepStatus.Late;

    static RestoreHost? FindHost(RestoreRun restore, string name) =>
        restore.Hosts.FirstOrDefault(h => string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The VM's host among those being restored; null when the VM's host is unknown or was not part of the power-on.</summary>
    static RestoreHost? HostOf(RestoreRun restore, RestoreVm vm) => vm.Host.Length == 0 ? null : FindHost(restore, vm.Host);

    /// <summary>The next time the watchdog must call; a new step number so a stale deadline message is ignored.</summary>
    static void Wake(PowerRun run, DateTimeOffset at)
    {
        if (run.Deadline != at)
            StageEngine.Enter(run, at);
    }

    internal static void Finish(PowerRun run, DateTimeOffset now)
    {
        run.Restore.CompletedAt = now;
        StageEngine.End(run, RestoreStep, () => Failures(run), now);
    }
}
