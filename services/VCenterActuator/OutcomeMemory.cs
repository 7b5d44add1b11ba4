using System.Collections.Concurrent;

namespace PowerEvents.VCenterActuator;

/// <summary>
/// Makes a step asked twice within one run answer the same outcome: a request that is already running joins it,
/// one that finished is answered from memory. Failures are forgotten, so asking again retries. In memory only
/// (bounded): after a restart the step re-reads vCenter and reports "already in that state", which is also true.
/// </summary>
public sealed class OutcomeMemory
{
    const int Capacity = 20_000;
    readonly ConcurrentDictionary<string, Lazy<Task<object>>> _steps = new(StringComparer.Ordinal);
    readonly ConcurrentQueue<string> _order = new();

    public async Task<T> RunOnceAsync<T>(string key, Func<Task<T>> step, Func<T, bool> remember)
        where T : class
    {
        var entry = _steps.GetOrAdd(key, k =>
        {
            _order.Enqueue(k);
            return new Lazy<Task<object>>(async () => await step());
        });
        T outcome;
        try
        {
            outcome = (T)await entry.Value;
        }
        catch
        {
            _steps.TryRemove(new KeyValuePair<string, Lazy<Task<object>>>(key, entry));
            throw;
        }

        if (!remember(outcome))
            _steps.TryRemove(new KeyValuePair<string, Lazy<Task<object>>>(key, entry));
        Trim();
        return outcome;
    }

    void Trim()
    {
        while (_steps.Count > Capacity && _order.TryDequeue(out var oldest))
        {
            if (_steps.TryGetValue(oldest, out var entry) && entry.IsValueCreated && entry.Value.IsCompleted)
                _steps.TryRemove(oldest, out _);
        }
    }
}
