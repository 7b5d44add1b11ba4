namespace PowerEvents.SensorPoller.Polling;

/// <summary>
/// Polls one source's signals on the source's interval until stopped. Each signal has its own health and
/// its own failure backoff, so one failing signal never delays or blinds another. A poll never overlaps the
/// previous one. A failing signal waits twice as long each time, up to FailureBackoffMax (by default the
/// interval itself, so it is tried again within one interval of the API answering) and at least its
/// Retry-After; the outage is reported when it starts and, with its length, when it ends.
/// </summary>
public sealed class SourceLoop(ISensorSource source, Func<object, CancellationToken, Task> publish, TimeProvider clock, ILogger logger)
{
    readonly SignalState[] _signals = source.Signals.Select(s => new SignalState(s, new SourceHealth(s.HealthName, logger))).ToArray();

    /// <summary>True while every signal is healthy.</summary>
    public bool Healthy => _signals.All(s => s.Health.Healthy);

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        var options = source.Options;
        logger.LogInformation("{Source}: polling every {Interval} ({Signals})", options.Name, options.Interval, string.Join(", ", _signals.Select(s => s.Signal.HealthName)));
        if (options.EffectiveFailureBackoffMax > options.Interval)
            logger.LogWarning("{Source}: FailureBackoffMax {Max} is longer than the interval: after an outage the source may stay unread that long after its API answers again", options.Name, options.EffectiveFailureBackoffMax);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                foreach (var state in _signals.Where(s => s.DueAt <= clock.GetTimestamp()))
                {
                    var started = clock.GetTimestamp();
                    TimeSpan delay;
                    try
                    {
                        delay = await PollSignalAsync(state, stoppingToken);
                    }
                    catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                    {
                        // A bug or a broker outage must not end polling for good; the next poll tries again.
                        logger.LogError(ex, "{Source}: poll failed unexpectedly", state.Signal.HealthName);
                        delay = options.Interval;
                    }
                    state.DueAt = started + (long)(delay.TotalSeconds * clock.TimestampFrequency);
                }

                var wait = TimeSpan.FromSeconds((double)(_signals.Min(s => s.DueAt) - clock.GetTimestamp()) / clock.TimestampFrequency);
                if (wait > TimeSpan.Zero)
                    await Task.Delay(wait, clock, stoppingToken);
            }
            catch (Exception) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
        }
        logger.LogInformation("{Source}: stopped", options.Name);
    }

    /// <summary>One poll of every signal: publish what is valid, report what is not; returns the time until the
    /// next poll should start (the shortest of the signals' delays). Throws when publishing fails.</summary>
    public async Task<TimeSpan> PollOnceAsync(CancellationToken cancellationToken)
    {
        var delays = new List<TimeSpan>();
        foreach (var state in _signals)
            delays.Add(await PollSignalAsync(state, cancellationToken));
        return delays.Min();
    }

    async Task<TimeSpan> PollSignalAsync(SignalState state, CancellationToken cancellationToken)
    {
        var options = source.Options;
        var name = state.Signal.HealthName;
        var started = clock.GetTimestamp();
        var published = 0;
        IReadOnlyList<SourceProblem> problems;
        TimeSpan? retryAfter = null;
        try
        {
            problems = await state.Signal.PollAsync(async (messages, token) =>
            {
                try
                {
                    foreach (var message in messages)
                        await publish(message, token);
                }
                catch (Exception ex) when (!token.IsCancellationRequested)
                {
                    throw new PublishFailedException(ex);
                }
                published += messages.Count;
            }, cancellationToken);
        }
        catch (PublishFailedException ex)
        {
            // The broker's failure, not the source's: the messages were not sent and are read again next time.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex.InnerException!);
            throw;
        }
        catch (SourceThrottledException ex)
        {
            retryAfter = ex.RetryAfter;
            problems = [Failed("throttled", ex.Message)];
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Whatever went wrong while reading the source (network, status, shape, a parser bug) is the
            // signal's failure to report, never a reason to stop polling it.
            problems = [Failed("failed", ex is SourceException or HttpRequestException or Polly.Timeout.TimeoutRejectedException
                ? ex.Message : $"{ex.GetType().Name}: {ex.Message}")];
        }

        logger.LogInformation("{Source}: polled in {Elapsed:F0} ms: {Published} new message(s), {Rejected} problem(s)",
            name, clock.GetElapsedTime(started).TotalMilliseconds, published, problems.Count);
        PollerMetrics.Published(name, published);

        var now = clock.GetUtcNow();
        var pollFailed = problems.Any(p => p.Key.StartsWith("poll:", StringComparison.Ordinal));
        if (pollFailed && state.ConsecutiveFailures == 0)
            state.OutageSince = now;
        if (!pollFailed && state.ConsecutiveFailures > 0)
            logger.LogWarning("{Source}: answering again after an outage of {Outage:g} ({Failures} failed poll(s))",
                name, now - state.OutageSince, state.ConsecutiveFailures);
        state.ConsecutiveFailures = pollFailed ? state.ConsecutiveFailures + 1 : 0;
        PollerMetrics.Poll(name, retryAfter is not null ? "throttled" : pollFailed ? "failed" : "ok", clock.GetElapsedTime(started));

        if (state.Health.Update(problems, now) is { } change)
            await publish(change, cancellationToken);

        if (!pollFailed)
            return options.Interval;
        var backoff = TimeSpan.FromTicks(Math.Min(options.EffectiveFailureBackoffMax.Ticks,
            options.Interval.Ticks * (long)Math.Pow(2, Math.Min(state.ConsecutiveFailures - 1, 30))));
        return retryAfter is { } throttle && throttle > backoff ? throttle : backoff;
    }

    static SourceProblem Failed(string kind, string message) => new("poll:" + kind, message);

    sealed class PublishFailedException(Exception inner) : Exception(inner.Message, inner);

    sealed class SignalState(ISignal signal, SourceHealth health)
    {
        public ISignal Signal { get; } = signal;
        public SourceHealth Health { get; } = health;
        public int ConsecutiveFailures { get; set; }
        public DateTimeOffset OutageSince { get; set; }
        public long DueAt { get; set; }
    }
}
