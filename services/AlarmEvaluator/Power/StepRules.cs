namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>
/// What the <see cref="PlanWalker"/> needs to know of one kind of step beyond the plan's data: where the run keeps its status
/// (<see cref="Slot"/>), an entry rule when its stage starts (<see cref="Enter"/>: true when it set the status itself), what
/// its deadline does (<see cref="Late"/>), and a hook when its stage ends (<see cref="AfterStage"/>). Kinds without a hook
/// follow the defaults: a planned step starts pending, a late step is marked late with its reason.
/// </summary>
public sealed record StepRules(Func<PowerRun, StepIndex, RunStep, StepSlot> Slot)
{
    public Func<PowerRun, RunStep, StepSlot, DateTimeOffset, bool>? Enter { get; init; }
    public Action<PowerRun, RunStage, StepSlot, AsksBuilder, DateTimeOffset> Late { get; init; } = MarkLate("no outcome by the deadline", "no outcome by the deadline");
    public Func<PowerRun, ClusterOptions, DateTimeOffset, StageEnd>? AfterStage { get; init; }

    public static StepRules For(StepKind kind) => Rules[kind];

    static readonly StepAccess<VmRun> VmAccess = new(v => v.Status, v => v.Attempts, (v, s, a) => (v.Status, v.Attempts) = (s, a));
    static readonly StepAccess<RestoreVm> RestoreVmAccess = new(v => v.Status, v => v.Attempts, (v, s, a) => (v.Status, v.Attempts) = (s, a));

    /// <summary>A host is awaited in vCenter once its BMC said on (or was late saying it); the walker only reads this status.</summary>
    static readonly StepAccess<RestoreHost> Reconnect = new(
        h => h.Connected ? StepStatus.Done : h.PowerOn is StepStatus.Done or StepStatus.Late ? StepStatus.Requested : StepStatus.Skipped,
        h => 0, (_, _, _) => { });

    static StepSlot SlotOf<T>(RunStep step, string name, T item, StepAccess<T> access, Action<T, string>? note = null) where T : class =>
        new(step, name, item, new StepAccess<object>(o => access.Status((T)o), o => access.Attempts((T)o), (o, s, a) => access.Set((T)o, s, a)),
            note is null ? null : detail => note(item, detail));

    static void HostDetail(HostRun host, string detail) => host.Detail = detail;
    static void RestoreHostDetail(RestoreHost host, string detail) => host.Detail = detail;
    static void StepDetail(ClusterStep step, string detail) => step.Detail = detail;

    /// <summary>The default at a deadline: the step is late (a later outcome is still recorded), its record notes why.</summary>
    static Action<PowerRun, RunStage, StepSlot, AsksBuilder, DateTimeOffset> MarkLate(string? detail, string why) => (run, _, slot, _, now) =>
    {
        slot.Status = StepStatus.Late;
        if (detail is not null)
            slot.Note(detail);
        run.Record(now, slot.Step.Kind.Name(), slot.Name, RunOutcome.Late, why);
    };

    static StepRules Shutdown(StepKind kind) => new((run, _, step) =>
        SlotOf(step, run.Cluster, run.ClusterSteps.First(st => st.Kind == kind.Name()), ClusterStep.Access, StepDetail));

    static StepRules Restore(StepKind kind) => new((run, _, step) =>
        SlotOf(step, run.Cluster, run.Restore.ClusterSteps.First(st => st.Kind == kind.Name()), ClusterStep.Access, StepDetail));

    static readonly Dictionary<StepKind, StepRules> Rules = new()
    {
        [StepKind.VmShutdown] = new((_, index, step) => { var vm = index.Vm(step.Target); return SlotOf(step, vm.Name, vm, VmAccess); })
        {
            // Asked but silent by the deadline, or not asked yet: powered off hard at once where the step says so (the
            // actuator's step is idempotent, so a guest shutdown still in progress is not harmed, and a lost request is made good).
            Late = (run, stage, slot, asked, now) =>
            {
                var vm = (VmRun)slot.Item;
                if (slot.Step.Parameters.GetValueOrDefault("hardPowerOffAtDeadline") != "true")
                {
                    vm.Status = StepStatus.Late;
                    run.Record(now, PowerSteps.VmShutdown, vm.Name, RunOutcome.Late,
                        $"no outcome by the deadline of tier {stage.Name}; vCenter's VM is not powered off hard (VCenterHardPowerOff is off)");
                    return;
                }
                if (vm.Status == StepStatus.Pending)
                    vm.Attempts++;
                var why = vm.Status == StepStatus.Pending ? $"tier {stage.Name} deadline passed before its turn" : $"no outcome by the deadline of tier {stage.Name}";
                (vm.Status, vm.HardPowerOff) = (StepStatus.Late, true);
                run.Record(now, PowerSteps.VmShutdown, vm.Name, RunOutcome.HardPowerOff, why);
                asked.Add(slot);
            },
        },
        [StepKind.VclsRetreat] = Shutdown(StepKind.VclsRetreat),
        [StepKind.HaDrsDisable] = Shutdown(StepKind.HaDrsDisable),
        [StepKind.VsanResync] = Shutdown(StepKind.VsanResync),
        [StepKind.VsanClusterPowerOff] = Shutdown(StepKind.VsanClusterPowerOff) with
        {
            // vSAN powered the cluster off: the hosts and vCenter's VM are done. Otherwise the per-host stages follow.
            AfterStage = (run, _, now) => VsanClusterPowerSteps.PoweredOff(run, now) ? StageEnd.FinishPlan : StageEnd.Continue,
        },
        [StepKind.HostMaintenance] = new((_, index, step) => SlotOf(step, step.Target, index.Host(step.Target), HostSteps.Maintenance, HostDetail))
        {
            Late = MarkLate($"{ShutdownPolicy.MaintenanceStep}: no outcome by the deadline", "no outcome by the deadline"),
        },
        [StepKind.HostShutdown] = new((_, index, step) => SlotOf(step, step.Target, index.Host(step.Target), HostSteps.Shutdown, HostDetail))
        {
            Enter = (run, _, slot, now) =>
            {
                var host = (HostRun)slot.Item;
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
                        run.Record(now, ShutdownPolicy.HostShutdownStep, host.Name, RunOutcome.NotAttempted, "the host did not enter maintenance mode");
                        break;
                }
                return true;
            },
            Late = MarkLate($"{ShutdownPolicy.HostShutdownStep}: no outcome by the deadline", "no outcome by the deadline"),
        },
        [StepKind.EsxiHostShutdown] = new((_, index, step) => SlotOf(step, step.Target, index.Host(step.Target), HostSteps.Shutdown, HostDetail))
        {
            Enter = (_, _, slot, _) =>
            {
                slot.Status = StepStatus.Pending;
                return true;
            },
            Late = MarkLate($"{ShutdownPolicy.EsxiHostShutdownStep}: no outcome by the deadline", "no outcome by the deadline"),
        },
        [StepKind.HostPowerOn] = new((_, index, step) => SlotOf(step, step.Target, index.RestoreHost(step.Target), HostSteps.PowerOn, RestoreHostDetail))
        {
            Late = MarkLate("not powered on: no answer from its BMC by the deadline", "no answer from the BMC actuator by the deadline"),
        },
        [StepKind.VCenterStart] = new((run, _, step) =>
            SlotOf(step, run.Restore.VCenterHost ?? run.Cluster, run.Restore.VCenterStart!, ClusterStep.Access, StepDetail))
        {
            Late = MarkLate("vCenter did not answer by the deadline", "no outcome by the deadline"),
        },
        [StepKind.HostReconnect] = new((_, index, step) => SlotOf(step, step.Target, index.RestoreHost(step.Target), Reconnect))
        {
            Late = (run, _, slot, _, now) =>
            {
                var host = (RestoreHost)slot.Item;
                host.Detail = "not connected in vCenter by the deadline";
                host.PowerOn = StepStatus.Failed; // given up on: no longer awaited
                run.Record(now, PowerOnPolicy.ReconnectStep, host.Name, RunOutcome.Late, host.Detail);
            },
            // An interrupted power-on waited for the hosts already told to power on: they are up (or given up on), the shutdown sees them now.
            AfterStage = (run, _, now) =>
            {
                if (!run.Restore.Draining)
                    return StageEnd.Continue;
                PowerOnPolicy.EndInterrupted(run, now);
                return StageEnd.ShutDownAgain;
            },
        },
        [StepKind.VsanClusterPowerOn] = new((run, _, step) => SlotOf(step, run.Cluster, run.Restore.VsanClusterPowerOn!, ClusterStep.Access, StepDetail))
        {
            Enter = (run, _, _, now) => VsanClusterPowerSteps.SkipPowerOnUnlessOwed(run, now),
            Late = MarkLate("no outcome by the deadline", "no outcome by the deadline; per-host maintenance exits instead"),
        },
        [StepKind.HostExitMaintenance] = new((_, index, step) => SlotOf(step, step.Target, index.RestoreHost(step.Target), HostSteps.ExitMaintenance, RestoreHostDetail))
        {
            // A host vCenter does not see is not asked (its VMs are not restored: below).
            Enter = (_, _, slot, _) =>
            {
                if (((RestoreHost)slot.Item).Connected)
                    return false;
                slot.Status = StepStatus.Skipped;
                return true;
            },
            Late = MarkLate("still in maintenance mode: no outcome by the deadline", "no outcome by the deadline"),
            AfterStage = (run, _, now) =>
            {
                PowerOnPolicy.NotRestored(run, now);
                return StageEnd.Continue;
            },
        },
        [StepKind.VmPowerOn] = new((_, index, step) => { var vm = index.RestoreVm(step.Target); return SlotOf(step, vm.Name, vm, RestoreVmAccess); })
        {
            Late = (run, stage, slot, _, now) =>
            {
                slot.Status = StepStatus.Late;
                run.Record(now, PowerOnPolicy.VmPowerOnStep, slot.Name, RunOutcome.Late, $"no outcome by the deadline of tier {stage.Name}");
            },
        },
        [StepKind.HaDrsRestore] = Restore(StepKind.HaDrsRestore),
        [StepKind.VclsRestore] = Restore(StepKind.VclsRestore),
    };
}
