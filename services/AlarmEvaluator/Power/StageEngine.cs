namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>A step with one status: a VM's shutdown or power-on (its row in <c>power_step</c>).</summary>
public interface IStageStep
{
    string Name { get; }
    StepStatus Status { get; set; }
    int Attempts { get; set; }
    RunOutcome Outcome { get; set; }
    string Detail { get; set; }
}

/// <summary>
/// The rules every step follows, whatever its kind (VM or host, shutdown or power-on) and wherever its status lives
/// (the saga's run in memory, or its row recorded by <see cref="StepOutcomeConsumer"/>): what an outcome does to a step.
/// Which steps of a stage are asked next, stage completion and deadlines are the <see cref="PlanWalker"/>'s.
/// </summary>
public static class StageEngine
{
    /// <summary>
    /// What an outcome does to a step now <paramref name="status"/> after <paramref name="attempts"/> attempts: done, asked
    /// again (<see cref="StepStatus.Pending"/>, only while its stage is current and retries last), or given up on
    /// (<see cref="StepStatus.Failed"/>). Null: not news (a step not waiting for an outcome: a duplicate, another run's).
    /// A <see cref="StepStatus.Late"/> step's outcome is still recorded, but never retried: its stage has moved on.
    /// </summary>
    public static StepStatus? Decide(StepStatus status, int attempts, bool succeeded, bool stageCurrent, int retries)
    {
        if (status is not (StepStatus.Requested or StepStatus.Late))
            return null;
        if (succeeded)
            return StepStatus.Done;
        return status == StepStatus.Requested && stageCurrent && attempts <= retries ? StepStatus.Pending : StepStatus.Failed;
    }

    /// <summary>The run-history outcome of a decision: the reported outcome when done, else <c>Retry</c> or <c>Failed</c>.</summary>
    public static RunOutcome HistoryOutcome(StepStatus decided, RunOutcome reported) => decided switch
    {
        StepStatus.Pending => RunOutcome.Retry,
        StepStatus.Failed => RunOutcome.Failed,
        _ => reported,
    };

    /// <summary>True while the step holds one of its stage's parallel slots.</summary>
    public static bool Open(StepStatus status) => status is StepStatus.Pending or StepStatus.Requested;

    /// <summary>Records an outcome on a step held in memory (see <see cref="Decide"/>); writes its history line. False: not news.</summary>
    public static bool Record(PowerRun run, string kind, IStageStep step, bool succeeded, RunOutcome reported, string detail, bool stageCurrent,
        int retries, DateTimeOffset now)
    {
        if (Decide(step.Status, step.Attempts, succeeded, stageCurrent, retries) is not { } decided)
            return false;
        step.Status = decided;
        step.Outcome = reported;
        step.Detail = detail;
        run.Record(now, kind, step.Name, HistoryOutcome(decided, reported), detail);
        return true;
    }

    /// <summary>Records an outcome on a step held inside a larger record (a host's); <paramref name="givenUp"/> notes why it failed. False: not news.</summary>
    public static bool Record<T>(PowerRun run, string kind, T item, string name, StepAccess<T> step, bool succeeded, RunOutcome reported, string detail,
        bool stageCurrent, int retries, DateTimeOffset now, Action<T> givenUp)
    {
        if (Decide(step.Status(item), step.Attempts(item), succeeded, stageCurrent, retries) is not { } decided)
            return false;
        step.Set(item, decided, step.Attempts(item));
        if (decided == StepStatus.Failed)
            givenUp(item);
        run.Record(now, kind, name, HistoryOutcome(decided, reported), detail);
        return true;
    }

    /// <summary>The run enters a new stage (or waits anew): a new step number, so a deadline message of the one before is ignored.</summary>
    public static void Enter(PowerRun run, DateTimeOffset? deadline)
    {
        run.Step++;
        run.Deadline = deadline;
    }

    /// <summary>The shutdown or the power-on ended: no stage, no deadline; one history line lists what failed.</summary>
    public static void End(PowerRun run, string step, Func<IReadOnlyList<string>> failures, DateTimeOffset now)
    {
        run.Phase = null;
        Enter(run, null);
        var failed = failures();
        run.Record(now, step, run.Cluster, failed.Count == 0 ? RunOutcome.Completed : RunOutcome.CompletedWithFailures, string.Join("; ", failed));
    }

    /// <summary>The fault of an actuator's outcome as the history's detail.</summary>
    public static string Detail(PowerEvents.Contracts.VCenterFault? fault) => fault is null ? "" : $"{fault.Name}: {fault.Message}";
}

/// <summary>How to read and write one step held inside a larger record (a host's maintenance, shutdown, power-on, exit).</summary>
public sealed record StepAccess<T>(Func<T, StepStatus> Status, Func<T, int> Attempts, Action<T, StepStatus, int> Set);

/// <summary>The host steps' status and attempt fields, as <see cref="StageEngine"/> reads and writes them.</summary>
public static class HostSteps
{
    public static readonly StepAccess<HostRun> Maintenance = new(h => h.Maintenance, h => h.MaintenanceAttempts, (h, s, a) => (h.Maintenance, h.MaintenanceAttempts) = (s, a));
    public static readonly StepAccess<HostRun> Shutdown = new(h => h.Shutdown, h => h.ShutdownAttempts, (h, s, a) => (h.Shutdown, h.ShutdownAttempts) = (s, a));
    public static readonly StepAccess<RestoreHost> PowerOn = new(h => h.PowerOn, h => h.PowerOnAttempts, (h, s, a) => (h.PowerOn, h.PowerOnAttempts) = (s, a));
    public static readonly StepAccess<RestoreHost> ExitMaintenance = new(h => h.ExitMaintenance, h => h.ExitMaintenanceAttempts,
        (h, s, a) => (h.ExitMaintenance, h.ExitMaintenanceAttempts) = (s, a));
}

public static class RunPhases
{
    /// <summary>A stage of the power-on's plan (the others are the shutdown's).</summary>
    public static bool IsPowerOn(this RunPhase phase) =>
        phase is RunPhase.HostPowerOn or RunPhase.VCenterStart or RunPhase.HostReconnect or RunPhase.ExitMaintenance or RunPhase.VmPowerOn or RunPhase.ClusterRestore;
}
