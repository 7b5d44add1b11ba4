namespace PowerEvents.Console.ReadModel;

public sealed record TemperaturePoint(DateTimeOffset At, double Celsius);
public sealed record AlarmView(Guid AlarmId, bool Active, DateTimeOffset Since, double ThresholdCelsius);
public sealed record SensorView(string Id, string Source, double? Celsius, DateTimeOffset? SampledAt, double? TrendPer10Min, double AgeSeconds, bool Stale);
public sealed record ZoneView(string Name, AlarmView? Alarm, string? Stale, double? HighCelsius, double? LowCelsius, IReadOnlyList<SensorView> Sensors);
public sealed record SourceView(string Name, bool Healthy, IReadOnlyList<string> Problems, DateTimeOffset ChangedAt);
public sealed record HostView(string Name, string Desired, string Actual, bool NeedsAttention, string PreviousHeartbeat, string CurrentHeartbeat,
    DateTimeOffset? HeartbeatAt, string? Connection, bool InMaintenance, string? Note);
public sealed record VmView(string Id, string Name, string PowerState, string Host, bool IsVCenter);
public sealed record ClusterView(string Name, IReadOnlyList<string> Zones, DateTimeOffset? OffSince, Guid? CurrentRun, string? ScheduleNote, IReadOnlyList<RefusalView> Refusals,
    IReadOnlyList<HostView> Hosts, IReadOnlyList<VmView> Vms);
public sealed record StateView(DateTimeOffset Now, IReadOnlyList<ZoneView> Zones, IReadOnlyList<SourceView> Sources, IReadOnlyList<ClusterView> Clusters);
public sealed record SensorHistoryView(string SensorId, IReadOnlyList<TemperaturePoint> Points);
public sealed record ZoneHistoryView(string Zone, double? HighCelsius, double? LowCelsius, IReadOnlyList<SensorHistoryView> Sensors);
public sealed record StepView(DateTimeOffset At, string Stage, string Target, string Outcome, string Detail);
public sealed record RunView(Guid RunId, string Cluster, string Zone, bool DryRun, string Summary, DateTimeOffset StartedAt, DateTimeOffset? CompletedAt,
    IReadOnlyList<string> Failures, DateTimeOffset? RestoreStartedAt, DateTimeOffset? RestoreCompletedAt, IReadOnlyList<string> RestoreFailures,
    bool Interrupted, IReadOnlyList<StepView> Steps);
public sealed record RefusalView(string Command, string RequestedBy, string Reason, DateTimeOffset RefusedAt);
