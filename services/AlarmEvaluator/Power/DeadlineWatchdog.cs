using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;
using PowerEvents.Contracts;

namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>
/// Deadlines without a scheduler: each run keeps its current step's deadline in its row; this loop finds rows whose
/// deadline passed and tells the saga. It survives restarts because the deadline is data. A deadline already
/// reported is reported again only if it is still there after a while (the first message may have been lost);
/// the saga ignores a deadline of a step it has left.
/// </summary>
public sealed class DeadlineWatchdog(
    NpgsqlDataSource dataSource,
    IBus bus,
    IOptions<PowerOptions> options,
    TimeProvider clock,
    ILogger<DeadlineWatchdog> logger) : BackgroundService
{
    static readonly TimeSpan RepeatAfter = TimeSpan.FromSeconds(30);
    readonly Dictionary<(Guid Id, int Step), DateTimeOffset> _reported = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await ResumeActiveRunsAsync(stoppingToken);
        using var timer = new PeriodicTimer(options.Value.DeadlinePollInterval, clock);
        do
        {
            try
            {
                await CheckAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // The database or the broker is away for a moment: deadlines are data, the next tick finds them again.
                logger.LogWarning("Deadline check failed, will try again: {Error}", ex.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>
    /// Once at start: every run still active gets <see cref="PowerRunResumed"/>, so steps whose commands were lost in a
    /// crash (saved, not yet published) are asked for again instead of waiting for their deadline.
    /// </summary>
    async Task ResumeActiveRunsAsync(CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromSeconds(1);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var active = new List<PowerRunResumed>();
                await using (var command = dataSource.CreateCommand(
                    "SELECT correlation_id, run_id, step FROM power_saga WHERE deadline IS NOT NULL AND run_id IS NOT NULL"))
                await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
                {
                    while (await reader.ReadAsync(cancellationToken))
                        active.Add(new PowerRunResumed(reader.GetGuid(0), reader.GetGuid(1), reader.GetInt32(2)));
                }
                foreach (var resumed in active)
                {
                    logger.LogWarning("Run {RunId} was active when the evaluator stopped; asking again for its outstanding steps", resumed.RunId);
                    await bus.Send(resumed, cancellationToken);
                }
                return;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                // PostgreSQL or the broker not there yet: the deadlines still move every run on, but try again.
                logger.LogWarning("Resuming active runs failed, will try again: {Error}", ex.Message);
                await Task.Delay(delay, clock, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
        }
    }

    async Task CheckAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var due = new List<PowerRunDeadlineReached>();
        await using (var command = dataSource.CreateCommand(
            "SELECT correlation_id, run_id, step, deadline FROM power_saga WHERE deadline IS NOT NULL AND deadline <= $1 AND run_id IS NOT NULL"))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = now });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
                due.Add(new PowerRunDeadlineReached(reader.GetGuid(0), reader.GetGuid(1), reader.GetInt32(2), reader.GetFieldValue<DateTimeOffset>(3)));
        }

        foreach (var key in _reported.Keys.Where(k => !due.Any(d => d.ClusterId == k.Id && d.Step == k.Step)).ToList())
            _reported.Remove(key);

        foreach (var deadline in due)
        {
            var key = (deadline.ClusterId, deadline.Step);
            if (_reported.TryGetValue(key, out var at) && now - at < RepeatAfter)
                continue;
            _reported[key] = now;
            logger.LogInformation("Run {RunId}: step {Step} deadline {Deadline:O} passed", deadline.RunId, deadline.Step, deadline.Deadline);
            await bus.Send(deadline, cancellationToken);
        }
    }
}
