namespace PowerEvents.AlarmEvaluator.Zones;

/// <summary>One log line per zone transition, the same whether a sample or the silence check caused it.</summary>
public static class TransitionLog
{
    public static void Write(ILogger logger, ZoneDecision decision)
    {
        if (decision.Staleness is { } s)
            logger.LogWarning("Zone {Zone} is {Staleness}: {Fresh} fresh sensor(s), {Required} needed",
                s.Zone, s.Stale ? "STALE" : "fresh again", s.FreshSensors, s.RequiredSensors);
        if (decision.EarlyWarning is { } w)
            logger.LogWarning("Early warning in zone {Zone} {Change}: predicted {Predicted} to {Threshold} °C, lead time {LeadTime}",
                w.Zone, w.Active ? "OPENED" : "closed", w.PredictedTimeToHigh?.ToString() ?? "never", w.ThresholdCelsius, w.LeadTime);
        if (decision.Raised is { } r)
            logger.LogWarning("ALARM RAISED in zone {Zone} ({AlarmId}): {Why}: {Readings}",
                r.Zone, r.AlarmId, r.Reason ?? $"at or above {r.ThresholdCelsius} °C", Describe(r.Readings, r.Signals));
        if (decision.Cleared is { } c)
            logger.LogWarning("Alarm cleared in zone {Zone} ({AlarmId}): below {Threshold} °C: {Readings}",
                c.Zone, c.AlarmId, c.ThresholdCelsius, Describe(c.Readings, c.Signals));
    }

    static string Describe(IReadOnlyList<Contracts.SensorReading> readings, IReadOnlyList<Contracts.AlarmSignalReading>? signals) =>
        string.Join(", ", readings.Select(x => $"{x.SensorId}={x.Celsius:F1}")
            .Concat((signals ?? []).Select(x => $"{x.SignalId}={(x.Active ? "active" : "cleared")}")));
}
