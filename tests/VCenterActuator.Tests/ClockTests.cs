using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using PowerEvents.Contracts;
using PowerEvents.Testing;
using Xunit;

namespace PowerEvents.VCenterActuator.Tests;

/// <summary>The steps' deadlines run on the injected clock: a fake one makes minutes of waiting take moments of test.</summary>
public sealed class ClockTests
{
    [Fact]
    public async Task The_vcls_retreat_wait_gives_up_at_its_deadline_on_the_steps_clock()
    {
        // vCenter's agent takes an hour to retire the vCLS VMs: only the step's deadline ends the wait.
        await using var vcsim = await VcsimProcess.StartAsync(["-hosts", "2", "-vms", "1", "-vcls", "-vcls-retreat-delay", "1h", "-control", "127.0.0.1:0"]);
        var options = Vcenter.Options(vcsim, o => o.VclsRetreatTimeout = TimeSpan.FromMinutes(3));
        await using var connection = Vcenter.Connection(options);
        var clock = new WaitCountingTimeProvider(DateTimeOffset.UtcNow);
        var steps = new VCenterSteps(Vcenter.Client(connection, options), Microsoft.Extensions.Options.Options.Create(options), new OutcomeMemory(),
            NullLogger<VCenterSteps>.Instance, clock: clock);
        var started = Stopwatch.StartNew();
        var fakeStart = clock.GetUtcNow();

        var step = steps.EnterVclsRetreatAsync(new VclsRetreatRequested(Guid.NewGuid(), "cluster1"), CancellationToken.None);
        // The clock moves only while the step waits between its polls: time spent in vCenter calls on a busy machine must
        // not count against its deadline in the test (it did when the clock moved on a real-time beat).
        var waitsSeen = 0;
        while (!step.IsCompleted && started.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (clock.Waits > waitsSeen)
            {
                waitsSeen = clock.Waits;
                clock.Advance(TimeSpan.FromSeconds(20));
            }
            await Task.WhenAny(step, Task.Delay(10));
        }
        var outcome = await step.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal((StepOutcome.Failed, "Timeout"), (outcome.Outcome, outcome.Fault?.Name));
        Assert.Contains("still running 00:03:00 after retreat mode", outcome.Fault!.Message, StringComparison.Ordinal);
        Assert.InRange(outcome.CompletedAt - fakeStart, TimeSpan.FromMinutes(3), TimeSpan.FromMinutes(4));
        Assert.True(started.Elapsed < TimeSpan.FromMinutes(1), $"took {started.Elapsed} of real time");
        Assert.Contains((await VcsimState.ReadAsync(vcsim)).Vms, v => v.Name.StartsWith("vCLS-", StringComparison.Ordinal) && v.PowerState == "poweredOn");
    }
}

/// <summary>A fake clock that counts the timers created on it (each <c>Task.Delay</c> of a step is one): the step is waiting.</summary>
sealed class WaitCountingTimeProvider(DateTimeOffset start) : FakeTimeProvider(start)
{
    int _waits;

    public int Waits => Volatile.Read(ref _waits);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        Interlocked.Increment(ref _waits);
        return timer;
    }
}
