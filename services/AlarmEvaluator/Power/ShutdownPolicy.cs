using PowerEvents.Contracts;

namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>
/// The shutdown's decisions as pure functions over <see cref="PowerRun"/>: what to ask next within the parallel
/// bound, what an outcome or a passed deadline means, when the run is done and what failed. No bus, no clock of its own.
/// </summary>
public static class ShutdownPolicy
{
    public const string VmStep = "vm-shutdown";
    public const string MaintenanceStep = "host-maintenance";
    public const string HostShutdownStep = "host-shutdown";
    public const string InventoryStep = "inventory";
    public const string EsxiHostShutdownStep = "esxi-host-shutdown";

    /// <summary>Starts the first step of a freshly planned run (a drill completes at once, touching nothing).</summary>
    public static Asks Start(PowerRun run, ClusterOptions options, DateTimeOffset now)
    {
        run.Phase = RunPhase.VmTiers;
        run.CurrentTier = 0;
        run.Record(now, "plan", run.Cluster, RunOutcome.Planned,
            $"{run.Tiers.Count} tier(s): {string.Join(", ", run.Tiers.Select(t => $"{t.Name}={t.Vms.Count}"))}; " +
            $"{run.Hosts.Count(h => h.WasPoweredOn)} host(s) on; {run.AlreadyOff.Count} VM(s) already off");
        foreach (var vcenter in run.AllVms.Where(v => v.IsVCenter))
            run.Record(now, "plan", vcenter.Name, RunOutcome.VCenterVmOnCluster, VsanClusterPowerSteps.VCenterPlanNote(run) ?? (run.VCenterHost is { } esxi
                ? $"vCenter's own VM runs on {esxi}: the other hosts go off through vCenter first, then vCenter's VM, then {esxi} through its own ESXi API"
                : $"vCenter's own VM runs on {vcenter.Host}; it goes last, after it the host steps cannot reach vCenter (the inventory did not name its host)"));
        if (run.VsanPowerPath is { } path)
            run.Record(now, "plan", run.Cluster, RunOutcome.Planned, path);
        foreach (var step in run.ClusterSteps)
            run.Record(now, "plan", run.Cluster, RunOutcome.ClusterChange, Describe(step.Kind, run.Settings));

        if (run.DryRun)
        {
            WalkDryRun(run, options, now);
            return Asks.None;
        }

        if (run.Tiers.Count > 0)
            StageEngine.Enter(run, now + options.TierDeadline);
        return Advance(run, options, now);
    }

    /// <summary>Moves the run as far as it can go now and returns what to ask for.</summary>
    public static Asks Advance(PowerRun run, ClusterOptions options, DateTimeOffset now)
    {
        var vms = new List<VmRun>();
        var maintenance = new List<HostRun>();
        var shutdowns = new List<HostRun>();
        var clusterSteps = new List<ClusterStep>();
        var esxi = new List<HostRun>();
        Asks Result() => new() { VmShutdowns = vms, Maintenance = maintenance, HostShutdowns = shutdowns, ClusterSteps = clusterSteps, EsxiShutdowns = esxi };

        while (true)
        {
            switch (run.Phase)
            {
                case RunPhase.VmTiers:
                    var end = TierEnd(run);
                    if (run.CurrentTier < end)
                    {
                        var tier = run.Tiers[run.CurrentTier];
                        if (tier.Vms.Any(v => StageEngine.Open(v.Status)))
                        {
                            vms.AddRange(StageEngine.Claim(run, VmStep, tier.Name, tier.Vms, options.MaxParallelPerTier, now));
                            return Result();
                        }

                        run.CurrentTier++;
                        if (run.CurrentTier < end)
                            StageEngine.Enter(run, now + options.TierDeadline);
                        continue;
                    }

                    if (!run.VCenterTurn)
                    {
                        run.Phase = RunPhase.ClusterPrepare;
                        continue;
                    }

                    // vCenter's VM is off: its host is finished through its own ESXi API (vCenter cannot do it any more).
                    run.Phase = RunPhase.VCenterHostShutdown;
                    foreach (var host in run.Hosts.Where(h => h.ViaEsxi))
                        host.Shutdown = host.WasPoweredOn ? StepStatus.Pending : StepStatus.Skipped;
                    StageEngine.Enter(run, now + options.EsxiHostShutdownDeadline);
                    continue;

                case RunPhase.ClusterPrepare:
                    if (run.ClusterSteps.Any(st => StageEngine.Open(st.Status)))
                    {
                        var stage = run.ClusterSteps.Where(st => StageEngine.Open(st.Status)).Min(st => st.Stage);
                        var steps = run.ClusterSteps.Where(st => st.Stage == stage).ToList();
                        // A stage's first ask starts its deadline (vSAN's resync check gets its own after vCLS and HA/DRS).
                        if (!steps.Any(st => st.Status == StepStatus.Requested))
                            StageEngine.Enter(run, now + VsanClusterPowerSteps.StageDeadline(steps, options));
                        foreach (var step in steps)
                            clusterSteps.AddRange(StageEngine.ClaimAll(run, step.Kind, [step], _ => run.Cluster, ClusterStep.Access, now));
                        return Result();
                    }

                    // vSAN's cluster power API took every host and vCenter's VM down: no per-host steps.
                    if (VsanClusterPowerSteps.PoweredOff(run, now))
                        continue;

                    run.Phase = RunPhase.Maintenance;
                    foreach (var host in run.Hosts)
                    {
                        host.Maintenance = host.WasPoweredOn && !host.ViaEsxi ? StepStatus.Pending : StepStatus.Skipped;
                        if (!host.WasPoweredOn)
                            run.Record(now, MaintenanceStep, host.Name, RunOutcome.Skipped, "host was not powered on");
                        else if (host.ViaEsxi)
                            run.Record(now, MaintenanceStep, host.Name, RunOutcome.Deferred, "runs vCenter's VM: finished through its own ESXi API after that VM is off");
                    }
                    StageEngine.Enter(run, now + options.MaintenanceDeadline);
                    continue;

                case RunPhase.Maintenance:
                    maintenance.AddRange(StageEngine.ClaimAll(run, MaintenanceStep, run.Hosts, h => h.Name, HostSteps.Maintenance, now));
                    if (run.Hosts.Any(h => h.Maintenance == StepStatus.Requested))
                        return Result();

                    run.Phase = RunPhase.HostShutdown;
                    foreach (var host in run.Hosts)
                    {
                        switch (host.Maintenance)
                        {
                            case StepStatus.Done:
                                host.Shutdown = StepStatus.Pending;
                                break;
                            case StepStatus.Skipped:
                                host.Shutdown = StepStatus.Skipped;
                                break;
                            default:
                                // vCenter refuses to shut down a host outside maintenance mode, and forcing it would kill running VMs.
                                host.Shutdown = StepStatus.Failed;
                                host.Detail = $"{host.Detail}; not powered off: the host did not enter maintenance mode".TrimStart(';', ' ');
                                run.Record(now, HostShutdownStep, host.Name, RunOutcome.NotAttempted, "the host did not enter maintenance mode");
                                break;
                        }
                    }
                    StageEngine.Enter(run, now + options.HostShutdownDeadline);
                    continue;

                case RunPhase.HostShutdown:
                    shutdowns.AddRange(StageEngine.ClaimAll(run, HostShutdownStep, run.Hosts, h => h.Name, HostSteps.Shutdown, now));
                    if (run.Hosts.Any(h => h.Shutdown == StepStatus.Requested))
                        return Result();

                    // The hosts vCenter can finish are off: now vCenter's own tier (when it runs here), then its host.
                    run.VCenterTurn = true;
                    run.Phase = RunPhase.VmTiers;
                    if (run.CurrentTier < run.Tiers.Count)
                        StageEngine.Enter(run, now + options.TierDeadline);
                    continue;

                case RunPhase.VCenterHostShutdown:
                    esxi.AddRange(StageEngine.ClaimAll(run, EsxiHostShutdownStep, run.Hosts.Where(h => h.ViaEsxi), h => h.Name, HostSteps.Shutdown, now));
                    if (run.Hosts.Any(h => h.ViaEsxi && h.Shutdown == StepStatus.Requested))
                        return Result();

                    Finish(run, options, now);
                    return Result();

                default:
                    return Result();
            }
        }
    }

    /// <summary>Records a VM's outcome (<see cref="StageEngine"/>: a failure in the current tier is asked again while retries last). False: not news.</summary>
    public static bool RecordVm(PowerRun run, VmShutDown outcome, int retries, DateTimeOffset now)
    {
        var vm = run.AllVms.FirstOrDefault(v => v.Id == outcome.VmId);
        if (vm is null)
            return false;
        var (succeeded, detail) = Judge(vm.IsVCenter, outcome.Outcome, outcome.Fault);
        var inCurrentTier = run.Phase == RunPhase.VmTiers && run.CurrentTier < run.Tiers.Count && run.Tiers[run.CurrentTier].Vms.Contains(vm);
        return StageEngine.Record(run, VmStep, vm, succeeded, RunOutcomes.Of(outcome.Outcome), detail, inCurrentTier, retries, now);
    }

    /// <summary>
    /// Whether a VM shutdown's outcome means the VM is off, and its history detail. The actuator loses the API with
    /// vCenter's VM: for that VM, "ShutdownGuest was accepted" (<c>Unreachable</c>) is its expected end (docs/vcenter.md).
    /// </summary>
    public static (bool Succeeded, string Detail) Judge(bool isVCenter, VmShutdownOutcome outcome, VCenterFault? fault)
    {
        var detail = StageEngine.Detail(fault);
        if (outcome != VmShutdownOutcome.Failed)
            return (true, detail);
        if (isVCenter && fault is { Name: "Unreachable" } && fault.Message.StartsWith("ShutdownGuest was accepted", StringComparison.Ordinal))
            return (true, "vCenter went down with its VM (expected): " + detail);
        return (false, detail);
    }

    public static bool RecordMaintenance(PowerRun run, HostEnteredMaintenance outcome, int retries, DateTimeOffset now) =>
        RecordHostStep(run, outcome.Host, outcome.Outcome, outcome.Fault, retries, now, MaintenanceStep, RunPhase.Maintenance, HostSteps.Maintenance);

    public static bool RecordHostShutdown(PowerRun run, HostPoweredOff outcome, int retries, DateTimeOffset now) =>
        RecordHostStep(run, outcome.Host, outcome.Outcome, outcome.Fault, retries, now, HostShutdownStep, RunPhase.HostShutdown, HostSteps.Shutdown);

    static bool RecordHostStep(PowerRun run, string hostName, StepOutcome outcome, VCenterFault? fault, int retries, DateTimeOffset now,
        string step, RunPhase phase, StepAccess<HostRun> access)
    {
        var host = run.Hosts.FirstOrDefault(h => string.Equals(h.Name, hostName, StringComparison.OrdinalIgnoreCase));
        var detail = StageEngine.Detail(fault);
        return host is not null && StageEngine.Record(run, step, host, host.Name, access, outcome != StepOutcome.Failed, RunOutcomes.Of(outcome), detail,
            run.Phase == phase, retries, now, h => h.Detail = $"{step}: {detail}");
    }

    /// <summary>
    /// The current step's deadline passed. Outstanding steps become Late (their outcomes are still recorded when they
    /// come); VMs of the tier still silent or not asked yet are powered off hard at once; the run moves on.
    /// </summary>
    public static Asks DeadlinePassed(PowerRun run, ClusterOptions options, DateTimeOffset now)
    {
        var hardOff = new List<VmRun>();
        switch (run.Phase)
        {
            case RunPhase.VmTiers when run.CurrentTier < run.Tiers.Count:
                var tier = run.Tiers[run.CurrentTier];
                // Asked but silent by the deadline: the policy is a hard power-off (the actuator's step is idempotent,
                // so a guest shutdown still in progress is not harmed, and a lost request is made good).
                foreach (var vm in tier.Vms.Where(v => v.IsVCenter && StageEngine.Open(v.Status) && !options.VCenterHardPowerOff))
                {
                    vm.Status = StepStatus.Late;
                    run.Record(now, VmStep, vm.Name, RunOutcome.Late, $"no outcome by the deadline of tier {tier.Name}; vCenter's VM is not powered off hard (VCenterHardPowerOff is off)");
                }
                foreach (var vm in tier.Vms.Where(v => v.Status == StepStatus.Requested))
                {
                    vm.Status = StepStatus.Late;
                    vm.HardPowerOff = true;
                    run.Record(now, VmStep, vm.Name, RunOutcome.HardPowerOff, $"no outcome by the deadline of tier {tier.Name}");
                    hardOff.Add(vm);
                }
                foreach (var vm in tier.Vms.Where(v => v.Status == StepStatus.Pending))
                {
                    vm.Status = StepStatus.Late;
                    vm.Attempts++;
                    vm.HardPowerOff = true;
                    run.Record(now, VmStep, vm.Name, RunOutcome.HardPowerOff, $"tier {tier.Name} deadline passed before its turn");
                    hardOff.Add(vm);
                }
                break;
            case RunPhase.ClusterPrepare:
                foreach (var step in run.ClusterSteps.Where(st => StageEngine.Open(st.Status)).ToList())
                    StageEngine.MarkLate(run, step.Kind, [step], _ => run.Cluster, ClusterStep.Access, st => st.Detail = "no outcome by the deadline",
                        "no outcome by the deadline", now);
                break;
            case RunPhase.VCenterHostShutdown:
                StageEngine.MarkLate(run, EsxiHostShutdownStep, run.Hosts.Where(h => h.ViaEsxi), h => h.Name, HostSteps.Shutdown,
                    h => h.Detail = $"{EsxiHostShutdownStep}: no outcome by the deadline", "no outcome by the deadline", now);
                break;
            case RunPhase.Maintenance:
                StageEngine.MarkLate(run, MaintenanceStep, run.Hosts, h => h.Name, HostSteps.Maintenance, h => h.Detail = $"{MaintenanceStep}: no outcome by the deadline",
                    "no outcome by the deadline", now);
                break;
            case RunPhase.HostShutdown:
                StageEngine.MarkLate(run, HostShutdownStep, run.Hosts, h => h.Name, HostSteps.Shutdown, h => h.Detail = $"{HostShutdownStep}: no outcome by the deadline",
                    "no outcome by the deadline", now);
                break;
        }

        var next = Advance(run, options, now);
        return next with { VmShutdowns = [.. hardOff, .. next.VmShutdowns] };
    }

    /// <summary>The end of the tiers the run is at: before vCenter's own tier until the other hosts are off (when its host is known).</summary>
    static int TierEnd(PowerRun run) =>
        !run.VCenterTurn && run.VCenterHost is not null && run.Tiers.Count > 0 && run.Tiers[^1].Name == ShutdownPlanner.VCenterTier
            ? run.Tiers.Count - 1 : run.Tiers.Count;

    /// <summary>A cluster-wide step's outcome (<see cref="StageEngine"/>: asked again while retries last). False: not news.</summary>
    public static bool RecordClusterStep(PowerRun run, string kind, bool succeeded, RunOutcome reported, string detail, int retries, DateTimeOffset now)
    {
        if (run.ClusterSteps.FirstOrDefault(st => st.Kind == kind) is not { } step)
            return false;
        if (!StageEngine.Record(run, kind, step, run.Cluster, ClusterStep.Access, succeeded, reported, detail, run.Phase == RunPhase.ClusterPrepare, retries, now,
                st => st.Detail = detail))
            return false;
        step.Outcome = reported;
        if (step.Status != StepStatus.Failed)
            step.Detail = detail;
        return true;
    }

    public static bool RecordVclsRetreat(PowerRun run, VclsRetreatEntered m, int retries, DateTimeOffset now) =>
        RecordClusterStep(run, ClusterStep.VclsRetreat, m.Outcome != StepOutcome.Failed, RunOutcomes.Of(m.Outcome),
            m.Fault is null ? $"vCLS VMs gone; the setting was {m.PreviousValue ?? "absent"}" : StageEngine.Detail(m.Fault), retries, now);

    public static bool RecordHaDrsDisabled(PowerRun run, ClusterHaDrsDisabled m, int retries, DateTimeOffset now) =>
        RecordClusterStep(run, ClusterStep.HaDrsDisable, m.Outcome != StepOutcome.Failed, RunOutcomes.Of(m.Outcome),
            m.Fault is null ? $"HA off, DRS manual; were {Describe(m.Previous)}" : StageEngine.Detail(m.Fault), retries, now);

    /// <summary>A resync still running at the deadline does not stop the run (the room is overheating): it is reported.</summary>
    public static bool RecordVsanResync(PowerRun run, VsanResyncChecked m, int retries, DateTimeOffset now)
    {
        var detail = m.Outcome switch
        {
            VsanResyncOutcome.StillResyncing => $"vSAN still resyncing at the deadline: {m.ObjectsToSync} object(s), {m.BytesToSync} byte(s), ETA {m.EtaSeconds} s; the hosts go down anyway",
            VsanResyncOutcome.Failed => StageEngine.Detail(m.Fault),
            _ => m.Outcome.ToString(),
        };
        if (!RecordClusterStep(run, ClusterStep.VsanResync, m.Outcome != VsanResyncOutcome.Failed, RunOutcomes.Of(m.Outcome), detail, retries, now))
            return false;
        if (m.Outcome == VsanResyncOutcome.StillResyncing)
            run.Problems.Add($"{ClusterStep.VsanResync} {run.Cluster}: {detail}");
        return true;
    }

    /// <summary>vCenter's host through its ESXi API. <c>AlreadyInState</c>: it did not answer, already down.</summary>
    public static bool RecordEsxiHostShutdown(PowerRun run, EsxiHostPoweredOff m, int retries, DateTimeOffset now)
    {
        var host = run.Hosts.FirstOrDefault(h => h.ViaEsxi && string.Equals(h.Name, m.Host, StringComparison.OrdinalIgnoreCase));
        var detail = m.Fault is null ? (m.EnteredMaintenance ? "maintenance mode entered, then shut down" : "shut down (maintenance mode not entered)") : StageEngine.Detail(m.Fault);
        if (host is null || !StageEngine.Record(run, EsxiHostShutdownStep, host, host.Name, HostSteps.Shutdown, m.Outcome != StepOutcome.Failed, RunOutcomes.Of(m.Outcome),
                detail, run.Phase == RunPhase.VCenterHostShutdown, retries, now, h => h.Detail = $"{EsxiHostShutdownStep}: {detail}"))
            return false;
        if (m.Outcome != StepOutcome.Failed && m.EnteredMaintenance)
            host.Maintenance = StepStatus.Done;
        if (m.FollowedTo is { } other)
            FollowVCenter(run, m, other, now);
        return true;
    }

    /// <summary>
    /// vCenter's VM had moved since the plan to <paramref name="other"/>, which the actuator found through the hosts' own APIs and
    /// finished first (its steps through vCenter had failed with vCenter's VM on it): that host is off too, and the power-on
    /// starts vCenter there.
    /// </summary>
    static void FollowVCenter(PowerRun run, EsxiHostPoweredOff m, string other, DateTimeOffset now)
    {
        run.Record(now, EsxiHostShutdownStep, other, RunOutcome.Moved, $"vCenter's VM {run.VCenterVm} was found on {other}, not on {m.Host} as planned: followed");
        if (m.Outcome == StepOutcome.Failed || run.Hosts.FirstOrDefault(h => string.Equals(h.Name, other, StringComparison.OrdinalIgnoreCase)) is not { } moved)
            return;
        (moved.Maintenance, moved.Shutdown, moved.Detail) = (StepStatus.Done, StepStatus.Done, "");
        run.Record(now, EsxiHostShutdownStep, moved.Name, RunOutcome.Done, "finished through its own ESXi API after vCenter's VM on it was off");
        run.Restore.VCenterHost = moved.Name;
    }

    /// <summary>What a cluster-wide step changes and how it is undone (plan, preview, history).</summary>
    public static string Describe(string kind, ClusterSettings? settings) => kind switch
    {
        ClusterStep.VclsRetreat => $"vCLS retreat mode (config.vcls.clusters.{settings?.ClusterId}.enabled = false, was {settings?.VclsEnabledSetting ?? "absent"}); " +
                                   "put back after the VMs are restored",
        ClusterStep.HaDrsDisable => $"HA off and DRS manual (were {Describe(settings?.HaDrs)}); put back after the VMs are restored",
        ClusterStep.VsanResync => "vSAN: wait for resync to finish (reported if it does not by the deadline); hosts enter maintenance mode with objectAction noAction",
        _ => VsanClusterPowerSteps.Describe(kind) ?? kind,
    };

    public static string Describe(ClusterHaDrsSettings? haDrs) => haDrs is null ? "not read"
        : $"HA {(haDrs.HaEnabled ? "on" : "off")}, admission control {(haDrs.AdmissionControlEnabled ? "on" : "off")}, " +
          $"DRS {(haDrs.DrsEnabled ? haDrs.DrsBehavior.Length > 0 ? haDrs.DrsBehavior : "on" : "off")}";

    /// <summary>What the shutdown left changed on the cluster until a power-on puts it back (said when no power-on follows).</summary>
    public static IReadOnlyList<string> LeftChanged(PowerRun run) =>
    [
        .. run.ClusterSteps.Where(st => st.Kind != ClusterStep.VsanResync && st.Status is StepStatus.Done or StepStatus.Late)
            .Select(st => Describe(st.Kind, run.Settings).Split(';')[0]),
        .. run.Hosts.Where(h => h.Maintenance == StepStatus.Done && !h.WasInMaintenance).Select(h => $"host {h.Name} in maintenance mode"),
        .. run.Hosts.Where(h => h.Shutdown == StepStatus.Done).Select(h => $"host {h.Name} powered off"),
    ];

    /// <summary>
    /// The steps the run is waiting on right now, to be asked again after the evaluator restarted (a crash between
    /// saving a transition and publishing its commands would otherwise leave them unasked until the deadline).
    /// </summary>
    public static Asks Outstanding(PowerRun run, DateTimeOffset now)
    {
        var progress = run.Phase switch
        {
            RunPhase.VmTiers when run.CurrentTier < run.Tiers.Count => Asks.None with
            {
                VmShutdowns = run.Tiers[run.CurrentTier].Vms.Where(v => v.Status == StepStatus.Requested).ToList(),
            },
            RunPhase.ClusterPrepare => Asks.None with { ClusterSteps = run.ClusterSteps.Where(st => st.Status == StepStatus.Requested).ToList() },
            RunPhase.VCenterHostShutdown => Asks.None with { EsxiShutdowns = run.Hosts.Where(h => h.ViaEsxi && h.Shutdown == StepStatus.Requested).ToList() },
            RunPhase.Maintenance => Asks.None with { Maintenance = run.Hosts.Where(h => h.Maintenance == StepStatus.Requested).ToList() },
            RunPhase.HostShutdown => Asks.None with { HostShutdowns = run.Hosts.Where(h => h.Shutdown == StepStatus.Requested).ToList() },
            _ => Asks.None,
        };
        if (!progress.IsEmpty)
            run.Record(now, "resume", run.Cluster, RunOutcome.Resumed,
                $"evaluator restarted: asking again for {progress.VmShutdowns.Count + progress.Maintenance.Count + progress.HostShutdowns.Count + progress.ClusterSteps.Count + progress.EsxiShutdowns.Count} outstanding step(s)");
        return progress;
    }

    /// <summary>The inventory did not come (failed or late): ask again while retries last, else end the run with that failure. True: ask again.</summary>
    public static bool InventoryMissing(PowerRun run, int retries, string why, DateTimeOffset now)
    {
        run.Record(now, InventoryStep, run.Cluster, RunOutcome.Failed, why);
        if (run.InventoryAttempts <= retries)
            return true;
        run.Problems.Add($"{InventoryStep} {run.Cluster}: {why}");
        Finish(run, null, now);
        return false;
    }

    /// <summary>Every failure of the run, one line each: run problems, VMs failed or without outcome, hosts not in maintenance or not off.</summary>
    public static IReadOnlyList<string> Failures(PowerRun run) =>
    [
        .. run.Problems,
        .. run.ClusterSteps.Where(st => st.Status is StepStatus.Failed or StepStatus.Late)
            .Select(st => $"{st.Kind} {run.Cluster}: {(st.Status == StepStatus.Late ? "no outcome" : st.Outcome.Text())} {st.Detail}".TrimEnd()),
        .. run.AllVms.Where(v => v.Status is StepStatus.Failed or StepStatus.Late)
            .Select(v => $"{VmStep} {v.Name}: {(v.Status == StepStatus.Late ? "no outcome" : v.Outcome.Text())} {v.Detail}".TrimEnd()),
        .. run.Hosts.Where(h => h.Maintenance is StepStatus.Failed or StepStatus.Late || h.Shutdown is StepStatus.Failed or StepStatus.Late)
            .Select(h => $"host {h.Name}: {h.Detail}"),
    ];

    /// <summary>History entries an operator should hear about at once: forced power-offs, failures, missed deadlines.</summary>
    public static bool IsNoteworthy(HistoryEntry entry) =>
        entry.Outcome is RunOutcome.Forced or RunOutcome.Failed or RunOutcome.Late or RunOutcome.HardPowerOff or RunOutcome.NotAttempted or RunOutcome.NotRestored
            or RunOutcome.StillResyncing or RunOutcome.FallBack or RunOutcome.Unconfirmed;

    /// <summary>
    /// The drill walks the plan a real run would, through the same <see cref="Advance"/>: the same stages in the same order,
    /// each step asked as the bound allows (recorded, never sent) and answered <c>DryRun</c> at once.
    /// </summary>
    static void WalkDryRun(PowerRun run, ClusterOptions options, DateTimeOffset now)
    {
        while (run.CompletedAt is null)
        {
            var progress = Advance(run, options, now);
            foreach (var vm in progress.VmShutdowns)
            {
                vm.Status = StepStatus.Done;
                vm.Outcome = RunOutcome.DryRun;
                run.Record(now, VmStep, vm.Name, RunOutcome.DryRun, "would shut down (guest, then hard after the timeout)");
            }
            foreach (var host in progress.Maintenance)
            {
                host.Maintenance = StepStatus.Done;
                run.Record(now, MaintenanceStep, host.Name, RunOutcome.DryRun, "would enter maintenance mode");
            }
            foreach (var host in progress.HostShutdowns)
            {
                host.Shutdown = StepStatus.Done;
                run.Record(now, HostShutdownStep, host.Name, RunOutcome.DryRun, "would power off");
            }
            foreach (var step in progress.ClusterSteps)
            {
                step.Status = StepStatus.Done;
                step.Outcome = RunOutcome.DryRun;
                run.Record(now, step.Kind, run.Cluster, RunOutcome.DryRun, "would change: " + Describe(step.Kind, run.Settings));
            }
            foreach (var host in progress.EsxiShutdowns)
            {
                host.Shutdown = StepStatus.Done;
                run.Record(now, EsxiHostShutdownStep, host.Name, RunOutcome.DryRun, "would enter maintenance mode where possible and power off through its own ESXi API");
            }
            if (progress.IsEmpty && run.CompletedAt is null)
                throw new InvalidOperationException($"drill of {run.Cluster}: the plan stopped in {run.Phase} with nothing to ask");
        }
    }

    static void Finish(PowerRun run, ClusterOptions? options, DateTimeOffset now)
    {
        run.CompletedAt = now;
        StageEngine.End(run, "run", () => Failures(run), now);
        // No power-on will put the cluster back by itself: say what stays changed.
        if (options is { PowerOnAfterClear: false } && !run.DryRun && LeftChanged(run) is { Count: > 0 } left)
            run.Record(now, "run", run.Cluster, RunOutcome.LeftChanged, "PowerOnAfterClear is off; left changed until an operator's power-on: " + string.Join("; ", left));
    }
}
