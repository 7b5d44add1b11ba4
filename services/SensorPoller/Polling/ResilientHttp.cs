using System.Net;
using System.Net.Sockets;
using Polly;
using Microsoft.Extensions.Http.Resilience;

namespace PowerEvents.SensorPoller.Polling;

/// <summary>A source gave up for now: it asked us to wait longer than one poll may (429 with a long Retry-After).</summary>
public sealed class SourceThrottledException(TimeSpan retryAfter, string message) : Exception(message)
{
    public TimeSpan RetryAfter { get; } = retryAfter;
}

/// <summary>The source answered, but not with something usable (an error status, malformed JSON, a wrong shape).</summary>
public sealed class SourceException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Builds a source's HttpClient: per-attempt timeout, retries of 429 (after its Retry-After), 5xx,
/// timeouts and network errors with exponential backoff and jitter (Microsoft.Extensions.Http.Resilience), redirects followed by hand
/// only within the source's <see cref="CredentialScope"/> (HttpClient's own would drop the Authorization
/// header but pass on every other header), and, for Meraki, every attempt paced by the organization's
/// token bucket.
/// </summary>
public static class ResilientHttp
{
    public static HttpClient CreateClient(SourceOptions options, ILogger logger, HttpMessageHandler? primary = null, System.Threading.RateLimiting.RateLimiter? pace = null)
    {
        var pipeline = BuildPipeline(options, logger);
        HttpMessageHandler inner = primary ?? new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = options.RequestTimeout,
            SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, errors) => options.AcceptsCertificate(certificate, errors) },
        };
        inner = new PollerMetrics.RequestCounter(options.Name) { InnerHandler = inner };
        if (pace is not null)
            inner = new PacingHandler(pace) { InnerHandler = inner };
        // The library's handler sends the same request again on a retry: the content (a POST's JSON body) is a buffered StringContent.
        var handler = new ResilienceHandler(pipeline)
        {
            InnerHandler = new RedirectHandler(CredentialScope.For(options), options.Name, logger) { InnerHandler = inner },
        };
        // Deadlines are per attempt (the pipeline); the client itself must not cut a retrying request short.
        return new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>
    /// Microsoft.Extensions.Http.Resilience's HTTP retry (Retry-After honoured, seconds or a date; otherwise exponential
    /// backoff with jitter) around a per-attempt timeout. Not the standard handler: its circuit breaker would refuse
    /// polls of a source that is down, where the poller must keep trying every interval and report each failure, and its
    /// total timeout would cut a Retry-After wait the source asked for.
    /// </summary>
    public static ResiliencePipeline<HttpResponseMessage> BuildPipeline(SourceOptions options, ILogger logger) =>
        new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = Math.Max(1, options.MaxRetries),
                Delay = options.RetryBaseDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldRetryAfterHeader = true,
                ShouldHandle = args => ValueTask.FromResult(options.MaxRetries > 0 && ShouldRetry(args.Outcome, options)),
                OnRetry = args =>
                {
                    logger.LogInformation("{Source}: retry {Attempt} in {Delay} after {Outcome}", options.Name,
                        args.AttemptNumber + 1, args.RetryDelay, Describe(args.Outcome));
                    args.Outcome.Result?.Dispose();
                    return default;
                },
            })
            .AddTimeout(options.RequestTimeout)
            .Build();

    /// <summary>The library's transient faults (network errors, timeouts, 408, 429, 5xx), except a 429 asking for a longer
    /// wait than <see cref="SourceOptions.MaxRetryAfter"/>: that one ends the poll and the source is throttled.</summary>
    static bool ShouldRetry(Outcome<HttpResponseMessage> outcome, SourceOptions options)
    {
        if (outcome.Result is { StatusCode: HttpStatusCode.TooManyRequests } throttled)
            return (RetryAfter(throttled) ?? TimeSpan.Zero) <= options.MaxRetryAfter;
        return HttpClientResiliencePredicates.IsTransient(outcome) || outcome.Exception is SocketException or IOException;
    }

    /// <summary>Retry-After as a delay (seconds or an HTTP date); null when absent, so the backoff applies.</summary>
    public static TimeSpan? RetryAfter(HttpResponseMessage? response, TimeProvider? time = null)
    {
        var header = response?.Headers.RetryAfter;
        if (header?.Delta is { } delta)
            return delta;
        if (header?.Date is { } date)
            return date - (time ?? TimeProvider.System).GetUtcNow() is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        return null;
    }

    static string Describe(Outcome<HttpResponseMessage> outcome) =>
        outcome.Exception is { } ex ? ex.GetType().Name + ": " + ex.Message : $"HTTP {(int)outcome.Result!.StatusCode}";

    /// <summary>Waits for a token of the organization's bucket before each attempt (retries and redirects count too).</summary>
    sealed class PacingHandler(System.Threading.RateLimiting.RateLimiter pace) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            using var lease = await pace.AcquireAsync(1, cancellationToken);
            if (!lease.IsAcquired)
                throw new SourceException("the organization's request queue is full");
            return await base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>Follows 301/302/303/307/308 with the request's headers (the credentials) only inside the
    /// source's <see cref="CredentialScope"/>; a redirect elsewhere is refused and logged, never followed.</summary>
    internal sealed class RedirectHandler(CredentialScope scope, string source, ILogger logger) : DelegatingHandler
    {
        const int MaxRedirects = 5;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            for (var hop = 0; hop < MaxRedirects && IsRedirect(response.StatusCode) && response.Headers.Location is { } location; hop++)
            {
                var target = location.IsAbsoluteUri ? location : new Uri(request.RequestUri!, location);
                if (!scope.Allows(target))
                {
                    logger.LogWarning("{Source}: redirect from {From} to {To} refused: not the configured origin nor an AllowedHosts entry",
                        source, CredentialScope.Origin(request.RequestUri!), CredentialScope.Origin(target));
                    response.Dispose();
                    throw new SourceException($"redirect to {CredentialScope.Origin(target)} refused (not the configured origin nor an AllowedHosts entry)");
                }
                response.Dispose();
                // 303 means "GET the answer there"; the others repeat the call (a JSON-RPC POST) at the new place.
                var method = response.StatusCode == HttpStatusCode.SeeOther ? HttpMethod.Get : request.Method;
                var next = new HttpRequestMessage(method, target) { Content = method == HttpMethod.Get ? null : request.Content };
                foreach (var header in request.Headers)
                    next.Headers.TryAddWithoutValidation(header.Key, header.Value);
                request = next;
                response = await base.SendAsync(request, cancellationToken);
            }
            return response;
        }

        static bool IsRedirect(HttpStatusCode status) => (int)status is 301 or 302 or 303 or 307 or 308;
    }
}
