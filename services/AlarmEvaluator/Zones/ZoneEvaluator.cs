using PowerEvents.Contracts;

namespace PowerEvents.AlarmEvaluator.Zones;

/// <summary>A reading as the evaluator sees it: a temperature or an alarm-state vote.</summary>
public sealed record Sample(string SensorId, double? Celsius, bool? Active, DateTimeOffset SampledAt, DateTimeOffset ReceivedAt)
{
    public static Sample From(TemperatureSampled m) => new(m.SensorId, m.Celsius, null, m.SampledAt, m.ReceivedAt);
    public static Sample From(AlarmStateSampled m) => new(m.SignalId, null, m.Active, m.SampledAt, m.ReceivedAt);
}

/// <summary>What became of a sample.</summary>
public enum Verdict
{
    Accepted,
    NotInZone,
    Duplicate,
    OutOfOrder,
    TooOld,
    FromTheFuture,
    Invalid,
}

/// <summary>The zone's transitions caused by one step; each is published exactly once.</summary>
public sealed record ZoneDecision(
    Verdict Verdict,
    AlarmRaised? Raised = null,
    AlarmCleared? Cleared = null,
    ZoneStalenessChanged? Staleness = null,
    ZoneEarlyWarningChanged? EarlyWarning = null)
{
    public bool HasTransition => Raised is not null || Cleared is not null || Staleness is not null || EarlyWarning is not null;

    public IEnumerable<object> Events()
    {
        // Staleness first: "zone fresh again" explains the raise that follows it.
        if (Staleness is not null) yield return Staleness;
        if (EarlyWarning is not null) yield return EarlyWarning;
        if (Raised is not null) yield return Raised;
        if (Cleared is not null) yield return Cleared;
    }
}

/// <summary>
/// The zone state machine, pure: hysteresis (raise at High, clear below Low), per-sensor confirmation
/// (N consecutive samples and a hold time, on the sensor's own clock), a k-of-n quorum over fresh
/// sensors, and staleness. It mutates the <see cref="ZoneState"/> it is given and reports transitions.
/// </summary>
/// <param name="startedAt">When this evaluator started: for one <c>StaleAfter</c> after it, a zone without enough
/// readings is not yet called stale (the sensors have not had time to report); after that it is, so a zone
/// whose sensor ids match nothing is reported rather than silently unprotected.</param>
/// <param name="measuredShutdown">The measured shutdown estimate of what the zone protects (<see cref="ShutdownEstimates"/>),
/// asked at each evaluation; null or a null answer: the configured <c>EarlyWarning:EstimatedShutdown</c>.</param>
public sealed class ZoneEvaluator(ZoneOptions zone, DateTimeOffset startedAt, Func<Guid>? newAlarmId = null,
    Func<string, TimeSpan, (TimeSpan Estimate, bool Measured)>? measuredShutdown = null)
{
    /// <summary>The shutdown estimate the early warning counts on now, and whether it was measured.</summary>
    (TimeSpan Estimate, bool Measured) EstimatedShutdown() =>
        measuredShutdown?.Invoke(zone.Name, zone.EarlyWarning.EstimatedShutdown) ?? (zone.EarlyWarning.EstimatedShutdown, false);

    readonly HashSet<string> _members = new(zone.Sensors, StringComparer.Ordinal);
    readonly Func<Guid> _newAlarmId = newAlarmId ?? Guid.NewGuid;

    public ZoneOptions Zone => zone;

    public ZoneState NewState() => new() { Zone = zone.Name };

    /// <summary>Applies one sample, then re-evaluates the zone at <paramref name="now"/>.</summary>
    public ZoneDecision Apply(ZoneState state, Sample sample, DateTimeOffset now)
    {
        var verdict = Accept(state, sample, now);
        var decision = Evaluate(state, now);
        return decision with { Verdict = verdict };
    }

    /// <summary>Re-evaluates the zone at <paramref name="now"/> without a new sample (the silence check).</summary>
    public ZoneDecision Evaluate(ZoneState state, DateTimeOffset now)
    {
        var fresh = FreshSensors(state, now);
        ZoneStalenessChanged? staleness = null;
        var enough = fresh.Count >= zone.Quorum;
        var stale = !enough && (state.Stale || now - startedAt >= zone.StaleAfter);
        if (stale != state.Stale)
        {
            state.Stale = stale;
            staleness = new ZoneStalenessChanged(zone.Name, stale, fresh.Count, zone.Quorum, now);
        }

        // Without enough fresh sensors a zone decides nothing: silence must neither raise nor clear.
        if (!enough)
            return new ZoneDecision(Verdict.Accepted, Staleness: staleness);

        var (earlyWarning, predicted, stillPredicted) = EarlyWarning(state, fresh, now);
        if (!state.InAlarm)
        {
            var high = fresh.Where(s => IsConfirmed(s.Value, Level.High)).ToList();
            if (high.Count < zone.Quorum && predicted is null)
                return new ZoneDecision(Verdict.Accepted, Staleness: staleness, EarlyWarning: earlyWarning);

            var alarmId = _newAlarmId();
            state.InAlarm = true;
            state.AlarmId = alarmId;
            state.ChangedAt = now;
            state.Sequence++;
            return new ZoneDecision(Verdict.Accepted, Staleness: staleness, EarlyWarning: earlyWarning,
                Raised: new AlarmRaised(alarmId, zone.Name, now, zone.HighCelsius, Readings(fresh), Signals(fresh), state.Sequence,
                    high.Count < zone.Quorum ? predicted : null));
        }

        // Clear once the high quorum can no longer be met by the fresh sensors that are not confirmed low.
        // A predicted alarm (act) also waits until the prediction no longer holds: the room is still heating below the threshold.
        var low = fresh.Count(s => IsConfirmed(s.Value, Level.Low));
        if (low < fresh.Count - zone.Quorum + 1 || stillPredicted)
            return new ZoneDecision(Verdict.Accepted, Staleness: staleness, EarlyWarning: earlyWarning);

        state.Sequence++;
        var cleared = new AlarmCleared(state.AlarmId ?? _newAlarmId(), zone.Name, now, zone.LowCelsius, Readings(fresh), Signals(fresh), state.Sequence);
        state.InAlarm = false;
        state.AlarmId = null;
        state.ChangedAt = now;
        return new ZoneDecision(Verdict.Accepted, Staleness: staleness, EarlyWarning: earlyWarning, Cleared: cleared);
    }

    /// <summary>
    /// The early warning over the fresh sensors: in <c>warn</c> mode the episode's start or end (once each); in <c>act</c>
    /// mode the reason to raise the alarm now (null when the prediction does not call for it).
    /// </summary>
    (ZoneEarlyWarningChanged? Change, string? RaiseBecause, bool HoldAlarm) EarlyWarning(ZoneState state, List<KeyValuePair<string, SensorState>> fresh, DateTimeOffset now)
    {
        var options = zone.EarlyWarning;
        if (options.ModeKind == EarlyWarningMode.Off)
            return (null, null, false);
        var (estimate, measured) = EstimatedShutdown();
        var leadTime = estimate + options.Margin;
        var forecast = RiseForecast.Forecast(
            fresh.Where(s => s.Value.Trend is { Count: > 0 }).Select(s => (s.Key, (IReadOnlyList<TrendPoint>)s.Value.Trend!)),
            zone.HighCelsius, zone.Quorum, options);

        if (options.ModeKind == EarlyWarningMode.Act)
        {
            // In alarm, the clear factor applies (hysteresis), as for an open warning.
            var predicted = RiseForecast.Episode(forecast, state.InAlarm, options, leadTime) == true;
            return (null, predicted && !state.InAlarm ? Predicted(forecast!, estimate, measured) : null, predicted);
        }

        var episode = RiseForecast.Episode(forecast, state.EarlyWarning, options, leadTime);
        if (episode is not { } open || open == state.EarlyWarning || (open && state.InAlarm))
            return (null, null, false);
        state.EarlyWarning = open;
        return (new ZoneEarlyWarningChanged(zone.Name, open, forecast!.TimeToHigh, leadTime,
            forecast.TimeToHigh is null ? null : forecast.Deciding.RisePerMinute, zone.HighCelsius, Readings(fresh), now), null, false);
    }

    string Predicted(ZoneForecast forecast, TimeSpan estimate, bool measured) =>
        $"predicted: {zone.Quorum} sensor(s) reach {zone.HighCelsius:0.0} °C in {forecast.TimeToHigh!.Value.TotalMinutes:0.0} min " +
        $"({forecast.Deciding.SensorId} rising {forecast.Deciding.RisePerMinute:0.00} °C/min), sooner than the estimated shutdown " +
        $"{estimate} ({(measured ? "measured" : "configured")}) plus the margin {zone.EarlyWarning.Margin}";

    Verdict Accept(ZoneState state, Sample sample, DateTimeOffset now)
    {
        if (!_members.Contains(sample.SensorId))
            return Verdict.NotInZone;
        if ((sample.Celsius is { } c && !double.IsFinite(c)) || (sample.Celsius is null && sample.Active is null))
            return Verdict.Invalid;
        if (sample.SampledAt > sample.ReceivedAt + zone.MaxClockSkew || sample.SampledAt > now + zone.MaxClockSkew)
            return Verdict.FromTheFuture;
        if (now - sample.SampledAt > zone.StaleAfter)
            return Verdict.TooOld;

        var level = Classify(sample);
        if (state.Sensors.TryGetValue(sample.SensorId, out var previous))
        {
            if (sample.SampledAt == previous.SampledAt)
                return Verdict.Duplicate;
            if (sample.SampledAt < previous.SampledAt)
                return Verdict.OutOfOrder;

            var continues = previous.Level == level && sample.SampledAt - previous.SampledAt <= zone.StaleAfter;
            previous.Celsius = sample.Celsius;
            previous.Active = sample.Active;
            previous.SampledAt = sample.SampledAt;
            previous.Streak = continues ? previous.Streak + 1 : 1;
            if (!continues)
                previous.StreakSince = sample.SampledAt;
            previous.Level = level;
            KeepTrend(previous, sample);
            return Verdict.Accepted;
        }

        var added = new SensorState
        {
            Celsius = sample.Celsius,
            Active = sample.Active,
            SampledAt = sample.SampledAt,
            Level = level,
            Streak = 1,
            StreakSince = sample.SampledAt,
        };
        KeepTrend(added, sample);
        state.Sensors[sample.SensorId] = added;
        return Verdict.Accepted;
    }

    /// <summary>Keeps the window of temperatures the early warning fits its slope to; nothing when it is off.</summary>
    void KeepTrend(SensorState sensor, Sample sample)
    {
        if (zone.EarlyWarning.ModeKind == EarlyWarningMode.Off || sample.Celsius is not { } celsius)
        {
            sensor.Trend = null;
            return;
        }
        sensor.Trend ??= [];
        sensor.Trend.Add(new TrendPoint(sample.SampledAt, celsius));
        sensor.Trend.RemoveAll(p => sample.SampledAt - p.At > zone.EarlyWarning.Window);
    }

    Level Classify(Sample sample) =>
        sample.Active is { } active ? (active ? Level.High : Level.Low)
        : sample.Celsius >= zone.HighCelsius ? Level.High
        : sample.Celsius < zone.LowCelsius ? Level.Low
        : Level.Band;

    bool IsConfirmed(SensorState sensor, Level level) =>
        sensor.Level == level
        && sensor.Streak >= zone.ConsecutiveSamples
        && sensor.SampledAt - sensor.StreakSince >= zone.HoldTime;

    List<KeyValuePair<string, SensorState>> FreshSensors(ZoneState state, DateTimeOffset now) => state.Sensors
        .Where(s => _members.Contains(s.Key) && now - s.Value.SampledAt <= zone.StaleAfter)
        .OrderBy(s => s.Key, StringComparer.Ordinal)
        .ToList();

    static List<SensorReading> Readings(List<KeyValuePair<string, SensorState>> sensors) => sensors
        .Where(s => s.Value.Celsius is not null)
        .Select(s => new SensorReading(s.Key, s.Value.Celsius!.Value, s.Value.SampledAt))
        .ToList();

    static List<AlarmSignalReading>? Signals(List<KeyValuePair<string, SensorState>> sensors)
    {
        var signals = sensors.Where(s => s.Value.Active is not null)
            .Select(s => new AlarmSignalReading(s.Key, s.Value.Active!.Value, s.Value.SampledAt))
            .ToList();
        return signals.Count == 0 ? null : signals;
    }
}
