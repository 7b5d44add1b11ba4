using MassTransit;
using Microsoft.Extensions.Options;
using PowerEvents.Contracts;

namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>
/// One instance per protected cluster, reading like the runbook: <c>CapturingInventory</c> (planning) →
/// <c>ShuttingDown</c> (the shutdown plan, stage after stage: VM tiers, cluster preparation, maintenance, hosts off, vCenter's
/// VM and its host through ESXi) → <c>ShutDown</c> → <c>WaitingToPowerOn</c> (the alarm cleared; minimum off time) →
/// <c>PoweringOn</c> (the power-on plan: hosts, vCenter, reconnect, maintenance exit, VM tiers in reverse, cluster settings)
/// → <c>Restored</c>. The state is where the run is in its life, and every transition is written here; which stage of its
/// plan a running part is at is data (<see cref="PowerRun.Phase"/>) moved on by the one <see cref="PlanWalker"/> over the plans
/// built by <see cref="ShutdownPlanner"/> / <see cref="RestorePlanner"/> (outcomes recorded by <see cref="ShutdownPolicy"/> / <see cref="PowerOnPolicy"/>).
/// Outcomes of another run (a plan preview, an older run) are ignored by their <c>RunId</c>; deadlines by their step.
/// </summary>
public sealed class PowerStateMachine : MassTransitStateMachine<PowerSagaState>
{
    public PowerStateMachine(IOptions<PowerOptions> options, TimeProvider clock, ILogger<PowerStateMachine> logger, IEnumerable<StepRowRecording> stepRows)
    {
        // On PostgreSQL, VM outcomes and the hosts' maintenance, shutdown and maintenance-exit outcomes go to
        // StepOutcomeConsumer (their rows, concurrently) and the saga hears only of a completed stage; its queue is not bound
        // to them. Without it (MassTransit's in-memory harness) the saga records them.
        var rowsRecordVmOutcomes = stepRows.Any();
        // Commands go to the queue of the service that carries them out (sent, not published).
        PowerEvents.Hosting.CommandRoutes.EnsureMapped();
        Options = options.Value;
        Clock = clock;
        Logger = logger;

        InstanceState(x => x.CurrentState);

        Event(() => ShutdownRequested, x => x.CorrelateById(c => c.Message.ClusterId));
        Event(() => AlarmCleared, x => { x.CorrelateById(c => c.Message.ClusterId); x.OnMissingInstance(m => m.Discard()); });
        Event(() => DeadlineReached, x => { x.CorrelateById(c => c.Message.ClusterId); x.OnMissingInstance(m => m.Discard()); });
        Event(() => Resumed, x => { x.CorrelateById(c => c.Message.ClusterId); x.OnMissingInstance(m => m.Discard()); });
        Event(() => InventoryCaptured, x => { x.CorrelateById(c => PowerIds.ForCluster(c.Message.Cluster)); x.OnMissingInstance(m => m.Discard()); });
        Event(() => InventoryFailed, x => { x.CorrelateById(c => PowerIds.ForCluster(c.Message.Cluster)); x.OnMissingInstance(m => m.Discard()); });
        Event(() => VmShutDown, x =>
        {
            x.CorrelateById(c => PowerIds.ForCluster(c.Message.Cluster));
            x.OnMissingInstance(m => m.Discard());
            x.ConfigureConsumeTopology = !rowsRecordVmOutcomes;
        });
        Event(() => HostEnteredMaintenance, x =>
        {
            x.CorrelateById(c => PowerIds.ForCluster(c.Message.Cluster));
            x.OnMissingInstance(m => m.Discard());
            x.ConfigureConsumeTopology = !rowsRecordVmOutcomes;
        });
        Event(() => HostPoweredOff, x =>
        {
            x.CorrelateById(c => PowerIds.ForCluster(c.Message.Cluster));
            x.OnMissingInstance(m => m.Discard());
            x.ConfigureConsumeTopology = !rowsRecordVmOutcomes;
        });
        Event(() => HostPowerOnCompleted, x => { x.CorrelateById(c => PowerIds.ForCluster(c.Message.Cluster)); x.OnMissingInstance(m => m.Discard()); });
        Event(() => HostExitedMaintenance, x =>
        {
            x.CorrelateById(c => PowerIds.ForCluster(c.Message.Cluster));
            x.OnMissingInstance(m => m.Discard());
            x.ConfigureConsumeTopology = !rowsRecordVmOutcomes;
        });
        Event(() => VmPoweredOn, x =>
        {
            x.CorrelateById(c => PowerIds.ForCluster(c.Message.Cluster));
            x.OnMissingInstance(m => m.Discard());
            x.ConfigureConsumeTopology = !rowsRecordVmOutcomes;
        });
        // Cluster-wide steps' outcomes (issue 12), correlated by their cluster like the host steps'.
        Event(() => VclsRetreatEntered, x => { x.CorrelateById(c => PowerIds.ForCluster(c.Message.Cluster)); x.OnMissingInstance(m => m.Discard()); });
        Event(() => ClusterHaDrsDisabled, x => { x.CorrelateById(c => PowerIds.ForCluster(c.Message.Cluster)); x.OnMissingInstance(m => m.Discard()); });
        Event(() => VsanResyncChecked, x => { x.CorrelateById(c => PowerIds.ForCluster(c.Message.Cluster)); x.OnMissingInstance(m => m.Discard()); });
        Event(() => VsanClusterPowerCompleted, x => { x.CorrelateById(c => PowerIds.ForCluster(c.Message.Cluster)); x.OnMissingInstance(m => m.Discard()); });
        Event(() => EsxiHostPoweredOff, x => { x.CorrelateById(c => PowerIds.ForCluster(c.Message.Cluster)); x.OnMissingInstance(m => m.Discard()); });
        Event(() => VCenterStarted, x => { x.CorrelateById(c => PowerIds.ForCluster(c.Message.Cluster)); x.OnMissingInstance(m => m.Discard()); });
        Event(() => ClusterHaDrsRestored, x => { x.CorrelateById(c => PowerIds.ForCluster(c.Message.Cluster)); x.OnMissingInstance(m => m.Discard()); });
        Event(() => VclsRestored, x => { x.CorrelateById(c => PowerIds.ForCluster(c.Message.Cluster)); x.OnMissingInstance(m => m.Discard()); });
        Event(() => StageCompleted, x => { x.CorrelateById(c => c.Message.ClusterId); x.OnMissingInstance(m => m.Discard()); });
        Event(() => PowerOnNow, x => { x.CorrelateById(c => c.Message.ClusterId); x.OnMissingInstance(m => m.Discard()); });
        Event(() => PowerOnCancel, x => { x.CorrelateById(c => c.Message.ClusterId); x.OnMissingInstance(m => m.Discard()); });

        // The runbook. Where a run is in its life is the state, and every transition is written here; which stage of its
        // plan a running shutdown or power-on is at is data (PowerRun.Phase), moved on by the PlanWalker.
        Initially(
            When(ShutdownRequested, c => Accept(c.Saga, c.Message.ZoneSequence, c.Message.RequestedAt, c.Message.Zone, c.Message.AlarmId))
                .StartRun(this)
                .TransitionTo(CapturingInventory));

        // Planning: the inventory fixes the plan, which starts at once (a drill walks it to its end).
        During(CapturingInventory,
            When(InventoryCaptured, c => c.Message.RunId == c.Saga.RunId)
                .PlanRun(this)
                .TransitionTo(ShuttingDown)
                .IfShutdownEnded(this),
            When(InventoryFailed, c => c.Message.RunId == c.Saga.RunId)
                .InventoryMissing(this, c => $"{c.Message.Fault.Name}: {c.Message.Fault.Message}")
                .IfShutdownEnded(this),
            When(DeadlineReached, c => c.Message.Step == c.Saga.Step && c.Message.RunId == c.Saga.RunId)
                .InventoryMissing(this, _ => "no inventory by the deadline")
                .IfShutdownEnded(this),
            When(Resumed, c => c.Message.RunId == c.Saga.RunId)
                .AskAgainForInventory(this),
            Ignore(VmShutDown),
            Ignore(HostEnteredMaintenance),
            Ignore(HostPoweredOff),
            Ignore(StageCompleted));

        // Shutting down: stage after stage of the plan (VM tiers, cluster preparation, maintenance, hosts, vCenter and its host).
        During(ShuttingDown,
            When(VmShutDown, c => !rowsRecordVmOutcomes && c.Message.RunId == c.Saga.RunId)
                .Progress(this, (run, c) => ShutdownPolicy.RecordVm(run, c.Message, Options.StepRetries, Now))
                .IfShutdownEnded(this),
            // A stage's last outcome was recorded on its row (StepOutcomeConsumer): the run moves on from that stage, once.
            When(StageCompleted, c => IsCurrentStage(c.Saga, c.Message))
                .Progress(this, (_, _) => true)
                .IfShutdownEnded(this),
            When(StageCompleted, c => !IsCurrentStage(c.Saga, c.Message)),
            When(HostEnteredMaintenance, c => !rowsRecordVmOutcomes && c.Message.RunId == c.Saga.RunId)
                .Progress(this, (run, c) => ShutdownPolicy.RecordMaintenance(run, c.Message, Options.StepRetries, Now))
                .IfShutdownEnded(this),
            When(HostPoweredOff, c => !rowsRecordVmOutcomes && c.Message.RunId == c.Saga.RunId)
                .Progress(this, (run, c) => ShutdownPolicy.RecordHostShutdown(run, c.Message, Options.StepRetries, Now))
                .IfShutdownEnded(this),
            When(VclsRetreatEntered, c => c.Message.RunId == c.Saga.RunId)
                .Progress(this, (run, c) => ShutdownPolicy.RecordVclsRetreat(run, c.Message, Options.StepRetries, Now))
                .IfShutdownEnded(this),
            When(ClusterHaDrsDisabled, c => c.Message.RunId == c.Saga.RunId)
                .Progress(this, (run, c) => ShutdownPolicy.RecordHaDrsDisabled(run, c.Message, Options.StepRetries, Now))
                .IfShutdownEnded(this),
            When(VsanResyncChecked, c => c.Message.RunId == c.Saga.RunId)
                .Progress(this, (run, c) => ShutdownPolicy.RecordVsanResync(run, c.Message, Options.StepRetries, Now))
                .IfShutdownEnded(this),
            When(VsanClusterPowerCompleted, c => c.Message.RunId == c.Saga.RunId && c.Message.TargetPowerStatus == VsanClusterPowerSteps.ClusterPoweredOff)
                .Progress(this, (run, c) => VsanClusterPowerSteps.RecordPowerOff(run, c.Message, Now))
                .IfShutdownEnded(this),
            When(EsxiHostPoweredOff, c => c.Message.RunId == c.Saga.RunId)
                .Progress(this, (run, c) => ShutdownPolicy.RecordEsxiHostShutdown(run, c.Message, Options.StepRetries, Now))
                .IfShutdownEnded(this),
            When(DeadlineReached, c => c.Message.Step == c.Saga.Step && c.Message.RunId == c.Saga.RunId)
                .Deadline(this)
                .IfShutdownEnded(this),
            // After a restart, whatever the run waits on is asked for again (the actuators' steps are idempotent).
            When(Resumed, c => c.Message.RunId == c.Saga.RunId)
                .AskAgainForOutstandingSteps(this)
                .IfShutdownEnded(this),
            Ignore(InventoryCaptured),
            Ignore(InventoryFailed));

        During(CapturingInventory, ShuttingDown,
            // One run at a time: a second alarm changes nothing, except that the zone is no longer clear.
            When(ShutdownRequested, c => !c.Message.DryRun && Accept(c.Saga, c.Message.ZoneSequence, c.Message.RequestedAt, c.Message.Zone, c.Message.AlarmId))
                .Then(c =>
                {
                    c.Saga.AlarmClearedAt = null;
                    if (c.Message.RequestedBy is null)
                        c.Saga.Run!.ZoneInAlarm = true;
                    c.Saga.Run?.Record(Now, "alarm", c.Message.Zone, RunOutcome.AlreadyRunning, $"alarm {c.Message.AlarmId} raised again during the run");
                }),
            When(ShutdownRequested, c => c.Message.DryRun)
                .RefuseDrill(this, "a shutdown run is under way"),
            When(AlarmCleared, c => Accept(c.Saga, c.Message.ZoneSequence, c.Message.ClearedAt, c.Message.Zone, c.Message.AlarmId))
                .Then(c =>
                {
                    c.Saga.AlarmClearedAt ??= c.Message.ClearedAt;
                    c.Saga.Run!.ZoneInAlarm = false;
                    c.Saga.Run?.Record(Now, "alarm", c.Message.Zone, RunOutcome.Cleared, "alarm cleared during the shutdown; the shutdown finishes, then the power-on waits");
                }),
            // Operator commands from the Console (docs/console.md): a power-on waits for the run's end; a hold applies to it.
            When(PowerOnNow).Refuse(this, c => ("power-on now", c.Message.RequestedBy, "a shutdown run is under way; it finishes first")),
            When(PowerOnCancel).HoldPowerOn(this),
            Ignore(HostPowerOnCompleted),
            Ignore(HostExitedMaintenance),
            Ignore(VmPoweredOn));

        // Off. A new alarm (also after a finished power-on) starts a new run: the cluster may have been brought back by hand,
        // and protection comes first. The finished run is kept as PreviousRun (with what it still owes the power-on).
        During(ShutDown, Restored,
            When(ShutdownRequested, c => (!c.Message.DryRun || DrillAllowed(c.Saga)) && Accept(c.Saga, c.Message.ZoneSequence, c.Message.RequestedAt, c.Message.Zone, c.Message.AlarmId))
                .StartRun(this)
                .TransitionTo(CapturingInventory),
            When(ShutdownRequested, c => c.Message.DryRun && !DrillAllowed(c.Saga))
                .RefuseDrill(this, "the cluster is off after a real run (its power-on is owed)"));
        During(ShutDown,
            When(AlarmCleared, c => Accept(c.Saga, c.Message.ZoneSequence, c.Message.ClearedAt, c.Message.Zone, c.Message.AlarmId))
                .SchedulePowerOn(this)
                .If(PowerOnDue, due => due.TransitionTo(WaitingToPowerOn)),
            Ignore(DeadlineReached));

        // Waiting for the minimum off time; an alarm in between cancels the power-on (the zone did not stay clear).
        During(WaitingToPowerOn,
            When(ShutdownRequested, c => !c.Message.DryRun && Accept(c.Saga, c.Message.ZoneSequence, c.Message.RequestedAt, c.Message.Zone, c.Message.AlarmId))
                .CancelPowerOn(this)
                .TransitionTo(ShutDown),
            When(ShutdownRequested, c => c.Message.DryRun)
                .RefuseDrill(this, "the cluster is off, waiting to power on"),
            When(DeadlineReached, c => c.Message.Step == c.Saga.Step && c.Message.RunId == c.Saga.RunId)
                .BeginPowerOn(this)
                .TransitionTo(PoweringOn)
                .IfPowerOnEnded(this),
            Ignore(AlarmCleared));

        // Operator commands while off (docs/console.md): power on now; do not power on by itself.
        During(ShutDown, WaitingToPowerOn,
            When(PowerOnNow)
                .PowerOnNow(this)
                .If(PowerOnBegun, begun => begun.TransitionTo(PoweringOn).IfPowerOnEnded(this)),
            When(PowerOnCancel)
                .HoldPowerOn(this)
                .TransitionTo(ShutDown),
            Ignore(HostPowerOnCompleted),
            Ignore(HostExitedMaintenance),
            Ignore(VmPoweredOn),
            Ignore(Resumed));

        // Powering on: stage after stage of the power-on plan (hosts, vCenter, reconnect, maintenance exit, VM tiers, cluster
        // settings). An alarm stops it (no further power-on step) and shuts down what is up, on a fresh inventory.
        During(PoweringOn,
            When(ShutdownRequested, c => c.Message.DryRun)
                .RefuseDrill(this, "a power-on is under way"),
            When(ShutdownRequested, c => !c.Message.DryRun && Accept(c.Saga, c.Message.ZoneSequence, c.Message.RequestedAt, c.Message.Zone, c.Message.AlarmId))
                .InterruptPowerOn(this)
                .If(PowerOnEnded, now => now
                    .CompleteRestore(this)
                    .StartRun(this)
                    .TransitionTo(CapturingInventory)),
            When(DeadlineReached, c => c.Message.Step == c.Saga.Step && c.Message.RunId == c.Saga.RunId)
                .Deadline(this)
                .IfPowerOnEnded(this),
            When(InventoryCaptured, c => c.Message.RunId == c.Saga.RunId)
                .Progress(this, (run, c) => PowerOnPolicy.RecordInventory(run, c.Message, Now))
                .IfPowerOnEnded(this),
            When(HostPowerOnCompleted, c => c.Message.RunId == c.Saga.RunId)
                .HostPowerOnProgress(this)
                .IfPowerOnEnded(this),
            When(VCenterStarted, c => c.Message.RunId == c.Saga.RunId)
                .Progress(this, (run, c) => PowerOnPolicy.RecordVCenterStarted(run, c.Message, Options.StepRetries, Now))
                .IfPowerOnEnded(this),
            When(VsanClusterPowerCompleted, c => c.Message.RunId == c.Saga.RunId && c.Message.TargetPowerStatus == VsanClusterPowerSteps.ClusterPoweredOn)
                .Progress(this, (run, c) => VsanClusterPowerSteps.RecordPowerOn(run, c.Message, Now))
                .IfPowerOnEnded(this),
            When(HostExitedMaintenance, c => !rowsRecordVmOutcomes && c.Message.RunId == c.Saga.RunId)
                .Progress(this, (run, c) => PowerOnPolicy.RecordExitMaintenance(run, c.Message, Options.StepRetries, Now))
                .IfPowerOnEnded(this),
            When(VmPoweredOn, c => !rowsRecordVmOutcomes && c.Message.RunId == c.Saga.RunId)
                .Progress(this, (run, c) => PowerOnPolicy.RecordVm(run, c.Message, Options.StepRetries, Now))
                .IfPowerOnEnded(this),
            When(StageCompleted, c => IsCurrentStage(c.Saga, c.Message))
                .Progress(this, (_, _) => true)
                .IfPowerOnEnded(this),
            When(StageCompleted, c => !IsCurrentStage(c.Saga, c.Message)),
            When(ClusterHaDrsRestored, c => c.Message.RunId == c.Saga.RunId)
                .Progress(this, (run, c) => PowerOnPolicy.RecordClusterRestore(run, ClusterStep.HaDrsRestore, c.Message.Outcome,
                    $"put back: {ShutdownPolicy.Describe(run.Restore.HaDrs)} (replaced {ShutdownPolicy.Describe(c.Message.Replaced)})", c.Message.Fault, Options.StepRetries, Now))
                .IfPowerOnEnded(this),
            When(VclsRestored, c => c.Message.RunId == c.Saga.RunId)
                .Progress(this, (run, c) => PowerOnPolicy.RecordClusterRestore(run, ClusterStep.VclsRestore, c.Message.Outcome,
                    $"vCLS setting {c.Message.Value} (replaced {c.Message.ReplacedValue ?? "absent"})", c.Message.Fault, Options.StepRetries, Now))
                .IfPowerOnEnded(this),
            When(Resumed, c => c.Message.RunId == c.Saga.RunId)
                .AskAgainForOutstandingSteps(this)
                .IfPowerOnEnded(this),
            // A failed poll: the next wake-up polls again, until the reconnect deadline.
            Ignore(InventoryFailed),
            Ignore(AlarmCleared));

        During(PoweringOn, Restored,
            When(PowerOnNow).Refuse(this, c => ("power-on now", c.Message.RequestedBy, "the cluster is powering on or on already")),
            When(PowerOnCancel).Refuse(this, c => ("power-on cancel", c.Message.RequestedBy, "no power-on is pending (one under way is not interrupted)")),
            Ignore(VmShutDown),
            Ignore(HostEnteredMaintenance),
            Ignore(HostPoweredOff));

        // Late outcomes are still recorded after their part of the run ended (a VM that went off after all is no failure).
        During(ShutDown, WaitingToPowerOn,
            When(VmShutDown, c => !rowsRecordVmOutcomes && c.Message.RunId == c.Saga.RunId)
                .RecordLate(this, (run, c) => ShutdownPolicy.RecordVm(run, c.Message, Options.StepRetries, Now)),
            When(HostEnteredMaintenance, c => !rowsRecordVmOutcomes && c.Message.RunId == c.Saga.RunId)
                .RecordLate(this, (run, c) => ShutdownPolicy.RecordMaintenance(run, c.Message, Options.StepRetries, Now)),
            When(HostPoweredOff, c => !rowsRecordVmOutcomes && c.Message.RunId == c.Saga.RunId)
                .RecordLate(this, (run, c) => ShutdownPolicy.RecordHostShutdown(run, c.Message, Options.StepRetries, Now)),
            Ignore(InventoryCaptured),
            Ignore(InventoryFailed));
        During(Restored,
            When(HostPowerOnCompleted, c => c.Message.RunId == c.Saga.RunId)
                .HostPowerOnProgress(this),
            When(HostExitedMaintenance, c => !rowsRecordVmOutcomes && c.Message.RunId == c.Saga.RunId)
                .RecordLate(this, (run, c) => PowerOnPolicy.RecordExitMaintenance(run, c.Message, Options.StepRetries, Now)),
            When(VmPoweredOn, c => !rowsRecordVmOutcomes && c.Message.RunId == c.Saga.RunId)
                .RecordLate(this, (run, c) => PowerOnPolicy.RecordVm(run, c.Message, Options.StepRetries, Now)),
            Ignore(AlarmCleared),
            Ignore(DeadlineReached),
            Ignore(InventoryCaptured),
            Ignore(InventoryFailed),
            Ignore(Resumed));
        During([ShutDown, WaitingToPowerOn, Restored], Ignore(StageCompleted));

        // Cluster-wide steps that come after their stage (late): recorded, nothing else moves.
        During([CapturingInventory, ShutDown, WaitingToPowerOn, PoweringOn, Restored],
            When(VclsRetreatEntered, c => c.Saga.Run is not null && c.Message.RunId == c.Saga.RunId)
                .RecordLate(this, (run, c) => ShutdownPolicy.RecordVclsRetreat(run, c.Message, Options.StepRetries, Now)),
            When(ClusterHaDrsDisabled, c => c.Saga.Run is not null && c.Message.RunId == c.Saga.RunId)
                .RecordLate(this, (run, c) => ShutdownPolicy.RecordHaDrsDisabled(run, c.Message, Options.StepRetries, Now)),
            When(VsanResyncChecked, c => c.Saga.Run is not null && c.Message.RunId == c.Saga.RunId)
                .RecordLate(this, (run, c) => ShutdownPolicy.RecordVsanResync(run, c.Message, Options.StepRetries, Now)),
            When(VsanClusterPowerCompleted, c => c.Saga.Run is not null && c.Message.RunId == c.Saga.RunId
                                                 && c.Message.TargetPowerStatus == VsanClusterPowerSteps.ClusterPoweredOff)
                .RecordLate(this, (run, c) => VsanClusterPowerSteps.RecordPowerOff(run, c.Message, Now)),
            When(EsxiHostPoweredOff, c => c.Saga.Run is not null && c.Message.RunId == c.Saga.RunId)
                .RecordLate(this, (run, c) => ShutdownPolicy.RecordEsxiHostShutdown(run, c.Message, Options.StepRetries, Now)));
        During([CapturingInventory, ShuttingDown, ShutDown, WaitingToPowerOn, Restored],
            When(VCenterStarted, c => c.Saga.Run is not null && c.Message.RunId == c.Saga.RunId)
                .RecordLate(this, (run, c) => PowerOnPolicy.RecordVCenterStarted(run, c.Message, Options.StepRetries, Now)),
            When(VsanClusterPowerCompleted, c => c.Saga.Run is not null && c.Message.RunId == c.Saga.RunId
                                                 && c.Message.TargetPowerStatus == VsanClusterPowerSteps.ClusterPoweredOn)
                .RecordLate(this, (run, c) => VsanClusterPowerSteps.RecordPowerOn(run, c.Message, Now)),
            When(ClusterHaDrsRestored, c => c.Saga.Run is not null && c.Message.RunId == c.Saga.RunId)
                .RecordLate(this, (run, c) => PowerOnPolicy.RecordClusterRestore(run, ClusterStep.HaDrsRestore, c.Message.Outcome,
                    $"put back: {ShutdownPolicy.Describe(run.Restore.HaDrs)} (replaced {ShutdownPolicy.Describe(c.Message.Replaced)})", c.Message.Fault, Options.StepRetries, Now)),
            When(VclsRestored, c => c.Saga.Run is not null && c.Message.RunId == c.Saga.RunId)
                .RecordLate(this, (run, c) => PowerOnPolicy.RecordClusterRestore(run, ClusterStep.VclsRestore, c.Message.Outcome,
                    $"vCLS setting {c.Message.Value} (replaced {c.Message.ReplacedValue ?? "absent"})", c.Message.Fault, Options.StepRetries, Now)));
    }

    /// <summary>
    /// A completed stage (<see cref="StepOutcomeConsumer"/>) is the one the run is at: its kind's phase, and for a VM tier its
    /// tier. Any other (a second copy, a stage the run has left) changes nothing.
    /// </summary>
    internal static bool IsCurrentStage(PowerSagaState saga, PowerStageCompleted m) =>
        m.RunId == saga.RunId && saga.Run is { } run && m.Kind switch
        {
            PowerSteps.VmShutdown => run.Phase == RunPhase.VmTiers && m.Stage == run.CurrentTier,
            PowerSteps.VmPowerOn => run.Phase == RunPhase.VmPowerOn && m.Stage == run.Restore.CurrentTier,
            PowerSteps.HostMaintenance => run.Phase == RunPhase.Maintenance,
            PowerSteps.HostShutdown => run.Phase == RunPhase.HostShutdown,
            PowerSteps.HostExitMaintenance => run.Phase == RunPhase.ExitMaintenance,
            _ => false,
        };

    internal static bool PowerOnDue(BehaviorContext<PowerSagaState> c) => c.Saga.Run!.Restore.DueAt is not null;
    internal static bool PowerOnBegun(BehaviorContext<PowerSagaState> c) => c.Saga.Run!.Restore.StartedAt is not null;
    internal static bool PowerOnEnded(BehaviorContext<PowerSagaState> c) => c.Saga.Run!.Restore.CompletedAt is not null;

    internal PowerOptions Options { get; }
    internal TimeProvider Clock { get; }
    internal ILogger Logger { get; }
    internal DateTimeOffset Now => Clock.GetUtcNow();

    /// <summary>
    /// A zone transition newer than the newest this cluster has acted on is acted on (and becomes the newest). One that is
    /// not newer — by number and by time — is stale (a raise redelivered after its clear, a clear overtaken by a new raise,
    /// the same transition twice): logged and ignored. A transition without a number (a drill published by hand, the
    /// saga's own restart after a drain) is acted on; so is a lower number with a later time (the zone's count restarted).
    /// </summary>
    internal bool Accept(PowerSagaState saga, long? sequence, DateTimeOffset at, string zone, Guid alarmId)
    {
        if (sequence is not { } number)
            return true;
        if (saga.ZoneSequence is { } newest && number <= newest && saga.ZoneTransitionAt is { } newestAt && at <= newestAt)
        {
            Logger.LogWarning("Cluster {Cluster}: ignoring a stale transition {Sequence} of zone {Zone} (alarm {AlarmId}): transition {Newest} was seen already",
                saga.Cluster, number, zone, alarmId, newest);
            return false;
        }
        saga.ZoneSequence = number;
        saga.ZoneTransitionAt = at;
        return true;
    }

    /// <summary>
    /// A drill may start where nothing is owed: no run yet, the last power-on ended, or the last run was a drill itself.
    /// Not while the cluster is off after a real run (a drill would replace the run whose power-on is owed).
    /// </summary>
    internal bool DrillAllowed(PowerSagaState saga) => saga.CurrentState == Restored.Name || saga.Run is null || saga.Run.DryRun;

    internal ClusterOptions ClusterOf(PowerSagaState saga) =>
        Options.FindCluster(saga.Cluster) ?? throw new InvalidOperationException($"Power:Clusters: cluster '{saga.Cluster}' is no longer configured");

    public State CapturingInventory { get; } = null!;
    /// <summary>Running the shutdown's plan, stage after stage (<see cref="PowerRun.Phase"/> says which).</summary>
    public State ShuttingDown { get; } = null!;

    /// <summary>The run ended (its failures, if any, are listed); the instance keeps what was running for the power-on.</summary>
    public State ShutDown { get; } = null!;

    /// <summary>The alarm cleared after the shutdown: waiting for the minimum off time, the zone staying clear.</summary>
    public State WaitingToPowerOn { get; } = null!;

    /// <summary>Running the power-on's plan, stage after stage (<see cref="PowerRun.Phase"/> says which).</summary>
    public State PoweringOn { get; } = null!;

    /// <summary>The power-on ended (what was not restored is listed), or was interrupted by a new alarm.</summary>
    public State Restored { get; } = null!;

    public Event<ClusterShutdownRequested> ShutdownRequested { get; } = null!;
    public Event<ClusterAlarmCleared> AlarmCleared { get; } = null!;
    public Event<PowerRunDeadlineReached> DeadlineReached { get; } = null!;
    public Event<PowerRunResumed> Resumed { get; } = null!;
    public Event<ClusterInventoryCaptured> InventoryCaptured { get; } = null!;
    public Event<ClusterInventoryFailed> InventoryFailed { get; } = null!;
    public Event<VmShutDown> VmShutDown { get; } = null!;
    public Event<HostEnteredMaintenance> HostEnteredMaintenance { get; } = null!;
    public Event<HostPoweredOff> HostPoweredOff { get; } = null!;
    public Event<HostPowerOnCompleted> HostPowerOnCompleted { get; } = null!;
    public Event<HostExitedMaintenance> HostExitedMaintenance { get; } = null!;
    public Event<VmPoweredOn> VmPoweredOn { get; } = null!;
    public Event<PowerStageCompleted> StageCompleted { get; } = null!;
    public Event<VclsRetreatEntered> VclsRetreatEntered { get; } = null!;
    public Event<ClusterHaDrsDisabled> ClusterHaDrsDisabled { get; } = null!;
    public Event<VsanResyncChecked> VsanResyncChecked { get; } = null!;
    public Event<EsxiHostPoweredOff> EsxiHostPoweredOff { get; } = null!;
    public Event<VsanClusterPowerCompleted> VsanClusterPowerCompleted { get; } = null!;
    public Event<VCenterStarted> VCenterStarted { get; } = null!;
    public Event<ClusterHaDrsRestored> ClusterHaDrsRestored { get; } = null!;
    public Event<VclsRestored> VclsRestored { get; } = null!;
    public Event<ClusterPowerOnNowRequested> PowerOnNow { get; } = null!;
    public Event<PowerOnCancelRequested> PowerOnCancel { get; } = null!;
}

/// <summary>How a running shutdown or power-on ends: the transitions that follow each step of either, written beside the machine.</summary>
static class PowerRunbook
{
    /// <summary>The shutdown's plan ended (every stage, or the inventory given up on): reported, then off — or waiting to power on when the alarm cleared meanwhile.</summary>
    public static EventActivityBinder<PowerSagaState, T> IfShutdownEnded<T>(this EventActivityBinder<PowerSagaState, T> binder, PowerStateMachine machine)
        where T : class =>
        binder.If(c => c.Saga.Run!.CompletedAt is not null, ended => ended
            .CompleteShutdown(machine)
            .IfElse(PowerStateMachine.PowerOnDue,
                due => due.TransitionTo(machine.WaitingToPowerOn),
                off => off.TransitionTo(machine.ShutDown)));

    /// <summary>The power-on's plan ended: reported, restored. Drained after an alarm came back: the shutdown is asked again.</summary>
    public static EventActivityBinder<PowerSagaState, T> IfPowerOnEnded<T>(this EventActivityBinder<PowerSagaState, T> binder, PowerStateMachine machine)
        where T : class =>
        binder.If(PowerStateMachine.PowerOnEnded, ended => ended
            .CompleteRestore(machine)
            .If(c => c.Saga.Run!.Restore.Interrupted, again => again.AskForTheShutdownAgain(machine))
            .TransitionTo(machine.Restored));
}
