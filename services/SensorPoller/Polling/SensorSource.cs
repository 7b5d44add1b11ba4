namespace PowerEvents.SensorPoller.Polling;

/// <summary>One configured source: a poll returns the messages to publish and what was wrong with the data.</summary>
public interface ISensorSource
{
    SourceOptions Options { get; }

    /// <summary>Polls once. Throws when the whole poll failed (network, status, malformed JSON); per-item problems are returned.</summary>
    Task<PollResult> PollAsync(CancellationToken cancellationToken);
}

/// <param name="Messages">TemperatureSampled / AlarmStateSampled, validated.</param>
/// <param name="Problems">Items rejected, keyed so that the same problem is logged once while it lasts.</param>
/// <param name="Published">Called once every message was published: only then are the readings remembered as sent.</param>
public sealed record PollResult(IReadOnlyList<object> Messages, IReadOnlyList<SourceProblem> Problems, Action? Published = null);

/// <param name="Key">Stable identity of the problem (e.g. <c>Q3CA-0001:wrong-unit</c>).</param>
/// <param name="Description">What an operator reads.</param>
public sealed record SourceProblem(string Key, string Description);

/// <summary>Checks every source applies to a temperature before it may become a reading.</summary>
public static class ReadingRules
{
    /// <summary>Null when the reading is acceptable, else the problem.</summary>
    public static SourceProblem? Check(SourceOptions options, string sensorId, double celsius, DateTimeOffset sampledAt, DateTimeOffset receivedAt, bool checkAge = true)
    {
        if (!double.IsFinite(celsius))
            return new($"{sensorId}:not-a-number", $"sensor {sensorId}: temperature is not a number");
        if (celsius < options.MinCelsius || celsius > options.MaxCelsius)
            return new($"{sensorId}:out-of-range", $"sensor {sensorId}: {celsius} °C is outside {options.MinCelsius}..{options.MaxCelsius} °C");
        return CheckTimestamp(options, sensorId, sampledAt, receivedAt, checkAge);
    }

    /// <summary>Null when the timestamp is neither ahead of our clock (beyond the skew allowance) nor too old.</summary>
    public static SourceProblem? CheckTimestamp(SourceOptions options, string sensorId, DateTimeOffset sampledAt, DateTimeOffset receivedAt, bool checkAge = true)
    {
        if (sampledAt > receivedAt + options.MaxClockSkew)
            return new($"{sensorId}:future", $"sensor {sensorId}: timestamp {sampledAt:O} is ahead of the poller's clock by more than {options.MaxClockSkew}");
        if (checkAge && receivedAt - sampledAt > options.MaxReadingAge)
            return new($"{sensorId}:old", $"sensor {sensorId}: newest reading {sampledAt:O} is older than {options.MaxReadingAge}");
        return null;
    }
}
