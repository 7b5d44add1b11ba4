namespace PowerEvents.SensorPoller.Polling;

/// <summary>
/// Polls one source on its own interval until stopped. A poll never overlaps the previous one; a source
/// whose polls fail waits twice as long each time (up to FailureBackoffMax, and at least its Retry-After),
/// so a failing API is reported, not hammered.
/// </summary>
public sealed class SourceLoop(ISensorSource source, Func<object, CancellationToken, Task> publish, TimeProvider clock, ILogger logger)
{
    readonly SourceHealth _health = new(source.Options.Name, logger);
    int _consecutiveFailures;

    public bool Healthy => _health.Healthy;

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        var options = source.Options;
        logger.LogInformation("{Source}: polling every {Interval}", options.Name, options.Interval);
        while (!stoppingToken.IsCancellationRequested)
        {
            var started = clock.GetTimestamp();
            TimeSpan delay;
            try
            {
                delay = await PollOnceAsync(stoppingToken);
            }
            catch (Exception) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // A bug or a broker outage must not end polling for good; the next poll tries again.
                logger.LogError(ex, "{Source}: poll failed unexpectedly", options.Name);
                delay = options.Interval;
            }

            var wait = delay - clock.GetElapsedTime(started);
            if (wait <= TimeSpan.Zero)
                continue;
            try
            {
                await Task.Delay(wait, clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        logger.LogInformation("{Source}: stopped", options.Name);
    }

    /// <summary>One poll: publish what is valid, report what is not; returns the time until the next poll should start.</summary>
    public async Task<TimeSpan> PollOnceAsync(CancellationToken cancellationToken)
    {
        var options = source.Options;
        var started = clock.GetTimestamp();
        PollResult result;
        TimeSpan? retryAfter = null;
        try
        {
            result = await source.PollAsync(cancellationToken);
        }
        catch (SourceThrottledException ex)
        {
            retryAfter = ex.RetryAfter;
            result = Failed("throttled", ex.Message);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Whatever went wrong while reading the source (network, status, shape, a parser bug) is the
            // source's failure to report, never a reason to stop polling it.
            result = Failed("failed", ex is SourceException or HttpRequestException or Polly.Timeout.TimeoutRejectedException
                ? ex.Message : $"{ex.GetType().Name}: {ex.Message}");
        }

        foreach (var message in result.Messages)
            await publish(message, cancellationToken);
        result.Published?.Invoke();
        logger.LogInformation("{Source}: polled in {Elapsed:F0} ms: {Published} new reading(s), {Rejected} problem(s)",
            options.Name, clock.GetElapsedTime(started).TotalMilliseconds, result.Messages.Count, result.Problems.Count);

        if (_health.Update(result.Problems, clock.GetUtcNow()) is { } change)
            await publish(change, cancellationToken);

        var pollFailed = result.Problems.Any(p => p.Key.StartsWith("poll:", StringComparison.Ordinal));
        _consecutiveFailures = pollFailed ? _consecutiveFailures + 1 : 0;
        if (!pollFailed)
            return options.Interval;

        var backoff = TimeSpan.FromTicks(Math.Min(options.FailureBackoffMax.Ticks,
            options.Interval.Ticks * (long)Math.Pow(2, Math.Min(_consecutiveFailures - 1, 30))));
        return retryAfter is { } throttle && throttle > backoff ? throttle : backoff;
    }

    static PollResult Failed(string kind, string message) => new([], [new SourceProblem("poll:" + kind, message)]);
}
