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
        restore.NextHostPowerOnAt = now;
        restore.PhaseDeadline = now + options.PowerOnStagger * Math.Max(0, restore.Hosts.Count - 1) + options.HostPowerOnDeadline;
        restore.DueAt = null;
        run.Phase = RunPhase.HostPowerOn;
        run.Record(now, PowerOnStep, run.Cluster, RunOutcome.Started,
            $"{restore.Hosts.Count} host(s); {restore.AllVms.Count()} VM(s) in {restore.Tiers.Count} tier(s): {string.Join(", ", restore.Tiers.Select(t => $"{t.Name}={t.Vms.Count}"))}");
        foreach (var vcenter in restore.AllVms.Where(v => v.IsVCenter))
            run.Record(now, PowerOnStep, vcenter.Name, RunOutcome.VCenterVmOnCluster, restore.VCenterStart is not null
                ? $"vCenter's own VM is started through {restore.VCenterHost}'s own ESXi API once the hosts are on (never relying on autostart)"
                : "vCenter's own VM goes first; until it runs the reconnect poll gets no inventory (its host must start it, e.g. ESXi VM autostart)");
        return Advance(run, options, now);
    }

    /// <summary>Moves the power-on as far as it can go now and returns what to ask for.</summary>
    public static Asks Advance(PowerRun run, ClusterOptions options, DateTimeOffset now)
    {
        var restore = run.Restore;
        var powerOns = new List<RestoreHost>();
        var readInventory = false;
        var exits = new List<RestoreHost>();
        var vms = new List<RestoreVm>();
        var clusterSteps = new List<ClusterStep>();
        Asks Result() => new() { PowerOns = powerOns, ReadInventory = readInventory, ExitMaintenance = exits, VmPowerOns = vms, ClusterSteps = clusterSteps };

        while (true)
        {
            switch (run.Phase)
            {
                case RunPhase.HostPowerOn:
                    var pending = restore.Hosts.Where(h => h.PowerOn == StepStatus.Pending).ToList();
                    if (pending.Count > 0 && restore.NextHostPowerOnAt <= now)
                    {
                        powerOns.AddRange(StageEngine.ClaimAll(run, HostPowerOnStep, options.PowerOnStagger == TimeSpan.Zero ? pending : pending.Take(1),
                            h => h.Name, HostSteps.PowerOn, now));
                        restore.NextHostPowerOnAt = now + options.PowerOnStagger;
                    }
                    if (restore.Hosts.Any(h => h.PowerOn is StepStatus.Pending or StepStatus.Requested))
                    {
                        var next = restore.Hosts.Any(h => h.PowerOn == StepStatus.Pending) && restore.NextHostPowerOnAt < restore.PhaseDeadline
                            ? restore.NextHostPowerOnAt!.Value : restore.PhaseDeadline!.Value;
                        Wake(run, next);
                        return Result();
                    }

                    restore.NextHostPowerOnAt = null;
                    if (restore.VCenterStart is { Status: StepStatus.Pending })
                    {
                        // vCenter's VM is on the cluster: nothing answers the polls until its host's own API starts it.
                        run.Phase = RunPhase.VCenterStart;
                        restore.PhaseDeadline = now + options.VCenterStartDeadline;
                        continue;
                    }
                    EnterReconnect(run, options, now);
                    continue;

                case RunPhase.VCenterStart:
                    clusterSteps.AddRange(StageEngine.ClaimAll(run, VCenterStartStep, restore.VCenterStart is { } start ? [start] : Array.Empty<ClusterStep>(),
                        _ => restore.VCenterHost ?? run.Cluster, ClusterStep.Access, now));
                    if (restore.VCenterStart is { Status: StepStatus.Requested })
                    {
                        Wake(run, restore.PhaseDeadline!.Value);
                        return Result();
                    }
                    // Started or not, the polls say when vCenter sees the hosts (a failed start is listed; the deadline still holds).
                    EnterReconnect(run, options, now);
                    continue;

                case RunPhase.HostReconnect:
                    if (restore.Hosts.Any(AwaitingConnection))
                    {
                        // Poll now unless this very call already asked; the next poll is the next wake-up.
                        if (!readInventory)
                        {
                            readInventory = true;
                            restore.InventoryPolls++;
                            if (restore.InventoryPolls == 1)
                                run.Record(now, ReconnectStep, run.Cluster, RunOutcome.Polling, $"every {options.ReconnectPollInterval} until {restore.PhaseDeadline:O}");
                        }
                        var poll = now + options.ReconnectPollInterval;
                        Wake(run, poll < restore.PhaseDeadline ? poll : restore.PhaseDeadline!.Value);
                        return Result();
                    }

                    if (restore.Draining)
                    {
                        // Every host told to power on is up (or given up on): now the shutdown can see it.
                        EndInterrupted(run, now);
                        return Result() with { ShutDownAgain = true };
                    }

                    run.Phase = RunPhase.ExitMaintenance;
                    restore.PhaseDeadline = now + options.ExitMaintenanceDeadline;
                    foreach (var host in restore.Hosts)
                    {
                        if (!host.Connected)
                        {
                            host.ExitMaintenance = StepStatus.Skipped;
                        }
                        else if (host.WasInMaintenance)
                        {
                            host.ExitMaintenance = StepStatus.Skipped;
                            run.Record(now, ExitMaintenanceStep, host.Name, RunOutcome.Skipped, "it was in maintenance mode before the shutdown: left in it");
                        }
                        else
                        {
                            host.ExitMaintenance = StepStatus.Pending;
                        }
                    }
                    continue;

                case RunPhase.ExitMaintenance:
                    if (VsanClusterPowerSteps.PoweringOn(run, options, now, clusterSteps))
                    {
                        Wake(run, restore.PhaseDeadline!.Value);
                        return Result();
                    }
                    exits.AddRange(StageEngine.ClaimAll(run, ExitMaintenanceStep, restore.Hosts, h => h.Name, HostSteps.ExitMaintenance, now));
                    if (restore.Hosts.Any(h => h.ExitMaintenance == StepStatus.Requested))
                    {
                        Wake(run, restore.PhaseDeadline!.Value);
                        return Result();
                    }

                    run.Phase = RunPhase.VmPowerOn;
                    restore.CurrentTier = 0;
                    foreach (var vm in restore.AllVms.Where(v => v.Status == StepStatus.Pending && HostOf(restore, v) is { Ready: false }))
                    {
                        vm.Status = StepStatus.Skipped;
                        vm.Outcome = RunOutcome.NotRestored;
                        vm.Detail = $"its host {vm.Host} is not back: {HostOf(restore, vm)!.Detail}".TrimEnd(' ', ':');
                        run.Record(now, VmPowerOnStep, vm.Name, RunOutcome.NotRestored, vm.Detail);
                    }
                    restore.PhaseDeadline = now + options.PowerOnTierDeadline;
                    continue;

                case RunPhase.VmPowerOn:
                    if (restore.CurrentTier < restore.Tiers.Count)
                    {
                        var tier = restore.Tiers[restore.CurrentTier];
                        if (tier.Vms.Any(v => StageEngine.Open(v.Status)))
                        {
                            vms.AddRange(StageEngine.Claim(run, VmPowerOnStep, tier.Name, tier.Vms, options.MaxParallelPerTier, now));
                            Wake(run, restore.PhaseDeadline!.Value);
                            return Result();
                        }

                        restore.CurrentTier++;
                        restore.PhaseDeadline = now + options.PowerOnTierDeadline;
                        continue;
                    }

                    if (restore.ClusterSteps.Any(st => st.Status == StepStatus.Pending))
                    {
                        run.Phase = RunPhase.ClusterRestore;
                        restore.PhaseDeadline = now + options.ClusterStepDeadline;
                        continue;
                    }
                    Finish(run, now);
                    return Result();

                case RunPhase.ClusterRestore:
                    foreach (var step in restore.ClusterSteps)
                        clusterSteps.AddRange(StageEngine.ClaimAll(run, step.Kind, [step], _ => run.Cluster, ClusterStep.Access, now));
                    if (restore.ClusterSteps.Any(st => st.Status == StepStatus.Requested))
                    {
                        Wake(run, restore.PhaseDeadline!.Value);
                        return Result();
                    }
                    Finish(run, now);
                    return Result();

                default:
                    return Result();
            }
        }
    }

    static void EnterReconnect(PowerRun run, ClusterOptions options, DateTimeOffset now)
    {
        run.Phase = RunPhase.HostReconnect;
        run.Restore.PhaseDeadline = now + options.HostReconnectDeadline;
        run.Restore.InventoryPolls = 0;
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
    /// A wake-up or the phase's deadline. Before the deadline (a stagger or poll wake-up) the run only moves on; at it,
    /// outstanding steps become Late (a later outcome is still recorded) and the next phase starts.
    /// </summary>
    public static Asks DeadlinePassed(PowerRun run, ClusterOptions options, DateTimeOffset now)
    {
        var restore = run.Restore;
        if (restore.PhaseDeadline is { } deadline && now >= deadline)
        {
            switch (run.Phase)
            {
                case RunPhase.HostPowerOn:
                    StageEngine.MarkLate(run, HostPowerOnStep, restore.Hosts, h => h.Name, HostSteps.PowerOn,
                        h => h.Detail = "not powered on: no answer from its BMC by the deadline", "no answer from the BMC actuator by the deadline", now);
                    break;
                case RunPhase.HostReconnect:
                    foreach (var host in restore.Hosts.Where(AwaitingConnection))
                    {
                        host.Detail = "not connected in vCenter by the deadline";
                        host.PowerOn = StepStatus.Failed; // given up on: no longer awaited
                        run.Record(now, ReconnectStep, host.Name, RunOutcome.Late, host.Detail);
                    }
                    break;
                case RunPhase.VCenterStart when restore.VCenterStart is { } start:
                    StageEngine.MarkLate(run, VCenterStartStep, [start], _ => restore.VCenterHost ?? run.Cluster, ClusterStep.Access,
                        st => st.Detail = "vCenter did not answer by the deadline", "no outcome by the deadline", now);
                    break;
                case RunPhase.ClusterRestore:
                    foreach (var step in restore.ClusterSteps.Where(st => StageEngine.Open(st.Status)).ToList())
                        StageEngine.MarkLate(run, step.Kind, [step], _ => run.Cluster, ClusterStep.Access, st => st.Detail = "no outcome by the deadline",
                            "no outcome by the deadline", now);
                    break;
                case RunPhase.ExitMaintenance when restore.VsanClusterPowerOn is { Status: StepStatus.Requested }:
                    // vSAN's power-on gave no answer: the per-host exits get their own deadline now.
                    VsanClusterPowerSteps.PowerOnLate(run, now);
                    restore.PhaseDeadline = now + options.ExitMaintenanceDeadline;
                    break;
                case RunPhase.ExitMaintenance:
                    StageEngine.MarkLate(run, ExitMaintenanceStep, restore.Hosts, h => h.Name, HostSteps.ExitMaintenance,
                        h => h.Detail = "still in maintenance mode: no outcome by the deadline", "no outcome by the deadline", now);
                    break;
                case RunPhase.VmPowerOn when restore.CurrentTier < restore.Tiers.Count:
                    var tier = restore.Tiers[restore.CurrentTier];
                    foreach (var vm in tier.Vms.Where(v => v.Status is StepStatus.Pending or StepStatus.Requested))
                    {
                        vm.Status = StepStatus.Late;
                        run.Record(now, VmPowerOnStep, vm.Name, RunOutcome.Late, $"no outcome by the deadline of tier {tier.Name}");
                    }
                    break;
            }
        }
        return Advance(run, options, now);
    }

    /// <summary>
    /// After a restart: the steps of the current phase that were asked and have no outcome yet (their commands may have
    /// been lost between the save and the publish), and a reconnect poll when waiting for hosts. All are safe to repeat.
    /// </summary>
    public static Asks Outstanding(PowerRun run, DateTimeOffset now)
    {
        var restore = run.Restore;
        var progress = run.Phase switch
        {
            RunPhase.HostPowerOn => Asks.None with { PowerOns = restore.Hosts.Where(h => h.PowerOn == StepStatus.Requested).ToList() },
            RunPhase.HostReconnect => Asks.None with { ReadInventory = true },
            RunPhase.VCenterStart => Asks.None with { ClusterSteps = restore.VCenterStart is { Status: StepStatus.Requested } st ? [st] : [] },
            RunPhase.ClusterRestore => Asks.None with { ClusterSteps = restore.ClusterSteps.Where(st => st.Status == StepStatus.Requested).ToList() },
            RunPhase.ExitMaintenance => Asks.None with
            {
                ExitMaintenance = restore.Hosts.Where(h => h.ExitMaintenance == StepStatus.Requested).ToList(),
                ClusterSteps = [.. VsanClusterPowerSteps.Outstanding(run)],
            },
            RunPhase.VmPowerOn when restore.CurrentTier < restore.Tiers.Count => Asks.None with
            {
                VmPowerOns = restore.Tiers[restore.CurrentTier].Vms.Where(v => v.Status == StepStatus.Requested).ToList(),
            },
            _ => Asks.None,
        };
        var count = progress.PowerOns.Count + progress.ExitMaintenance.Count + progress.VmPowerOns.Count + progress.ClusterSteps.Count + (progress.ReadInventory ? 1 : 0);
        if (count > 0)
            run.Record(now, "resume", run.Cluster, RunOutcome.Resumed, $"evaluator restarted: asking again for {count} outstanding power-on step(s)");
        return progress;
    }

    /// <summary>
    /// The alarm came back during the power-on: no further power-on step is sent. True: the shutdown may start now on a
    /// fresh inventory. False: hosts already told to power on are not yet seen in vCenter — a fresh inventory would miss
    /// them and they would come up after the shutdown passed; the run drains (waits for them, asking nothing else) and
    /// <see cref="Advance"/> says <see cref="Asks.ShutDownAgain"/> when they are up or their deadline passed.
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

    static void EndInterrupted(PowerRun run, DateTimeOffset now)
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

    static void Finish(PowerRun run, DateTimeOffset now)
    {
        run.Restore.CompletedAt = now;
        StageEngine.End(run, RestoreStep, () => Failures(run), now);
    }
}
