using System.Text.Json;
using System.Text.Json.Serialization;

namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>
/// What happened to a step or to the run, as the run history records it (column <c>outcome</c>, written by name). The
/// actuators' outcomes (<see cref="PowerEvents.Contracts.VmShutdownOutcome"/>, <see cref="PowerEvents.Contracts.StepOutcome"/>,
/// <see cref="PowerEvents.Contracts.PowerOnOutcome"/>, <see cref="PowerEvents.Contracts.VsanResyncOutcome"/>) are members by
/// the same name (<see cref="RunOutcomes.Of{T}"/>); the rest are the saga's own.
/// </summary>
public enum RunOutcome
{
    /// <summary>No outcome yet (stored as an empty string, as before outcomes were an enum).</summary>
    None,

    // The actuators' outcomes.
    Graceful,
    Forced,
    AlreadyOff,
    Done,
    AlreadyInState,
    Failed,
    PoweredOn,
    AlreadyOn,
    WakeOnLanSent,
    Idle,
    Finished,
    StillResyncing,
    NotVsan,

    // Steps.
    Requested,
    Resumed,
    Retry,
    Late,
    HardPowerOff,
    NotAttempted,
    Skipped,
    Deferred,
    DryRun,
    Moved,
    /// <summary>Done by vSAN's cluster power API for this host or VM (<see cref="VsanClusterPowerSteps"/>).</summary>
    VsanPowerOff,
    VsanPowerOn,
    /// <summary>A host vSAN's power-off could not confirm off (vCenter gone, no ESXi API configured for it).</summary>
    Unconfirmed,
    /// <summary>vSAN's cluster power step did not finish: the per-host steps follow.</summary>
    FallBack,
    /// <summary>A vSAN power-on owed by a run carried over (its power-off ran in that run).</summary>
    Carried,
    Connected,
    Polling,
    NotRestored,

    // The run.
    Raised,
    Cleared,
    AlreadyRunning,
    Captured,
    Planned,
    VCenterVmOnCluster,
    ClusterChange,
    Completed,
    CompletedWithFailures,
    LeftChanged,
    Scheduled,
    Cancelled,
    Started,
    Draining,
    Interrupted,

    // Operator commands.
    DrillRequested,
    ShutdownRequested,
    PowerOnRequested,
    PowerOnCancelled,
    Refused,
}

public static class RunOutcomes
{
    /// <summary>An actuator's outcome as the history's (same name; every member of the contracts' outcome enums has one, see the unit test).</summary>
    public static RunOutcome Of<T>(T outcome)
        where T : struct, Enum =>
        Enum.Parse<RunOutcome>(outcome.ToString());

    /// <summary>The text stored in <c>power_step.outcome</c> and in the header: empty for <see cref="RunOutcome.None"/>.</summary>
    public static string Text(this RunOutcome outcome) => outcome == RunOutcome.None ? "" : outcome.ToString();

    // Case-insensitive: a header written before the enum may hold a marker in lower case ("carried").
    public static RunOutcome Parse(string text) => text.Length == 0 ? RunOutcome.None : Enum.Parse<RunOutcome>(text, ignoreCase: true);
}

/// <summary>By name (listed in the options before <see cref="JsonStringEnumConverter"/>, which would write <c>None</c>), the empty string for <see cref="RunOutcome.None"/>: headers and rows written before the enum read back unchanged.</summary>
public sealed class RunOutcomeJsonConverter : JsonConverter<RunOutcome>
{
    public override RunOutcome Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        RunOutcomes.Parse(reader.GetString() ?? "");

    public override void Write(Utf8JsonWriter writer, RunOutcome value, JsonSerializerOptions options) => writer.WriteStringValue(value.Text());
}
