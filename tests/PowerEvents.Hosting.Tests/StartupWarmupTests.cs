using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace PowerEvents.Hosting.Tests;

/// <summary>The start-up warm-up's order and readiness (unit tests: steps are in-process delegates).</summary>
public sealed class StartupWarmupTests
{
    static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Ready_after_the_steps_in_line_without_waiting_for_a_step_alongside()
    {
        var alongsideStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseAlongside = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var order = new List<string>();
        var steps = new[]
        {
            new WarmupStep("first", (_, _) => { lock (order) order.Add("first"); return Task.CompletedTask; }),
            new WarmupStep("beside", async (_, ct) =>
            {
                alongsideStarted.TrySetResult();
                await releaseAlongside.Task.WaitAsync(ct);
                lock (order) order.Add("beside");
            }, Alongside: true),
            new WarmupStep("second", (_, _) => { lock (order) order.Add("second"); return Task.CompletedTask; }),
        };
        using var warmup = new StartupWarmup(steps, new EmptyServices(), NullLogger<StartupWarmup>.Instance);

        await warmup.StartAsync(CancellationToken.None);
        await alongsideStarted.Task.WaitAsync(Deadline);
        for (var waited = System.Diagnostics.Stopwatch.StartNew(); !warmup.Done && waited.Elapsed < Deadline;)
            await Task.Delay(10);

        // Ready while the step alongside still runs; the steps in line ran in their order.
        Assert.True(warmup.Done);
        Assert.False(warmup.ExecuteTask!.IsCompleted);
        lock (order)
            Assert.Equal(["first", "second"], order);

        releaseAlongside.SetResult();
        await warmup.ExecuteTask.WaitAsync(Deadline);
        lock (order)
            Assert.Equal(["first", "second", "beside"], order);
    }

    sealed class EmptyServices : IServiceProvider
    {
        public object? GetService(Type serviceType) => null;
    }
}
