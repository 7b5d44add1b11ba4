using PowerEvents.Contracts;

namespace PowerEvents.SensorPoller.Polling;

/// <summary>
/// A source's problems over time: each problem is logged once when it appears and once when it goes,
/// and a <see cref="SourceHealthChanged"/> is due only when the source turns unhealthy or healthy.
/// </summary>
public sealed class SourceHealth(string source, ILogger logger)
{
    readonly Dictionary<string, string> _active = new(StringComparer.Ordinal);
    bool _healthy = true;

    public bool Healthy => _healthy;

    /// <summary>Records the problems of one poll; returns the event to publish, if the health changed.</summary>
    public SourceHealthChanged? Update(IReadOnlyList<SourceProblem> problems, DateTimeOffset at)
    {
        var current = problems.GroupBy(p => p.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().Description, StringComparer.Ordinal);
        foreach (var (key, description) in current.Where(p => !_active.ContainsKey(p.Key)))
        {
            logger.LogWarning("{Source}: {Problem}", source, description);
            _active[key] = description;
        }
        foreach (var key in _active.Keys.Where(k => !current.ContainsKey(k)).ToList())
        {
            logger.LogInformation("{Source}: resolved: {Problem}", source, _active[key]);
            _active.Remove(key);
        }

        var healthy = _active.Count == 0;
        PollerMetrics.Health(source, healthy);
        if (healthy == _healthy)
            return null;
        _healthy = healthy;
        if (healthy)
            logger.LogInformation("{Source}: recovered", source);
        else
            logger.LogError("{Source}: failing: {Problems}", source, string.Join("; ", _active.Values));
        return new SourceHealthChanged(source, healthy, _active.Values.ToList(), at);
    }
}
