using MassTransit;
using Microsoft.Extensions.Options;
using PowerEvents.Contracts;

namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>
/// One instance per protected cluster: capture the inventory, shut VMs down tier by tier, hosts into maintenance,
/// hosts off. It only sequences; every decision is <see cref="ShutdownPlanner"/> / <see cref="ShutdownPolicy"/>.
/// Outcomes of another run (a plan preview, an older run) are ignored by their <c>RunId</c>; deadlines by their step.
/// </summary>
public sealed class PowerStateMachine : MassTransitStateMachine<PowerSagaState>
{
    public PowerStateMachine(IOptions<PowerOptions> options, TimeProvider clock, ILogger<PowerStateMachine> logger)
    {
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
        Event(() => VmShutDown, x => { x.CorrelateById(c => PowerIds.ForCluster(c.Message.Cluster)); x.OnMissingInstance(m => m.Discard()); });
        Event(() => HostEnteredMaintenance, x => { x.CorrelateById(c => PowerIds.ForCluster(c.Message.Cluster)); x.OnMissingInstance(m => m.Discard()); });
        Event(() => HostPoweredOff, x => { x.CorrelateById(c => PowerIds.ForCluster(c.Message.Cluster)); x.OnMissingInstance(m => m.Discard()); });

        Initially(
            When(ShutdownRequested)
                .StartRun(this)
                .TransitionTo(CapturingInventory));

        // A new alarm after a finished run starts a new run: the cluster may have been brought back by hand
        // (power-on is not automated yet), and protection comes first. The finished run is kept as PreviousRun.
        During(ShutDown,
            When(ShutdownRequested)
                .StartRun(this)
                .TransitionTo(CapturingInventory),
            Ignore(AlarmCleared));

        During(CapturingInventory, ShuttingDownVms, EnteringMaintenance, ShuttingDownHosts,
            // One run at a time: a second alarm changes nothing.
            When(ShutdownRequested)
                .Then(c => c.Saga.Run?.Record(Now, "alarm", c.Message.Zone, "AlreadyRunning", $"alarm {c.Message.AlarmId} raised again during the run")),
            When(AlarmCleared)
                .Then(c =>
                {
                    c.Saga.AlarmClearedAt ??= c.Message.ClearedAt;
                    c.Saga.Run?.Record(Now, "alarm", c.Message.Zone, "Cleared", "alarm cleared during the shutdown; the shutdown finishes");
                }));

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
        During(ShuttingDownVms, EnteringMaintenance, ShuttingDownHosts, ShutDown,
            When(VmShutDown, c => c.Message.RunId == c.Saga.RunId)
                .Progress(this, (run, c) => ShutdownPolicy.RecordVm(run, c.Message, Options.StepRetries, Now)),
            When(HostEnteredMaintenance, c => c.Message.RunId == c.Saga.RunId)
                .Progress(this, (run, c) => ShutdownPolicy.RecordMaintenance(run, c.Message, Options.StepRetries, Now)),
            When(HostPoweredOff, c => c.Message.RunId == c.Saga.RunId)
                .Progress(this, (run, c) => ShutdownPolicy.RecordHostShutdown(run, c.Message, Options.StepRetries, Now)),
            Ignore(InventoryCaptured),
            Ignore(InventoryFailed));

        During(ShuttingDownVms, EnteringMaintenance, ShuttingDownHosts,
            When(DeadlineReached, c => c.Message.Step == c.Saga.Step && c.Message.RunId == c.Saga.RunId)
                .Deadline(this));

        During(ShutDown, Ignore(DeadlineReached));

        // After a restart, whatever the run waits on is asked for again (the actuators' steps are idempotent).
        During(CapturingInventory, ShuttingDownVms, EnteringMaintenance, ShuttingDownHosts,
            When(Resumed, c => c.Message.RunId == c.Saga.RunId)
                .AskAgainForOutstandingSteps(this));
        During(ShutDown, Ignore(Resumed));
    }

    internal PowerOptions Options { get; }
    internal TimeProvider Clock { get; }
    internal ILogger Logger { get; }
    internal DateTimeOffset Now => Clock.GetUtcNow();

    internal ClusterOptions ClusterOf(PowerSagaState saga) =>
        Options.FindCluster(saga.Cluster) ?? throw new InvalidOperationException($"Power:Clusters: cluster '{saga.Cluster}' is no longer configured");

    internal State StateFor(RunPhase phase) => phase switch
    {
        RunPhase.Inventory => CapturingInventory,
        RunPhase.VmTiers => ShuttingDownVms,
        RunPhase.Maintenance => EnteringMaintenance,
        RunPhase.HostShutdown => ShuttingDownHosts,
        _ => ShutDown,
    };

    public State CapturingInventory { get; } = null!;
    public State ShuttingDownVms { get; } = null!;
    public State EnteringMaintenance { get; } = null!;
    public State ShuttingDownHosts { get; } = null!;

    /// <summary>The run ended (its failures, if any, are listed); the instance keeps what was running for the power-on.</summary>
    public State ShutDown { get; } = null!;

    public Event<ClusterShutdownRequested> ShutdownRequested { get; } = null!;
    public Event<ClusterAlarmCleared> AlarmCleared { get; } = null!;
    public Event<PowerRunDeadlineReached> DeadlineReached { get; } = null!;
    public Event<PowerRunResumed> Resumed { get; } = null!;
    public Event<ClusterInventoryCaptured> InventoryCaptured { get; } = null!;
    public Event<ClusterInventoryFailed> InventoryFailed { get; } = null!;
    public Event<VmShutDown> VmShutDown { get; } = null!;
    public Event<HostEnteredMaintenance> HostEnteredMaintenance { get; } = null!;
    public Event<HostPoweredOff> HostPoweredOff { get; } = null!;
}
