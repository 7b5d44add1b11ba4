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

        if (!run.DryRun)
            return PlanWalker.Begin(run, PlanDirection.Shutdown, options, now);
        WalkDryRun(run, options, now);
        return Asks.None;
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
    /// The drill walks the plan a real run would, through the same <see cref="PlanWalker"/>: the same stages in the same order,
    /// each step asked as the bound allows (recorded, never sent) and answered <c>DryRun</c> at once.
    /// </summary>
    static void WalkDryRun(PowerRun run, ClusterOptions options, DateTimeOffset now)
    {
        var progress = PlanWalker.Begin(run, PlanDirection.Shutdown, options, now);
        while (true)
        {
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
            if (run.CompletedAt is not null)
                return;
            if (progress.IsEmpty)
                throw new InvalidOperationException($"drill of {run.Cluster}: the plan stopped in {run.Phase} with nothing to ask");
            progress = PlanWalker.Advance(run, options, now);
        }
    }

    /// <summary>The shutdown's plan ended (or the inventory was given up on): what failed, and what stays changed without a power-on.</summary>
    internal static void Finish(PowerRun run, ClusterOptions? options, DateTimeOffset now)
    {
        run.CompletedAt = now;
        StageEngine.End(run, "run", () => Failures(run), now);
        // No power-on will put the cluster back by itself: say what stays changed.
        if (options is { PowerOnAfterClear: false } && !run.DryRun && LeftChanged(run) is { Count: > 0 } left)
            run.Record(now, "run", run.Cluster, RunOutcome.LeftChanged, "PowerOnAfterClear is off; left changed until an operator's power-on: " + string.Join("; ", left));
    }
}
