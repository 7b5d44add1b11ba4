using PowerEvents.Contracts;

namespace PowerEvents.SensorPoller.Polling;

/// <summary>One configured source: one or more signals, each polled, failing and reported on its own.</summary>
public interface ISensorSource
{
    SourceOptions Options { get; }

    /// <summary>The source's signals (Meraki: the readings, and each network's alert overview).</summary>
    IReadOnlyList<ISignal> Signals { get; }
}

/// <summary>
/// One thing a source reads. Its health is its own: a failing secondary signal (an alert overview the key
/// cannot read) never holds back the readings.
/// </summary>
public interface ISignal
{
    /// <summary>The name in <see cref="SourceHealthChanged"/> and logs: the source's name for its main signal,
    /// <c>{source}/{signal}</c> for the others.</summary>
    string HealthName { get; }

    /// <summary>
    /// Polls once. Valid messages go to <paramref name="publish"/> as soon as they are read (page by page);
    /// a message counts as sent only once that call returned. Throws when the poll as a whole failed
    /// (network, status, malformed JSON); problems with single items are returned.
    /// </summary>
    Task<IReadOnlyList<SourceProblem>> PollAsync(Func<IReadOnlyList<object>, CancellationToken, Task> publish, CancellationToken cancellationToken);
}

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

    /// <summary>
    /// A Celsius reading that may come with its Fahrenheit twin (Meraki sends both, over the API and MQTT):
    /// when they disagree, one of them is not what it says.
    /// </summary>
    public static SourceProblem? CheckUnits(string sensorId, double celsius, double? fahrenheit) =>
        fahrenheit is { } f && Math.Abs(celsius * 9 / 5 + 32 - f) > 0.5
            ? new SourceProblem($"{sensorId}:wrong-unit", $"sensor {sensorId}: celsius {celsius} does not match fahrenheit {f} (wrong unit)")
            : null;
}
