using System.Text.Json.Serialization;

namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>
/// The stage a run's shutdown or power-on is at; null while none runs (the inventory is being read, the run ended, the
/// power-on waits). Where the run is in its life (capturing, shutting down, off, waiting, powering on, restored) is the
/// state machine's state and nothing else; this says which stage of the plan the running part is at.
/// </summary>
public enum RunPhase
{
    VmTiers,
    /// <summary>vCLS retreat, HA off / DRS manual, then the vSAN resync check (<see cref="PowerRun.ClusterSteps"/>), before the host steps.</summary>
    ClusterPrepare,
    Maintenance,
    HostShutdown,
    /// <summary>vCenter's VM is off: its host is finished through its own ESXi API.</summary>
    VCenterHostShutdown,
    HostPowerOn,
    /// <summary>Through the ESXi host that holds vCenter's VM: out of maintenance, the VM on, vCenter answering.</summary>
    VCenterStart,
    HostReconnect,
    ExitMaintenance,
    VmPowerOn,
    /// <summary>HA/DRS and vCLS put back from the values recorded before the shutdown changed them.</summary>
    ClusterRestore,
}

public enum StepStatus
{
    /// <summary>Not asked yet (or asked again after a failure).</summary>
    Pending,
    /// <summary>Asked; no outcome yet.</summary>
    Requested,
    /// <summary>Reached the asked state (gracefully, forced, or it already was).</summary>
    Done,
    /// <summary>Given up on after the retries; listed in the run's failures.</summary>
    Failed,
    /// <summary>No outcome by the step's deadline; the run moved on (a later outcome is still recorded).</summary>
    Late,
    /// <summary>Not attempted (already off, or a precondition failed).</summary>
    Skipped,
}

/// <summary>
/// A shutdown run as plain data, kept as JSON in the saga's row: the plan, what was running before (the power-on
/// issue restores exactly these VMs, per host and tier), and every step's status. Changed by <see cref="ShutdownPolicy"/> (outcomes) and the <see cref="PlanWalker"/>.
/// </summary>
public sealed class PowerRun
{
    public Guid RunId { get; set; }
    public string Cluster { get; set; } = "";
    public string Zone { get; set; } = "";
    public bool DryRun { get; set; }
    public RunPhase? Phase { get; set; }

    /// <summary>When the shutdown's plan ended (every stage done, or the inventory given up on); null while it runs.</summary>
    public DateTimeOffset? CompletedAt { get; set; }

    /// <summary>Increases whenever the run enters a new step (tier, maintenance, host shutdown); deadlines carry it.</summary>
    public int Step { get; set; }

    public DateTimeOffset? Deadline { get; set; }
    public int InventoryAttempts { get; set; }
    public int CurrentTier { get; set; }
    public List<TierRun> Tiers { get; set; } = [];
    public List<HostRun> Hosts { get; set; } = [];

    /// <summary>The cluster's vCLS/HA/DRS/vSAN settings as the run's inventory read them, before any step changed them.</summary>
    public PowerEvents.Contracts.ClusterSettings? Settings { get; set; }

    /// <summary>vCenter's own VM and the host it runs on, when it runs on this cluster (from the inventory).</summary>
    public string? VCenterVm { get; set; }
    public string? VCenterHost { get; set; }

    /// <summary>On a vSAN cluster: which way its hosts go down and back and why (<see cref="VsanClusterPowerSteps.Decide"/>); null otherwise.</summary>
    public string? VsanPowerPath { get; set; }

    /// <summary>The cluster-wide steps before the host steps (vCLS retreat, HA/DRS, vSAN resync), in stage order.</summary>
    public List<ClusterStep> ClusterSteps { get; set; } = [];

    /// <summary>The tenant tiers and the host steps are done: the run is at vCenter's own tier (the last) and its host. No longer
    /// read (the <see cref="PlanWalker"/> knows its place from <see cref="Phase"/> and the plan); kept for headers stored before.</summary>
    public bool VCenterTurn { get; set; }

    /// <summary>VMs already off when the inventory was read: not touched, not to be powered on later.</summary>
    public List<string> AlreadyOff { get; set; } = [];

    /// <summary>
    /// The run before this one, when an alarm came again after it had finished (one level only). If the cluster was
    /// still off, this run found nothing on, and the power-on must look here for what was running.
    /// </summary>
    public PowerRun? PreviousRun { get; set; }

    /// <summary>
    /// What the power-on brings back: the hosts and VMs that were running before this shutdown, plus, when the run before
    /// it was not restored (still off, or its power-on was interrupted by a new alarm), that run's set too.
    /// </summary>
    public RestoreRun Restore { get; set; } = new();

    /// <summary>The saga's view of the zone: an alarm raised and not cleared since (an operator's power-on is refused meanwhile).</summary>
    public bool ZoneInAlarm { get; set; }

    /// <summary>An operator asked that the cluster not power on by itself (who, why); cleared by an operator's power-on.</summary>
    public string? PowerOnHeldBy { get; set; }

    /// <summary>Run-level failures (e.g. the inventory could not be read).</summary>
    public List<string> Problems { get; set; } = [];

    /// <summary>Entries for the run history written with the next save; not part of the row.</summary>
    [JsonIgnore]
    public List<HistoryEntry> Journal { get; } = [];

    [JsonIgnore]
    public IEnumerable<VmRun> AllVms => Tiers.SelectMany(t => t.Vms);

    public void Record(DateTimeOffset at, string step, string target, RunOutcome outcome, string detail = "") =>
        Journal.Add(new HistoryEntry(RunId, Cluster, at, step, target, outcome, detail));
}

public sealed class TierRun
{
    public string Name { get; set; } = "";
    public List<VmRun> Vms { get; set; } = [];
}

public sealed class VmRun : IStageStep
{
    public string Id { get; set; } = "";
    public string Name { get; set; } = "";
    public string Host { get; set; } = "";
    public string Folder { get; set; } = "";
    public bool ToolsRunning { get; set; }
    public bool IsVCenter { get; set; }
    public StepStatus Status { get; set; }
    public int Attempts { get; set; }

    /// <summary>The actuator's outcome (Graceful, Forced, AlreadyOff, Failed) or the saga's own (Late, DryRun).</summary>
    public RunOutcome Outcome { get; set; }
    public string Detail { get; set; } = "";

    /// <summary>Asked with no guest timeout: the tier's deadline passed before it was its turn.</summary>
    public bool HardPowerOff { get; set; }
}

public sealed class HostRun
{
    public string Name { get; set; } = "";

    /// <summary>The host was powered on when the run started (the power-on issue boots these again).</summary>
    public bool WasPoweredOn { get; set; }
    public bool WasInMaintenance { get; set; }

    /// <summary>It runs vCenter's VM: finished through its own ESXi API after that VM is off, not through vCenter.</summary>
    public bool ViaEsxi { get; set; }
    public StepStatus Maintenance { get; set; }
    public int MaintenanceAttempts { get; set; }
    public StepStatus Shutdown { get; set; }
    public int ShutdownAttempts { get; set; }
    public string Detail { get; set; } = "";
}

/// <summary>The power-on phase as plain data: tiers already in power-on order (the shutdown's, reversed). Changed by <see cref="PowerOnPolicy"/> (outcomes) and the <see cref="PlanWalker"/>.</summary>
public sealed class RestoreRun
{
    public List<RestoreHost> Hosts { get; set; } = [];
    public List<RestoreTier> Tiers { get; set; } = [];

    /// <summary>vCenter's VM and the host whose ESXi API starts it (follows the VM when it was found elsewhere).</summary>
    public string? VCenterVm { get; set; }
    public string? VCenterHost { get; set; }
    public ClusterStep? VCenterStart { get; set; }

    /// <summary>The shutdown went through vSAN's cluster power API: <c>clusterPoweredOn</c> before the maintenance exits (<see cref="VsanClusterPowerSteps"/>).</summary>
    public ClusterStep? VsanClusterPowerOn { get; set; }

    /// <summary>HA/DRS as recorded before the first shutdown that changed them (null: not changed, nothing to put back).</summary>
    public PowerEvents.Contracts.ClusterHaDrsSettings? HaDrs { get; set; }

    /// <summary>vCLS retreat mode was entered: <see cref="VclsValue"/> (null: the setting did not exist) is put back.</summary>
    public bool RestoreVcls { get; set; }
    public string? VclsValue { get; set; }

    /// <summary>The cluster-wide steps after the VMs (HA/DRS, vCLS back).</summary>
    public List<ClusterStep> ClusterSteps { get; set; } = [];
    public int CurrentTier { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? CompletedAt { get; set; }

    /// <summary>When the scheduled power-on is due (the minimum off time, the zone staying clear); null when none is scheduled.</summary>
    public DateTimeOffset? DueAt { get; set; }

    /// <summary>When the next staggered host power-on is due (hosts still <see cref="StepStatus.Pending"/>).</summary>
    public DateTimeOffset? NextHostPowerOnAt { get; set; }

    /// <summary>The current phase's own deadline; <see cref="PowerRun.Deadline"/> may be an earlier wake-up (stagger, next poll).</summary>
    public DateTimeOffset? PhaseDeadline { get; set; }

    public int InventoryPolls { get; set; }
    public bool InventoryOutstanding { get; set; }

    /// <summary>The alarm came back during the power-on: no further step was sent, the shutdown ran again.</summary>
    public bool Interrupted { get; set; }

    /// <summary>
    /// The alarm came back while hosts were already told to power on and not yet seen in vCenter: nothing more is
    /// asked, the saga waits for those hosts to come up (or their deadline), then shuts down again. The alarm that did it:
    /// </summary>
    public bool Draining { get; set; }
    public Guid? DrainAlarmId { get; set; }
    public DateTimeOffset? DrainAlarmRaisedAt { get; set; }

    [JsonIgnore]
    public IEnumerable<RestoreVm> AllVms => Tiers.SelectMany(t => t.Vms);

    [JsonIgnore]
    public bool IsEmpty => Hosts.Count == 0 && !AllVms.Any() && HaDrs is null && !RestoreVcls;
}

public sealed class RestoreHost
{
    public string Name { get; set; } = "";

    /// <summary>It was in maintenance mode before the shutdown: it is left in it.</summary>
    public bool WasInMaintenance { get; set; }
    public StepStatus PowerOn { get; set; }
    public int PowerOnAttempts { get; set; }
    public bool Connected { get; set; }
    public StepStatus ExitMaintenance { get; set; }
    public int ExitMaintenanceAttempts { get; set; }
    public string Detail { get; set; } = "";

    /// <summary>The host is back and usable: its VMs may be powered on.</summary>
    [JsonIgnore]
    public bool Ready => Connected && ExitMaintenance is StepStatus.Done or StepStatus.Skipped;
}

public sealed class RestoreTier
{
    public string Name { get; set; } = "";
    public List<RestoreVm> Vms { get; set; } = [];
}

public sealed class RestoreVm : IStageStep
{
    public string Id { get; set; } = "";
    public string Name { get; set; } = "";
    public string Host { get; set; } = "";
    public bool IsVCenter { get; set; }
    public StepStatus Status { get; set; }
    public int Attempts { get; set; }
    public RunOutcome Outcome { get; set; }
    public string Detail { get; set; } = "";
}

/// <summary>One line of the run history table.</summary>
public sealed record HistoryEntry(Guid RunId, string Cluster, DateTimeOffset At, string Step, string Target, RunOutcome Outcome, string Detail);

/// <summary>A cluster-wide step (vCLS, HA/DRS, vSAN, vCenter's start) with one status, in a stage of its phase.</summary>
public sealed class ClusterStep
{
    public const string VclsRetreat = "vcls-retreat";
    public const string HaDrsDisable = "ha-drs-disable";
    public const string VsanResync = "vsan-resync";
    public const string VCenterStart = "vcenter-start";
    public const string HaDrsRestore = "ha-drs-restore";
    public const string VclsRestore = "vcls-restore";

    public string Kind { get; set; } = "";

    /// <summary>Steps of a lower stage finish before the next stage is asked (vSAN's resync check after vCLS and HA/DRS).</summary>
    public int Stage { get; set; }
    public StepStatus Status { get; set; }
    public int Attempts { get; set; }
    public RunOutcome Outcome { get; set; }
    public string Detail { get; set; } = "";

    public static readonly StepAccess<ClusterStep> Access = new(s => s.Status, s => s.Attempts, (s, st, a) => (s.Status, s.Attempts) = (st, a));
}
