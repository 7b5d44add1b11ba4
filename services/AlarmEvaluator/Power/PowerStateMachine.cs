using MassTransit;
using Microsoft.Extensions.Options;
using PowerEvents.Contracts;

namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>
/// One instance per protected cluster: capture the inventory, shut VMs down tier by tier, prepare the cluster (vCLS
/// retreat, HA/DRS, vSAN resync), hosts into maintenance, hosts off, then vCenter's own VM and its host through ESXi;
/// after the alarm cleared and the minimum off time, hosts on, vCenter started through its host, reconnected, out of
/// maintenance, the VMs that were running on again, tier by tier in reverse, and HA/DRS and vCLS put back. It only sequences; every decision is <see cref="ShutdownPlanner"/> / <see cref="ShutdownPolicy"/> / <see cref="RestorePlanner"/> / <see cref="PowerOnPolicy"/>.
/// Outcomes of another run (a plan preview, an older run) are ignored by their <c>RunId</c>; deadlines by their step.
/// </summary>
public sealed class PowerStateMachine : MassTransitStateMachine<PowerSagaState>
{
    public PowerStateMachine(IOptions<PowerOptions> options, TimeProvider clock, ILogger<PowerStateMachine> logger, IEnumerable<StepRowRecording> stepRows)
    {
        // On PostgreSQL, VM outcomes go to StepOutcomeConsumer (their rows, concurrently) and the saga hears only of a
        // completed stage; its queue is not bound to them. Without it (MassTransit's in-memory harness) the saga records them.
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
        Event(() => HostEnteredMaintenance, x => { x.CorrelateById(c => PowerIds.ForCluster(c.Message.Cluster)); x.OnMissingInstance(m => m.Discard()); });
        Event(() => HostPoweredOff, x => { x.CorrelateById(c => PowerIds.ForCluster(c.Message.Cluster)); x.OnMissingInstance(m => m.Discard()); });
        Event(() => HostPowerOnCompleted, x => { x.CorrelateById(c => PowerIds.ForCluster(c.Message.Cluster)); x.OnMissingInstance(m => m.Discard()); });
        Event(() => HostExitedMaintenance, x => { x.CorrelateById(c => PowerIds.ForCluster(c.Message.Cluster)); x.OnMissingInstance(m => m.Discard()); });
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
        Event(() => EsxiHostPoweredOff, x => { x.CorrelateById(c => PowerIds.ForCluster(c.Message.Cluster)); x.OnMissingInstance(m => m.Discard()); });
        Event(() => VCenterStarted, x => { x.CorrelateById(c => PowerIds.ForCluster(c.Message.Cluster)); x.OnMissingInstance(m => m.Discard()); });
        Event(() => ClusterHaDrsRestored, x => { x.CorrelateById(c => PowerIds.ForCluster(c.Message.Cluster)); x.OnMissingInstance(m => m.Discard()); });
        Event(() => VclsRestored, x => { x.CorrelateById(c => PowerIds.ForCluster(c.Message.Cluster)); x.OnMissingInstance(m => m.Discard()); });
        Event(() => StageCompleted, x => { x.CorrelateById(c => c.Message.ClusterId); x.OnMissingInstance(m => m.Discard()); });
        Event(() => PowerOnNow, x => { x.CorrelateById(c => c.Message.ClusterId); x.OnMissingInstance(m => m.Discard()); });
        Event(() => PowerOnCancel, x => { x.CorrelateById(c => c.Message.ClusterId); x.OnMissingInstance(m => m.Discard()); });

        Initially(
            When(ShutdownRequested, c => Accept(c.Saga, c.Message.ZoneSequence, c.Message.RequestedAt, c.Message.Zone, c.Message.AlarmId))
                .StartRun(this)
                .TransitionTo(CapturingInventory));

        // A new alarm after a finished run starts a new run: the cluster may have been brought back by hand, and
        // protection comes first. The finished run is kept as PreviousRun (with what it still owes the power-on).
        During(ShutDown, Restored,
            When(ShutdownRequested, c => (!c.Message.DryRun || DrillAllowed(c.Saga)) && Accept(c.Saga, c.Message.ZoneSequence, c.Message.RequestedAt, c.Message.Zone, c.Message.AlarmId))
                .StartRun(this)
                .TransitionTo(CapturingInventory),
            When(ShutdownRequested, c => c.Message.DryRun && !DrillAllowed(c.Saga))
                .RefuseDrill(this, "the cluster is off after a real run (its power-on is owed)"));
        During(ShutDown,
            When(AlarmCleared, c => Accept(c.Saga, c.Message.ZoneSequence, c.Message.ClearedAt, c.Message.Zone, c.Message.AlarmId))
                .SchedulePowerOn(this));

        During([CapturingInventory, ShuttingDownVms, PreparingCluster, EnteringMaintenance, ShuttingDownHosts, ShuttingDownVCenterHost],
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
            Ignore(HostPowerOnCompleted),
            Ignore(HostExitedMaintenance),
            Ignore(VmPoweredOn));

        // Waiting for the minimum off time; an alarm in between cancels the power-on (the zone did not stay clear).
        During(WaitingToPowerOn,
            When(ShutdownRequested, c => !c.Message.DryRun && Accept(c.Saga, c.Message.ZoneSequence, c.Message.RequestedAt, c.Message.Zone, c.Message.AlarmId))
                .CancelPowerOn(this),
            When(ShutdownRequested, c => c.Message.DryRun)
                .RefuseDrill(this, "the cluster is off, waiting to power on"),
            When(DeadlineReached, c => c.Message.Step == c.Saga.Step && c.Message.RunId == c.Saga.RunId)
                .BeginPowerOn(this),
            Ignore(AlarmCleared),
            Ignore(HostPowerOnCompleted),
            Ignore(HostExitedMaintenance),
            Ignore(VmPoweredOn));

        // Powering on: an alarm stops it (no further power-on step) and shuts down what is up, on a fresh inventory.
        During([PoweringOnHosts, StartingVCenter, WaitingForHosts, ExitingMaintenance, PoweringOnVms, RestoringCluster],
            When(ShutdownRequested, c => c.Message.DryRun)
                .RefuseDrill(this, "a power-on is under way"),
            When(ShutdownRequested, c => !c.Message.DryRun && Accept(c.Saga, c.Message.ZoneSequence, c.Message.RequestedAt, c.Message.Zone, c.Message.AlarmId))
                .InterruptPowerOn(this)
                .If(c => c.Saga.Run!.Phase == RunPhase.Restored, now => now
                    .StartRun(this)
                    .TransitionTo(CapturingInventory)),
            When(DeadlineReached, c => c.Message.Step == c.Saga.Step && c.Message.RunId == c.Saga.RunId)
                .RestoreDeadline(this),
            When(InventoryCaptured, c => c.Message.RunId == c.Saga.RunId)
                .PowerOnProgress(this, (run, c) => PowerOnPolicy.RecordInventory(run, c.Message, Now)),
            // A failed poll: the next wake-up polls again, until the reconnect deadline.
            Ignore(InventoryFailed),
            Ignore(AlarmCleared),
            Ignore(VmShutDown),
            Ignore(HostEnteredMaintenance),
            Ignore(HostPoweredOff));

        // Late outcomes of power-on steps are still recorded, hence also after the power-on.
        During([PoweringOnHosts, StartingVCenter, WaitingForHosts, ExitingMaintenance, PoweringOnVms, RestoringCluster, Restored],
            When(HostPowerOnCompleted, c => c.Message.RunId == c.Saga.RunId)
                .HostPowerOnProgress(this),
            When(HostExitedMaintenance, c => c.Message.RunId == c.Saga.RunId)
                .PowerOnProgress(this, (run, c) => PowerOnPolicy.RecordExitMaintenance(run, c.Message, Options.StepRetries, Now)),
            When(VmPoweredOn, c => !rowsRecordVmOutcomes && c.Message.RunId == c.Saga.RunId)
                .PowerOnProgress(this, (run, c) => PowerOnPolicy.RecordVm(run, c.Message, Options.StepRetries, Now)));

        During(ShutDown,
            Ignore(HostPowerOnCompleted),
            Ignore(HostExitedMaintenance),
            Ignore(VmPoweredOn));

        During(Restored,
            Ignore(AlarmCleared),
            Ignore(DeadlineReached),
            Ignore(InventoryCaptured),
            Ignore(InventoryFailed),
            Ignore(VmShutDown),
            Ignore(HostEnteredMaintenance),
            Ignore(HostPoweredOff));

        During(CapturingInventory,
            When(InventoryCaptured, c => c.Message.RunId == c.Saga.RunId)
                .PlanRun(this),
            When(InventoryFailed, c => c.Message.RunId == c.Saga.RunId)
                .InventoryMissing(this, c => $"{c.Message.Fault.Name}: {c.Message.Fault.Message}"),
            When(DeadlineReached, c => c.Message.Step == c.Saga.Step && c.Message.RunId == c.Saga.RunId)
                .InventoryMissing(this, _ => "no inventory by the deadline"),
            Ignore(VmShutDown),
            Ignore(HostEnteredMaintenance),
            Ignore(HostPoweredOff));

        // Late outcomes of earlier steps are still recorded, hence in every running state and after.
        During([ShuttingDownVms, PreparingCluster, EnteringMaintenance, ShuttingDownHosts, ShuttingDownVCenterHost, ShutDown, WaitingToPowerOn],
            When(VmShutDown, c => !rowsRecordVmOutcomes && c.Message.RunId == c.Saga.RunId)
                .Progress(this, (run, c) => ShutdownPolicy.RecordVm(run, c.Message, Options.StepRetries, Now)),
            When(HostEnteredMaintenance, c => c.Message.RunId == c.Saga.RunId)
                .Progress(this, (run, c) => ShutdownPolicy.RecordMaintenance(run, c.Message, Options.StepRetries, Now)),
            When(HostPoweredOff, c => c.Message.RunId == c.Saga.RunId)
                .Progress(this, (run, c) => ShutdownPolicy.RecordHostShutdown(run, c.Message, Options.StepRetries, Now)),
            Ignore(InventoryCaptured),
            Ignore(InventoryFailed));

        During([ShuttingDownVms, PreparingCluster, EnteringMaintenance, ShuttingDownHosts, ShuttingDownVCenterHost],
            When(DeadlineReached, c => c.Message.Step == c.Saga.Step && c.Message.RunId == c.Saga.RunId)
                .Deadline(this));

        During(ShutDown, Ignore(DeadlineReached));

        // Operator commands from the Console (docs/console.md): power on now; do not power on by itself.
        During(ShutDown, WaitingToPowerOn,
            When(PowerOnNow).PowerOnNow(this),
            When(PowerOnCancel).HoldPowerOn(this));
        During([CapturingInventory, ShuttingDownVms, PreparingCluster, EnteringMaintenance, ShuttingDownHosts, ShuttingDownVCenterHost],
            When(PowerOnNow).Refuse(this, c => ("power-on now", c.Message.RequestedBy, "a shutdown run is under way; it finishes first")),
            When(PowerOnCancel).HoldPowerOn(this));
        During([PoweringOnHosts, StartingVCenter, WaitingForHosts, ExitingMaintenance, PoweringOnVms, RestoringCluster, Restored],
            When(PowerOnNow).Refuse(this, c => ("power-on now", c.Message.RequestedBy, "the cluster is powering on or on already")),
            When(PowerOnCancel).Refuse(this, c => ("power-on cancel", c.Message.RequestedBy, "no power-on is pending (one under way is not interrupted)")));

        // A stage's last VM outcome was recorded on its row (StepOutcomeConsumer): the run moves on from that stage, once.
        During(ShuttingDownVms,
            When(StageCompleted, c => c.Message.RunId == c.Saga.RunId && c.Message.Kind == PowerSteps.VmShutdown
                                      && c.Saga.Run!.Phase == RunPhase.VmTiers && c.Message.Stage == c.Saga.Run.CurrentTier)
                .Progress(this, (_, _) => true));
        During(PoweringOnVms,
            When(StageCompleted, c => c.Message.RunId == c.Saga.RunId && c.Message.Kind == PowerSteps.VmPowerOn
                                      && c.Saga.Run!.Phase == RunPhase.VmPowerOn && c.Message.Stage == c.Saga.Run.Restore.CurrentTier)
                .PowerOnProgress(this, (_, _) => true));
        During([CapturingInventory, PreparingCluster, EnteringMaintenance, ShuttingDownHosts, ShuttingDownVCenterHost, ShutDown, WaitingToPowerOn,
            PoweringOnHosts, StartingVCenter, WaitingForHosts, ExitingMaintenance, RestoringCluster, Restored],
            Ignore(StageCompleted));

        // Cluster-wide steps (vCLS, HA/DRS, vSAN, vCenter's host and start): recorded whenever they come (a late outcome too).
        DuringAny(
            When(VclsRetreatEntered, c => c.Saga.Run is not null && c.Message.RunId == c.Saga.RunId)
                .Progress(this, (run, c) => ShutdownPolicy.RecordVclsRetreat(run, c.Message, Options.StepRetries, Now)),
            When(ClusterHaDrsDisabled, c => c.Saga.Run is not null && c.Message.RunId == c.Saga.RunId)
                .Progress(this, (run, c) => ShutdownPolicy.RecordHaDrsDisabled(run, c.Message, Options.StepRetries, Now)),
            When(VsanResyncChecked, c => c.Saga.Run is not null && c.Message.RunId == c.Saga.RunId)
                .Progress(this, (run, c) => ShutdownPolicy.RecordVsanResync(run, c.Message, Options.StepRetries, Now)),
            When(EsxiHostPoweredOff, c => c.Saga.Run is not null && c.Message.RunId == c.Saga.RunId)
                .Progress(this, (run, c) => ShutdownPolicy.RecordEsxiHostShutdown(run, c.Message, Options.StepRetries, Now)),
            When(VCenterStarted, c => c.Saga.Run is not null && c.Message.RunId == c.Saga.RunId)
                .PowerOnProgress(this, (run, c) => PowerOnPolicy.RecordVCenterStarted(run, c.Message, Options.StepRetries, Now)),
            When(ClusterHaDrsRestored, c => c.Saga.Run is not null && c.Message.RunId == c.Saga.RunId)
                .PowerOnProgress(this, (run, c) => PowerOnPolicy.RecordClusterRestore(run, ClusterStep.HaDrsRestore, c.Message.Outcome,
                    $"put back: {ShutdownPolicy.Describe(run.Restore.HaDrs)} (replaced {ShutdownPolicy.Describe(c.Message.Replaced)})", c.Message.Fault, Options.StepRetries, Now)),
            When(VclsRestored, c => c.Saga.Run is not null && c.Message.RunId == c.Saga.RunId)
                .PowerOnProgress(this, (run, c) => PowerOnPolicy.RecordClusterRestore(run, ClusterStep.VclsRestore, c.Message.Outcome,
                    $"vCLS setting {c.Message.Value} (replaced {c.Message.ReplacedValue ?? "absent"})", c.Message.Fault, Options.StepRetries, Now)));

        // After a restart, whatever the run waits on is asked for again (the actuators' steps are idempotent).
        During([CapturingInventory, ShuttingDownVms, PreparingCluster, EnteringMaintenance, ShuttingDownHosts, ShuttingDownVCenterHost],
            When(Resumed, c => c.Message.RunId == c.Saga.RunId)
                .AskAgainForOutstandingSteps(this));
        During([PoweringOnHosts, StartingVCenter, WaitingForHosts, ExitingMaintenance, PoweringOnVms, RestoringCluster],
            When(Resumed, c => c.Message.RunId == c.Saga.RunId)
                .AskAgainForOutstandingPowerOnSteps(this));
        // Waiting: the deadline (the minimum off time) is all there is, and it is data.
        During(ShutDown, WaitingToPowerOn, Restored, Ignore(Resumed));
    }

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

    internal State StateFor(RunPhase phase) => phase switch
    {
        RunPhase.Inventory => CapturingInventory,
        RunPhase.VmTiers => ShuttingDownVms,
        RunPhase.ClusterPrepare => PreparingCluster,
        RunPhase.Maintenance => EnteringMaintenance,
        RunPhase.HostShutdown => ShuttingDownHosts,
        RunPhase.VCenterHostShutdown => ShuttingDownVCenterHost,
        RunPhase.PowerOnPending => WaitingToPowerOn,
        RunPhase.HostPowerOn => PoweringOnHosts,
        RunPhase.VCenterStart => StartingVCenter,
        RunPhase.HostReconnect => WaitingForHosts,
        RunPhase.ExitMaintenance => ExitingMaintenance,
        RunPhase.VmPowerOn => PoweringOnVms,
        RunPhase.ClusterRestore => RestoringCluster,
        RunPhase.Restored => Restored,
        _ => ShutDown,
    };

    public State CapturingInventory { get; } = null!;
    public State ShuttingDownVms { get; } = null!;
    public State EnteringMaintenance { get; } = null!;
    public State ShuttingDownHosts { get; } = null!;

    /// <summary>vCLS retreat, HA off / DRS manual, vSAN resync check: before the host steps.</summary>
    public State PreparingCluster { get; } = null!;

    /// <summary>vCenter's VM is off: its host is finished through its own ESXi API.</summary>
    public State ShuttingDownVCenterHost { get; } = null!;

    /// <summary>Hosts on: vCenter's VM started through its host's ESXi API, waiting for vCenter to answer.</summary>
    public State StartingVCenter { get; } = null!;

    /// <summary>VMs back: HA/DRS and vCLS put back as recorded.</summary>
    public State RestoringCluster { get; } = null!;

    /// <summary>The run ended (its failures, if any, are listed); the instance keeps what was running for the power-on.</summary>
    public State ShutDown { get; } = null!;

    /// <summary>The alarm cleared after the shutdown: waiting for the minimum off time, the zone staying clear.</summary>
    public State WaitingToPowerOn { get; } = null!;
    public State PoweringOnHosts { get; } = null!;

    /// <summary>Hosts powered on; polling the inventory until vCenter sees each connected.</summary>
    public State WaitingForHosts { get; } = null!;
    public State ExitingMaintenance { get; } = null!;
    public State PoweringOnVms { get; } = null!;

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
    public Event<VCenterStarted> VCenterStarted { get; } = null!;
    public Event<ClusterHaDrsRestored> ClusterHaDrsRestored { get; } = null!;
    public Event<VclsRestored> VclsRestored { get; } = null!;
    public Event<ClusterPowerOnNowRequested> PowerOnNow { get; } = null!;
    public Event<PowerOnCancelRequested> PowerOnCancel { get; } = null!;
}
