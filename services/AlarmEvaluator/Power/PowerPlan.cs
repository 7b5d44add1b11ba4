namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>What a step does (its command and the outcome that answers it). The history's step column is <see cref="StepKinds.Name"/>.</summary>
public enum StepKind
{
    VmShutdown,
    VclsRetreat,
    HaDrsDisable,
    VsanResync,
    HostMaintenance,
    HostShutdown,
    EsxiHostShutdown,
    HostPowerOn,
    VCenterStart,
    HostReconnect,
    HostExitMaintenance,
    VmPowerOn,
    HaDrsRestore,
    VclsRestore,
    /// <summary>vSAN's cluster power API: the whole cluster off (replaces the host steps) or on (replaces the maintenance exits).</summary>
    VsanClusterPowerOff,
    VsanClusterPowerOn,
}

public static class StepKinds
{
    /// <summary>The step's name in the run history and in <c>power_step.kind</c> (unchanged from when kinds were strings).</summary>
    public static string Name(this StepKind kind) => kind switch
    {
        StepKind.VmShutdown => PowerSteps.VmShutdown,
        StepKind.VclsRetreat => ClusterStep.VclsRetreat,
        StepKind.HaDrsDisable => ClusterStep.HaDrsDisable,
        StepKind.VsanResync => ClusterStep.VsanResync,
        StepKind.HostMaintenance => ShutdownPolicy.MaintenanceStep,
        StepKind.HostShutdown => ShutdownPolicy.HostShutdownStep,
        StepKind.EsxiHostShutdown => ShutdownPolicy.EsxiHostShutdownStep,
        StepKind.HostPowerOn => PowerOnPolicy.HostPowerOnStep,
        StepKind.VCenterStart => ClusterStep.VCenterStart,
        StepKind.HostReconnect => PowerOnPolicy.ReconnectStep,
        StepKind.HostExitMaintenance => PowerOnPolicy.ExitMaintenanceStep,
        StepKind.VmPowerOn => PowerSteps.VmPowerOn,
        StepKind.HaDrsRestore => ClusterStep.HaDrsRestore,
        StepKind.VclsRestore => ClusterStep.VclsRestore,
        StepKind.VsanClusterPowerOff => VsanClusterPowerSteps.PowerOff,
        StepKind.VsanClusterPowerOn => VsanClusterPowerSteps.PowerOn,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    public static StepKind FromName(string name) =>
        Enum.GetValues<StepKind>().FirstOrDefault(k => k.Name() == name) is var kind && kind.Name() == name
            ? kind : throw new ArgumentOutOfRangeException(nameof(name), name, "no such step kind");
}

/// <summary>One step of a stage: what is done (<paramref name="Kind"/>) to what (<paramref name="Target"/>: a VM's id, a host, the cluster), with what.</summary>
/// <param name="Name">The target as the history names it (a VM's name, the host, the cluster).</param>
/// <param name="Parameters">What the command carries beyond its target (guest timeout, vSAN mode, vCenter's VM, …).</param>
public sealed record RunStep(StepKind Kind, string Target, string Name, IReadOnlyDictionary<string, string> Parameters)
{
    public RunStep(StepKind kind, string target, string name)
        : this(kind, target, name, new Dictionary<string, string>())
    {
    }

    /// <summary>Planned not to be asked (a host that was off, vCenter's host deferred to its ESXi API): the outcome and why, recorded when its stage starts.</summary>
    public (RunOutcome Outcome, string Why)? NotAsked { get; init; }
}

/// <summary>
/// A stage: a set of steps asked together, at most <paramref name="MaxParallel"/> at once (0: all), each asked again up to
/// <paramref name="Retries"/> times after a failure, done when every step reported one of <paramref name="DoneWhen"/> (or
/// was given up on, or was late). When <paramref name="Deadline"/> passes, its open steps are late and the run moves on.
/// </summary>
/// <param name="Phase">Which kind of stage it is (what the run's <see cref="PowerRun.Phase"/> says while it runs).</param>
/// <param name="NextMayStartBeforeDone">The next stage may start while steps of this one are still open.</param>
public sealed record RunStage(
    RunPhase Phase, string Name, IReadOnlyList<RunStep> Steps, TimeSpan Deadline, int MaxParallel, int Retries,
    IReadOnlyList<RunOutcome> DoneWhen, bool NextMayStartBeforeDone = false)
{
    /// <summary>Time between two steps' asks (host power-ons: inrush current); zero: together.</summary>
    public TimeSpan Stagger { get; init; }

    /// <summary>A stage that waits for a condition seen by polling (hosts reconnected in vCenter): how often.</summary>
    public TimeSpan PollInterval { get; init; }
}

/// <summary>A run as a plan: its stages in order. The shutdown's and the power-on's are built by <see cref="ShutdownPlanner"/> and <see cref="RestorePlanner"/>.</summary>
public sealed record PowerPlan(IReadOnlyList<RunStage> Stages)
{
    /// <summary>Every step, stage by stage, in the order they are asked.</summary>
    public IEnumerable<RunStep> Steps => Stages.SelectMany(s => s.Steps);

    /// <summary>The longest the plan may take: each stage's deadline, a VM stage's guest timeouts per batch when shorter, a staggered stage's gaps.</summary>
    public TimeSpan WorstCase(TimeSpan guestShutdownTimeout)
    {
        var total = TimeSpan.Zero;
        // A stage whose steps are all planned not to be asked takes no time.
        foreach (var stage in Stages.Where(s => s.Steps.Any(st => st.NotAsked is null)))
        {
            if (stage.Phase == RunPhase.VmTiers)
            {
                var batches = stage.MaxParallel == 0 ? 1 : (stage.Steps.Count + stage.MaxParallel - 1) / stage.MaxParallel;
                var guest = guestShutdownTimeout * batches;
                total += guest < stage.Deadline ? guest : stage.Deadline;
            }
            else
            {
                total += stage.Deadline;
            }
        }
        return total;
    }
}

/// <summary>
/// What a run must ask for next, in either direction: the steps the <see cref="PlanWalker"/> has just claimed (or found outstanding after a
/// restart), whose commands go out with the transition. As plan steps (<see cref="Steps"/>) each has one command
/// (<see cref="StepCommands.For"/>), so the saga sends the shutdown's and the power-on's the same way.
/// </summary>
public sealed record Asks
{
    public static readonly Asks None = new();

    public IReadOnlyList<VmRun> VmShutdowns { get; init; } = [];

    /// <summary>Cluster-wide steps: vCLS retreat, HA/DRS off, vSAN resync check; vCenter's start, HA/DRS and vCLS put back.</summary>
    public IReadOnlyList<ClusterStep> ClusterSteps { get; init; } = [];
    public IReadOnlyList<HostRun> Maintenance { get; init; } = [];
    public IReadOnlyList<HostRun> HostShutdowns { get; init; } = [];

    /// <summary>vCenter's host, to finish through its own ESXi API.</summary>
    public IReadOnlyList<HostRun> EsxiShutdowns { get; init; } = [];
    public IReadOnlyList<RestoreHost> PowerOns { get; init; } = [];

    /// <summary>A reconnect poll: the inventory is read to see which hosts vCenter has back.</summary>
    public bool ReadInventory { get; init; }
    public IReadOnlyList<RestoreHost> ExitMaintenance { get; init; } = [];
    public IReadOnlyList<RestoreVm> VmPowerOns { get; init; } = [];

    /// <summary>An interrupted power-on has drained: the shutdown starts now.</summary>
    public bool ShutDownAgain { get; init; }

    public bool IsEmpty => VmShutdowns.Count == 0 && ClusterSteps.Count == 0 && Maintenance.Count == 0 && HostShutdowns.Count == 0 && EsxiShutdowns.Count == 0
                           && PowerOns.Count == 0 && !ReadInventory && ExitMaintenance.Count == 0 && VmPowerOns.Count == 0;

    /// <summary>Both sets of asks, this one's first.</summary>
    public Asks And(Asks other) => new()
    {
        VmShutdowns = [.. VmShutdowns, .. other.VmShutdowns], ClusterSteps = [.. ClusterSteps, .. other.ClusterSteps],
        Maintenance = [.. Maintenance, .. other.Maintenance], HostShutdowns = [.. HostShutdowns, .. other.HostShutdowns],
        EsxiShutdowns = [.. EsxiShutdowns, .. other.EsxiShutdowns], PowerOns = [.. PowerOns, .. other.PowerOns],
        ReadInventory = ReadInventory || other.ReadInventory, ExitMaintenance = [.. ExitMaintenance, .. other.ExitMaintenance],
        VmPowerOns = [.. VmPowerOns, .. other.VmPowerOns], ShutDownAgain = ShutDownAgain || other.ShutDownAgain,
    };

    /// <summary>vCenter's host through its ESXi API: vSAN's maintenance mode, and vCenter's VM to follow if it moved since the plan.</summary>
    public static Dictionary<string, string> EsxiParameters(PowerRun run)
    {
        var parameters = new Dictionary<string, string> { ["vsan"] = run.Settings?.VsanEnabled == true ? "true" : "false" };
        if (run.VCenterVm is { } vm)
            parameters["vcenterVm"] = vm;
        return parameters;
    }

    /// <summary>The asks as the plan's steps, in the order their commands go out.</summary>
    public IEnumerable<RunStep> Steps(PowerRun run, ClusterOptions options)
    {
        var vsan = run.Settings?.VsanEnabled == true;
        foreach (var vm in VmShutdowns)
            yield return new RunStep(StepKind.VmShutdown, vm.Id, vm.Name, new Dictionary<string, string>
            {
                // A hard power-off: the tier's deadline passed before the VM's turn, or while it was silent.
                ["guestShutdownTimeout"] = (vm.HardPowerOff ? TimeSpan.Zero : options.GuestShutdownTimeout).ToString("c"),
            });
        foreach (var step in ClusterSteps)
        {
            var kind = StepKinds.FromName(step.Kind);
            yield return kind == StepKind.VCenterStart
                ? new RunStep(kind, run.Restore.VCenterHost ?? "", run.Restore.VCenterHost ?? run.Cluster, new Dictionary<string, string> { ["vm"] = run.Restore.VCenterVm ?? "" })
                : new RunStep(kind, run.Cluster, run.Cluster);
        }
        // A whole-cluster shutdown: vSAN's data stays where it is (ensureObjectAccessibility cannot succeed on the last hosts).
        foreach (var host in Maintenance)
            yield return new RunStep(StepKind.HostMaintenance, host.Name, host.Name,
                vsan ? new Dictionary<string, string> { ["vsanObjectAction"] = "noAction" } : new Dictionary<string, string>());
        foreach (var host in HostShutdowns)
            yield return new RunStep(StepKind.HostShutdown, host.Name, host.Name);
        foreach (var host in EsxiShutdowns)
            yield return new RunStep(StepKind.EsxiHostShutdown, host.Name, host.Name, EsxiParameters(run));
        foreach (var host in PowerOns)
            yield return new RunStep(StepKind.HostPowerOn, host.Name, host.Name);
        if (ReadInventory)
            yield return new RunStep(StepKind.HostReconnect, run.Cluster, run.Cluster);
        foreach (var host in ExitMaintenance)
            yield return new RunStep(StepKind.HostExitMaintenance, host.Name, host.Name);
        foreach (var vm in VmPowerOns)
            yield return new RunStep(StepKind.VmPowerOn, vm.Id, vm.Name);
    }
}

/// <summary>Each kind of step's one command, to the queue of the service that carries it out.</summary>
public static class StepCommands
{
    /// <summary>The command that asks <paramref name="step"/> of <paramref name="run"/>; null when there is nothing to send (HA/DRS not recorded).</summary>
    public static object? For(PowerRun run, RunStep step) => step.Kind switch
    {
        StepKind.VmShutdown => new PowerEvents.Contracts.VmShutdownRequested(run.RunId, run.Cluster, step.Target, step.Name,
            TimeSpan.ParseExact(step.Parameters["guestShutdownTimeout"], "c", System.Globalization.CultureInfo.InvariantCulture)),
        StepKind.VclsRetreat => new PowerEvents.Contracts.VclsRetreatRequested(run.RunId, run.Cluster),
        StepKind.HaDrsDisable => new PowerEvents.Contracts.ClusterHaDrsDisableRequested(run.RunId, run.Cluster),
        StepKind.VsanResync => new PowerEvents.Contracts.VsanResyncCheckRequested(run.RunId, run.Cluster),
        StepKind.HostMaintenance => new PowerEvents.Contracts.HostMaintenanceRequested(run.RunId, run.Cluster, step.Target,
            step.Parameters.GetValueOrDefault("vsanObjectAction")),
        StepKind.HostShutdown => new PowerEvents.Contracts.HostShutdownRequested(run.RunId, run.Cluster, step.Target),
        StepKind.EsxiHostShutdown => new PowerEvents.Contracts.EsxiHostShutdownRequested(run.RunId, run.Cluster, step.Target,
            step.Parameters.GetValueOrDefault("vsan") == "true", VCenterVm: step.Parameters.GetValueOrDefault("vcenterVm")),
        StepKind.HostPowerOn => new PowerEvents.Contracts.PowerOnRequested(run.RunId, run.Cluster, step.Target),
        StepKind.VCenterStart => new PowerEvents.Contracts.VCenterStartRequested(run.RunId, run.Cluster, step.Target, step.Parameters.GetValueOrDefault("vm") ?? ""),
        StepKind.HostReconnect => new PowerEvents.Contracts.ClusterInventoryRequested(run.RunId, run.Cluster),
        StepKind.HostExitMaintenance => new PowerEvents.Contracts.HostExitMaintenanceRequested(run.RunId, run.Cluster, step.Target),
        StepKind.VmPowerOn => new PowerEvents.Contracts.VmPowerOnRequested(run.RunId, run.Cluster, step.Target, step.Name),
        StepKind.HaDrsRestore => run.Restore.HaDrs is { } haDrs ? new PowerEvents.Contracts.ClusterHaDrsRestoreRequested(run.RunId, run.Cluster, haDrs) : null,
        StepKind.VclsRestore => new PowerEvents.Contracts.VclsRestoreRequested(run.RunId, run.Cluster, run.Restore.VclsValue),
        StepKind.VsanClusterPowerOff or StepKind.VsanClusterPowerOn => VsanClusterPowerSteps.Command(run, step.Kind.Name()),
        _ => throw new ArgumentOutOfRangeException(nameof(step), step.Kind, null),
    };
}
