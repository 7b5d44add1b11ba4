using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using PowerEvents.SensorPoller.Polling;

namespace PowerEvents.SensorPoller.Meraki;

/// <summary>
/// One token bucket per Meraki organization, shared by every source and signal that reads it: the API allows
/// 10 requests per second per organization (to all applications together), so the poller paces itself rather
/// than relying on 429s, which would also eat other applications' budget.
/// </summary>
public sealed class MerakiRateLimits : IDisposable
{
    readonly ConcurrentDictionary<string, TokenBucketRateLimiter> _buckets = new(StringComparer.Ordinal);

    /// <summary>The organization's bucket; the first source to ask sets its rate (sources of one organization
    /// should agree: the slowest is taken when several configure it, see <see cref="Plan"/>).</summary>
    public RateLimiter For(string organizationId, double requestsPerSecond, int burst) =>
        _buckets.GetOrAdd(organizationId, _ => Create(requestsPerSecond, burst));

    /// <summary>The pace per organization: the lowest rate and burst any of its sources asks for.</summary>
    public static IReadOnlyDictionary<string, (double RequestsPerSecond, int Burst)> Plan(IEnumerable<MerakiSourceOptions> sources) =>
        sources.GroupBy(s => s.OrganizationId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (g.Min(s => s.RequestsPerSecond), g.Min(s => s.Burst)), StringComparer.Ordinal);

    static TokenBucketRateLimiter Create(double requestsPerSecond, int burst)
    {
        // One token per period gives an even pace (10/s: one every 100 ms) rather than 10 at the top of each second.
        var period = TimeSpan.FromSeconds(1 / requestsPerSecond);
        return new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = burst,
            TokensPerPeriod = 1,
            ReplenishmentPeriod = period < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : period,
            QueueLimit = int.MaxValue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = true,
        });
    }

    public void Dispose()
    {
        foreach (var bucket in _buckets.Values)
            bucket.Dispose();
    }
}
