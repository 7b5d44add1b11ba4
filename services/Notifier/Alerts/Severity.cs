namespace PowerEvents.Notifier.Alerts;

/// <summary>How urgently an operator should look. Ordered: a destination's minimum lets through its level and above.</summary>
public enum Severity
{
    Info = 0,
    Warning = 1,
    Critical = 2,
}
