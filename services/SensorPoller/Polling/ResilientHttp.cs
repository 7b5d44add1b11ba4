using System.Net;
using System.Net.Sockets;
using Polly;
using Polly.Retry;
using Polly.Timeout;

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
/// timeouts and network errors with exponential backoff and jitter (Polly.Core), and redirects followed
/// by hand so the API key survives a redirect to the same service's other host (as Meraki's shards do).
/// </summary>
public static class ResilientHttp
{
    public static HttpClient CreateClient(SourceOptions options, ILogger logger, HttpMessageHandler? primary = null)
    {
        var pipeline = BuildPipeline(options, logger);
        var handler = new ResilienceHandler(pipeline)
        {
            InnerHandler = new RedirectHandler
            {
                InnerHandler = primary ?? new SocketsHttpHandler
                {
                    AllowAutoRedirect = false,
                    PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                    ConnectTimeout = options.RequestTimeout,
                },
            },
        };
        // Deadlines are per attempt (the pipeline); the client itself must not cut a retrying request short.
        return new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public static ResiliencePipeline<HttpResponseMessage> BuildPipeline(SourceOptions options, ILogger logger) =>
        new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = Math.Max(1, options.MaxRetries),
                Delay = options.RetryBaseDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = args => ValueTask.FromResult(options.MaxRetries > 0 && ShouldRetry(args.Outcome, options)),
                DelayGenerator = args => ValueTask.FromResult(RetryAfter(args.Outcome.Result)),
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

    static bool ShouldRetry(Outcome<HttpResponseMessage> outcome, SourceOptions options)
    {
        if (outcome.Exception is not null)
            return outcome.Exception is HttpRequestException or TimeoutRejectedException or SocketException or IOException;

        var response = outcome.Result!;
        if (response.StatusCode == HttpStatusCode.TooManyRequests)
            return (RetryAfter(response) ?? TimeSpan.Zero) <= options.MaxRetryAfter;
        return (int)response.StatusCode >= 500;
    }

    /// <summary>Retry-After as a delay (seconds or an HTTP date); null when absent, so the backoff applies.</summary>
    public static TimeSpan? RetryAfter(HttpResponseMessage? response)
    {
        var header = response?.Headers.RetryAfter;
        if (header?.Delta is { } delta)
            return delta;
        if (header?.Date is { } date)
            return date - DateTimeOffset.UtcNow is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        return null;
    }

    static string Describe(Outcome<HttpResponseMessage> outcome) =>
        outcome.Exception is { } ex ? ex.GetType().Name + ": " + ex.Message : $"HTTP {(int)outcome.Result!.StatusCode}";

    sealed class ResilienceHandler(ResiliencePipeline<HttpResponseMessage> pipeline) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            pipeline.ExecuteAsync(
                static async (state, token) => await state.Handler.SendOnceAsync(state.Request, token),
                (Handler: this, Request: request),
                cancellationToken).AsTask();

        // Sources only GET, so a request without content can be sent again as it is.
        Task<HttpResponseMessage> SendOnceAsync(HttpRequestMessage request, CancellationToken token) => base.SendAsync(request, token);
    }

    /// <summary>Follows 301/302/303/307/308 keeping the headers when the target is the same service (same host,
    /// a sibling under the same domain, or loopback); HttpClient's own redirects drop the Authorization header.</summary>
    internal sealed class RedirectHandler : DelegatingHandler
    {
        const int MaxRedirects = 5;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            for (var hop = 0; hop < MaxRedirects && IsRedirect(response.StatusCode) && response.Headers.Location is { } location; hop++)
            {
                var target = location.IsAbsoluteUri ? location : new Uri(request.RequestUri!, location);
                if (!SameService(request.RequestUri!, target))
                    throw new SourceException($"redirect to another service ({target.Host}) refused");
                response.Dispose();
                var next = new HttpRequestMessage(HttpMethod.Get, target);
                foreach (var header in request.Headers)
                    next.Headers.TryAddWithoutValidation(header.Key, header.Value);
                request = next;
                response = await base.SendAsync(request, cancellationToken);
            }
            return response;
        }

        static bool IsRedirect(HttpStatusCode status) => (int)status is 301 or 302 or 303 or 307 or 308;

        public static bool SameService(Uri from, Uri to)
        {
            if (from.Scheme == Uri.UriSchemeHttps && to.Scheme != Uri.UriSchemeHttps)
                return false;
            if (string.Equals(from.Host, to.Host, StringComparison.OrdinalIgnoreCase) || (from.IsLoopback && to.IsLoopback))
                return true;
            var labels = from.Host.Split('.');
            return labels.Length >= 2 && to.Host.EndsWith("." + string.Join('.', labels[^2..]), StringComparison.OrdinalIgnoreCase);
        }
    }
}
