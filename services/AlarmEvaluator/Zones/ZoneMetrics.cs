using Prometheus;

namespace PowerEvents.AlarmEvaluator.Zones;

/// <summary>
/// Each zone's state as Prometheus series (docs/deploy.md, "Metrics"), set from the state each step committed: the
/// evaluator's own view, so a dashboard shows what the alarm decision was made on.
/// </summary>
public static class ZoneMetrics
{
    static readonly Gauge Temperature = Metrics.CreateGauge("powerevents_zone_temperature_celsius",
        "Newest accepted temperature of each sensor of a zone (°C).", "zone", "sensor");
    static readonly Gauge Alarm = Metrics.CreateGauge("powerevents_zone_alarm", "1 while the zone's high-temperature alarm is raised.", "zone");
    static readonly Gauge Stale = Metrics.CreateGauge("powerevents_zone_stale", "1 while too few of the zone's sensors report (the zone is blind).", "zone");
    static readonly Gauge EarlyWarning = Metrics.CreateGauge("powerevents_zone_early_warning", "1 while an early-warning episode is open.", "zone");
    static readonly Counter AlarmTransitions = Metrics.CreateCounter("powerevents_zone_alarm_transitions_total",
        "Alarms raised and cleared, by zone.", "zone", "transition");
    static readonly Counter Samples = Metrics.CreateCounter("powerevents_zone_samples_total",
        "Readings routed to a zone, by what became of them (accepted, duplicate, too old…).", "zone", "verdict");

    /// <summary>Records a committed step: the zone's state after it, the decision it made, and (for a sample) its verdict.</summary>
    public static void Observe(ZoneState state, ZoneDecision decision, bool fromSample)
    {
        Alarm.WithLabels(state.Zone).Set(state.InAlarm ? 1 : 0);
        Stale.WithLabels(state.Zone).Set(state.Stale ? 1 : 0);
        EarlyWarning.WithLabels(state.Zone).Set(state.EarlyWarning ? 1 : 0);
        foreach (var (sensor, reading) in state.Sensors)
            if (reading.Celsius is { } celsius)
                Temperature.WithLabels(state.Zone, sensor).Set(celsius);
        if (decision.Raised is not null)
            AlarmTransitions.WithLabels(state.Zone, "raised").Inc();
        if (decision.Cleared is not null)
            AlarmTransitions.WithLabels(state.Zone, "cleared").Inc();
        if (fromSample)
            Samples.WithLabels(state.Zone, decision.Verdict.ToString()).Inc();
    }
}
