using PowerEvents.Contracts;
using PowerEvents.Testing;
using PowerEvents.VCenterActuator.Vim;
using Xunit;

namespace PowerEvents.VCenterActuator.Tests;

/// <summary>
/// Waiting steps learn what they wait for from one WaitForUpdatesEx stream per session (a ListView of the watched
/// objects under one PropertyFilter): the calls a step makes do not grow with how long it waits.
/// </summary>
public sealed class PushTests : IAsyncLifetime
{
    VcsimProcess _vcsim = null!;

    public async Task InitializeAsync() => _vcsim = await VcsimProcess.StartAsync([
        "-hosts", "2", "-vms", "10", "-control", "127.0.0.1:0", "-guest-shutdown-min", "1s", "-guest-shutdown-max", "2s"]);

    public async Task DisposeAsync() => await _vcsim.DisposeAsync();

    [Fact]
    public async Task Twenty_guest_shutdowns_wait_on_one_update_stream_without_polling()
    {
        var options = Vcenter.Options(_vcsim);
        await using var connection = Vcenter.Connection(options);
        var (client, steps, vms) = await StepsAsync(connection, options);
        var readsBefore = connection.Calls("RetrievePropertiesEx");

        var outcomes = await Task.WhenAll(vms.Select(vm =>
            steps.ShutDownVmAsync(new VmShutdownRequested(Guid.NewGuid(), "cluster1", vm.Id, vm.Name, null), CancellationToken.None)));

        Assert.All(outcomes, o => Assert.Equal(VmShutdownOutcome.Graceful, o.Outcome));
        Assert.Equal(20, outcomes.Length);
        // One collector, one view, one filter for the session, however many steps wait.
        Assert.Equal((1, 1, 1), (connection.Calls("CreatePropertyCollector"), connection.Calls("CreateListView"), connection.Calls("CreateFilter")));
        Assert.Equal(20, connection.Calls("ShutdownGuest"));
        // VMs that join the view together are read together, once; after that only pushed changes, never a poll.
        var reads = connection.Calls("RetrievePropertiesEx") - readsBefore;
        Assert.InRange(reads, 1, connection.Calls("ModifyListView"));
        Assert.True(reads < outcomes.Length, $"{reads} reads for {outcomes.Length} VMs");
        // Every long poll but the one still open came back with changes: none was spent per VM or per tick of a clock.
        Assert.InRange(connection.Calls("WaitForUpdatesEx"), 1, client.Watcher.UpdateSets + 2);
        await Vcenter.Eventually(() => Task.FromResult(client.Watcher.Count == 0), TimeSpan.FromSeconds(10), "the VMs left the view");
    }

    [Fact]
    public async Task A_session_lost_while_steps_wait_is_replaced_the_view_made_again_and_the_steps_still_finish()
    {
        var options = Vcenter.Options(_vcsim);
        await using var connection = Vcenter.Connection(options);
        var (_, steps, all) = await StepsAsync(connection, options);
        var vms = all.Take(4).ToList();

        var running = vms.Select(vm =>
            steps.ShutDownVmAsync(new VmShutdownRequested(Guid.NewGuid(), "cluster1", vm.Id, vm.Name, null), CancellationToken.None)).ToList();
        await Vcenter.Eventually(async () => (await VcsimState.ReadAsync(_vcsim)).Journal.Count(e => e.Event == "shutdownGuest") == vms.Count,
            TimeSpan.FromSeconds(20), "every guest asked to shut down");
        await using (var admin = Vcenter.Connection(options))
        {
            var content = await admin.ContentAsync(CancellationToken.None);
            await admin.InvokeAsync("TerminateSession", content.SessionManager, [Soap.El("sessionId", connection.SessionKey!)], CancellationToken.None);
        }
        var outcomes = await Task.WhenAll(running);
        // A step that starts after the loss is served by the new session's stream.
        var late = vms[0];
        var poweredOn = await steps.PowerOnVmAsync(new VmPowerOnRequested(Guid.NewGuid(), "cluster1", late.Id, late.Name), CancellationToken.None);

        Assert.All(outcomes, o => Assert.Equal(VmShutdownOutcome.Graceful, o.Outcome));
        Assert.Equal(StepOutcome.Done, poweredOn.Outcome);
        Assert.Equal(2, connection.Logins);
        await Vcenter.Eventually(() => Task.FromResult(connection.Calls("CreateFilter") == 2), TimeSpan.FromSeconds(20), "the filter made again in the new session");
        Assert.Equal(vms.Count, connection.Calls("ShutdownGuest"));
    }

    [Fact]
    public async Task A_step_that_waits_four_times_longer_makes_no_more_calls()
    {
        // Guests that never finish: each step waits out its whole timeout, then powers the VM off hard.
        await using var vcsim = await VcsimProcess.StartAsync(["-hosts", "1", "-vms", "3", "-stuck", "."]);
        var options = Vcenter.Options(vcsim);
        await using var connection = Vcenter.Connection(options);
        var (client, steps, vms) = await StepsAsync(connection, options);

        // Calls other than the update stream, and long polls of the stream that came back without a change.
        async Task<(long Calls, long EmptyPolls)> CallsForAsync(VmInventory vm, TimeSpan timeout)
        {
            var (calls, polls, sets) = (Others(), connection.Calls("WaitForUpdatesEx"), client.Watcher.UpdateSets);
            var outcome = await steps.ShutDownVmAsync(new VmShutdownRequested(Guid.NewGuid(), "cluster1", vm.Id, vm.Name, timeout), CancellationToken.None);
            Assert.Equal((VmShutdownOutcome.Forced, VCenterException.Timeout), (outcome.Outcome, outcome.Fault?.Name));
            // The VM leaves the view (removals are batched once a second) before the next step is counted.
            await Vcenter.Eventually(() => Task.FromResult(client.Watcher.Count == 0), TimeSpan.FromSeconds(30), "the VM left the view");
            return (Others() - calls, connection.Calls("WaitForUpdatesEx") - polls - (client.Watcher.UpdateSets - sets));
        }
        long Others() => connection.RoundTrips - connection.Calls("WaitForUpdatesEx");

        await CallsForAsync(vms[0], TimeSpan.FromSeconds(1)); // the session and its update stream are set up once
        var quick = await CallsForAsync(vms[1], TimeSpan.FromSeconds(1));
        var patient = await CallsForAsync(vms[2], TimeSpan.FromSeconds(4));

        // Polling at the tests' PollInterval (100 ms) would have cost about 30 more calls. How many update sets the stream
        // brings depends on how vCenter batches the changes (a busy machine merges them), so the stream is held to
        // "no long poll without a change" (one may end at the stream's own maxWaitSeconds) rather than to a count.
        Assert.InRange(patient.Calls, quick.Calls - 2, quick.Calls + 2);
        Assert.InRange(patient.EmptyPolls, -1, 2);
    }

    static async Task<(VCenterClient Client, VCenterSteps Steps, IReadOnlyList<VmInventory> Vms)> StepsAsync(VimConnection connection, VCenterOptions options)
    {
        var client = Vcenter.Client(connection, options);
        return (client, Vcenter.Steps(client, options), (await client.GetClusterInventoryAsync("cluster1", CancellationToken.None)).Vms);
    }
}
