using System.Net;
using System.Net.Http.Headers;

namespace PowerEvents.Notifier.Delivery;

/// <summary>How long to wait before a retry: the receiver's <c>Retry-After</c> where it gave one, else exponential backoff with jitter.</summary>
public static class RetryDelays
{
    /// <summary>Retry <paramref name="retry"/> (0 = first) waits BaseDelay × 2^retry, plus up to Jitter of that at random, at most MaxDelay.</summary>
    public static TimeSpan Backoff(int retry, DeliveryOptions options, double random)
    {
        var exponential = options.BaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(retry, 30));
        var jittered = exponential * (1 + options.Jitter * random);
        return TimeSpan.FromMilliseconds(Math.Min(jittered, options.MaxDelay.TotalMilliseconds));
    }

    /// <summary>
    /// A 429 or 503's <c>Retry-After</c> (delta seconds or an HTTP date, RFC 9110 §10.2.3), cut to
    /// <paramref name="max"/>; null when the answer gave none.
    /// </summary>
    public static TimeSpan? RetryAfter(HttpResponseMessage response, DateTimeOffset now, TimeSpan max)
    {
        if (response.StatusCode is not (HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable))
            return null;
        return RetryAfter(response.Headers.RetryAfter, now, max);
    }

    public static TimeSpan? RetryAfter(RetryConditionHeaderValue? header, DateTimeOffset now, TimeSpan max)
    {
        var wait = header switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - now,
            _ => (TimeSpan?)null,
        };
        if (wait is null)
            return null;
        return wait < TimeSpan.Zero ? TimeSpan.Zero : wait > max ? max : wait;
    }

    /// <summary>Worth another attempt: timeouts, throttling and server errors. Other 4xx mean the request itself is wrong.</summary>
    public static bool IsTransient(HttpStatusCode status) =>
        status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)status >= 500;
}
