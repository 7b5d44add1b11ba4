using MassTransit;
using PowerEvents.Contracts;

namespace PowerEvents.Hosting;

/// <summary>
/// Commands are sent, not published: each goes to the one queue of the service that carries it out. The queue names
/// are those the services' consumers already have (the kebab-case endpoint formatter with the service's name as
/// prefix), so the actuators need no change. Events stay published. <see cref="EnsureMapped"/> registers the map with
/// MassTransit's <see cref="EndpointConvention"/>, so <c>context.Send(command)</c> finds the queue.
/// </summary>
public static class CommandRoutes
{
    public const string VCenterActuator = "vcenter-actuator";
    public const string IloActuator = "ilo-actuator";

    /// <summary>The power saga's queue (<c>PowerSagaDefinition</c>): its own commands (start, clear, deadline, resume).</summary>
    public const string PowerSagaQueue = "alarm-evaluator-power-saga";

    /// <summary>Command type → queue name.</summary>
    public static readonly IReadOnlyDictionary<Type, string> Queues = new Dictionary<Type, string>
    {
        [typeof(ClusterInventoryRequested)] = $"{VCenterActuator}-cluster-inventory-requested",
        [typeof(VmShutdownRequested)] = $"{VCenterActuator}-vm-shutdown-requested",
        [typeof(VmPowerOnRequested)] = $"{VCenterActuator}-vm-power-on-requested",
        [typeof(HostMaintenanceRequested)] = $"{VCenterActuator}-host-maintenance-requested",
        [typeof(HostExitMaintenanceRequested)] = $"{VCenterActuator}-host-exit-maintenance-requested",
        [typeof(HostShutdownRequested)] = $"{VCenterActuator}-host-shutdown-requested",
        [typeof(VclsRetreatRequested)] = $"{VCenterActuator}-vcls-retreat-requested",
        [typeof(VclsRestoreRequested)] = $"{VCenterActuator}-vcls-restore-requested",
        [typeof(ClusterHaDrsDisableRequested)] = $"{VCenterActuator}-cluster-ha-drs-disable-requested",
        [typeof(ClusterHaDrsRestoreRequested)] = $"{VCenterActuator}-cluster-ha-drs-restore-requested",
        [typeof(VsanResyncCheckRequested)] = $"{VCenterActuator}-vsan-resync-check-requested",
        [typeof(VsanClusterPowerRequested)] = $"{VCenterActuator}-vsan-cluster-power-requested",
        [typeof(EsxiHostLoginCheckRequested)] = $"{VCenterActuator}-esxi-host-login-check-requested",
        [typeof(EsxiHostShutdownRequested)] = $"{VCenterActuator}-esxi-host-shutdown-requested",
        [typeof(VCenterStartRequested)] = $"{VCenterActuator}-vcenter-start-requested",
        [typeof(PowerOnRequested)] = $"{IloActuator}-power-on-requested",
        [typeof(PowerStateRequested)] = $"{IloActuator}-power-state-requested",
        [typeof(ClusterShutdownRequested)] = PowerSagaQueue,
        [typeof(ClusterAlarmCleared)] = PowerSagaQueue,
        [typeof(PowerRunDeadlineReached)] = PowerSagaQueue,
        [typeof(PowerRunResumed)] = PowerSagaQueue,
        [typeof(PowerStageCompleted)] = PowerSagaQueue,
    };

    /// <summary>The commands that make an actuator act: only the power saga's account may send them (<see cref="CommandOriginFilter{T}"/>).</summary>
    public static readonly IReadOnlySet<Type> ActuatorCommands = Queues
        .Where(q => q.Value.StartsWith(VCenterActuator + "-", StringComparison.Ordinal) || q.Value.StartsWith(IloActuator + "-", StringComparison.Ordinal))
        .Select(q => q.Key)
        .ToHashSet();

    static readonly Lazy<bool> Mapped = new(() =>
    {
        // EndpointConvention is process-wide; map once (several services may share a test process).
        Map<ClusterInventoryRequested>();
        Map<VmShutdownRequested>();
        Map<VmPowerOnRequested>();
        Map<HostMaintenanceRequested>();
        Map<HostExitMaintenanceRequested>();
        Map<HostShutdownRequested>();
        Map<VclsRetreatRequested>();
        Map<VclsRestoreRequested>();
        Map<ClusterHaDrsDisableRequested>();
        Map<ClusterHaDrsRestoreRequested>();
        Map<VsanResyncCheckRequested>();
        Map<VsanClusterPowerRequested>();
        Map<EsxiHostLoginCheckRequested>();
        Map<EsxiHostShutdownRequested>();
        Map<VCenterStartRequested>();
        Map<PowerOnRequested>();
        Map<PowerStateRequested>();
        Map<ClusterShutdownRequested>();
        Map<ClusterAlarmCleared>();
        Map<PowerRunDeadlineReached>();
        Map<PowerRunResumed>();
        Map<PowerStageCompleted>();
        return true;
    });

    /// <summary>The queue of a command type (for a test harness that stands in for the service carrying it out).</summary>
    public static string QueueOf<T>() => Queues[typeof(T)];

    /// <summary>Registers the map with MassTransit (idempotent). Call before the first send.</summary>
    public static void EnsureMapped() => _ = Mapped.Value;

    static void Map<T>()
        where T : class =>
        EndpointConvention.Map<T>(new Uri($"queue:{Queues[typeof(T)]}"));
}
