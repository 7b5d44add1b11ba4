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
        foreach (var stage in Stages)
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
