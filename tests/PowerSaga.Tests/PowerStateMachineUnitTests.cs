using System.Collections.Concurrent;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PowerEvents.AlarmEvaluator.Power;
using PowerEvents.Contracts;
using PowerEvents.Hosting;
using Xunit;

namespace PowerEvents.PowerSaga.Tests;

/// <summary>
/// The state machine on MassTransit's in-memory test harness (unit tests: no broker, no database). The vCenter
/// actuator is stubbed by handlers that answer each command at once; a VM named in <see cref="_silent"/> never answers a
/// shutdown, one in <see cref="_silentPowerOn"/> never a power-on.
/// </summary>
public sealed class PowerStateMachineUnitTests : IAsyncLifetime
{
    static readonly Guid ClusterId = PowerIds.ForCluster("cluster1");
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    readonly ConcurrentQueue<object> _commands = new();
    readonly HashSet<string> _silent = [];
    readonly HashSet<string> _silentPowerOn = [];
    readonly HashSet<string> _silentBmcs = [];
    readonly HashSet<string> _alreadyOnBmcs = [];
    ServiceProvider _provider = null!;
    ITestHarness _harness = null!;
    ISagaStateMachineTestHarness<PowerStateMachine, PowerSagaState> _saga = null!;
    PowerStateMachine _machine = null!;

    public async Task InitializeAsync()
    {
        _provider = new ServiceCollection()
            .AddLogging()
            .AddSingleton(TimeProvider.System)
            .AddSingleton(Options.Create(new PowerOptions { Clusters = [Inventories.Cluster()], StepRetries = 1 }))
            .AddSingleton<IValidateOptions<PowerOptions>>(new PowerEvents.Hosting.KeyedOptionsValidator<PowerOptions>("Power"))
            .AddMassTransitTestHarness(x =>
            {
                x.AddSagaStateMachine<PowerStateMachine, PowerSagaState, PowerSagaDefinition>();
                x.AddConsumer<ZoneAlarmConsumer>();
                x.AddConsumer<PowerCommandConsumer, PowerCommandConsumerDefinition>();
                x.AddHandler<ClusterInventoryRequested>(async c =>
                {
                    _commands.Enqueue(c.Message);
                    await c.Publish(Inventories.Mixed(c.Message.RunId) with { Cluster = c.Message.Cluster });
                }).Endpoint(e => e.Name = CommandRoutes.QueueOf<ClusterInventoryRequested>());
                x.AddHandler<VmShutdownRequested>(async c =>
                {
                    _commands.Enqueue(c.Message);
                    if (_silent.Contains(c.Message.VmName))
                        return;
                    var vcenter = c.Message.VmName == "vcsa";
                    await c.Publish(new VmShutDown(c.Message.RunId, c.Message.Cluster, c.Message.VmId, c.Message.VmName,
                        vcenter ? VmShutdownOutcome.Failed : VmShutdownOutcome.Graceful,
                        vcenter ? new VCenterFault("Unreachable", "ShutdownGuest was accepted; vCenter went away") : null, DateTimeOffset.UtcNow));
                }).Endpoint(e => e.Name = CommandRoutes.QueueOf<VmShutdownRequested>());
                x.AddHandler<HostMaintenanceRequested>(async c =>
                {
                    _commands.Enqueue(c.Message);
                    await c.Publish(new HostEnteredMaintenance(c.Message.RunId, c.Message.Cluster, c.Message.Host, StepOutcome.Done, null, DateTimeOffset.UtcNow));
                }).Endpoint(e => e.Name = CommandRoutes.QueueOf<HostMaintenanceRequested>());
                x.AddHandler<HostShutdownRequested>(async c =>
                {
                    _commands.Enqueue(c.Message);
                    await c.Publish(new HostPoweredOff(c.Message.RunId, c.Message.Cluster, c.Message.Host, StepOutcome.Done, null, DateTimeOffset.UtcNow));
                }).Endpoint(e => e.Name = CommandRoutes.QueueOf<HostShutdownRequested>());
                x.AddHandler<PowerOnRequested>(async c =>
                {
                    _commands.Enqueue(c.Message);
                    if (_silentBmcs.Contains(c.Message.Host))
                        return;
                    var outcome = _alreadyOnBmcs.Contains(c.Message.Host) ? PowerOnOutcome.AlreadyOn : PowerOnOutcome.PoweredOn;
                    await c.Publish(new HostPowerOnCompleted(c.Message.RunId, c.Message.Cluster, c.Message.Host, outcome, "", "redfish", DateTimeOffset.UtcNow));
                }).Endpoint(e => e.Name = CommandRoutes.QueueOf<PowerOnRequested>());
                x.AddHandler<HostExitMaintenanceRequested>(async c =>
                {
                    _commands.Enqueue(c.Message);
                    await c.Publish(new HostExitedMaintenance(c.Message.RunId, c.Message.Cluster, c.Message.Host, StepOutcome.Done, null, DateTimeOffset.UtcNow));
                }).Endpoint(e => e.Name = CommandRoutes.QueueOf<HostExitMaintenanceRequested>());
                x.AddHandler<VmPowerOnRequested>(async c =>
                {
                    _commands.Enqueue(c.Message);
                    if (_silentPowerOn.Contains(c.Message.VmName))
                        return;
                    await c.Publish(new VmPoweredOn(c.Message.RunId, c.Message.Cluster, c.Message.VmId, c.Message.VmName, StepOutcome.Done, null, DateTimeOffset.UtcNow));
                }).Endpoint(e => e.Name = CommandRoutes.QueueOf<VmPowerOnRequested>());
            })
            .BuildServiceProvider(true);
        _harness = _provider.GetRequiredService<ITestHarness>();
        await _harness.Start();
        _saga = _harness.GetSagaStateMachineHarness<PowerStateMachine, PowerSagaState>();
        _machine = _provider.GetRequiredService<PowerStateMachine>();
    }

    public async Task DisposeAsync()
    {
        await _harness.Stop();
        await _provider.DisposeAsync();
    }

    Task RaiseAlarm(string zone = "room-a") =>
        _harness.Bus.Publish(new AlarmRaised(Guid.NewGuid(), zone, DateTimeOffset.UtcNow, 35, []));

    async Task<PowerSagaState> WaitFor(Func<PowerSagaState, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (DateTime.UtcNow < deadline)
        {
            if (_saga.Sagas.Contains(ClusterId) is { } saga && Holds(condition, saga))
                return saga;
            await Task.Delay(20);
        }
        var last = _saga.Sagas.Contains(ClusterId);
        throw new TimeoutException($"Saga never got there: {what} (last: {last?.CurrentState ?? "none"}, run phase {last?.Run?.Phase})");
    }

    /// <summary>The in-memory saga is read while the machine may be changing it: a list changed under a read is read again.</summary>
    static bool Holds(Func<PowerSagaState, bool> condition, PowerSagaState saga)
    {
        try
        {
            return condition(saga);
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>
    /// Whether <paramref name="saga"/>'s current run has published its completion. The in-memory saga is read while the
    /// machine mutates it: a new run's id is set before its state leaves ShutDown, so a new run's "ShutDown" needs this too.
    /// </summary>
    bool Completed(PowerSagaState saga) => _harness.Published.Select<PowerRunCompleted>(x => x.Context.Message.RunId == saga.RunId).Any();

    /// <summary>Whether the stub actuator has received a shutdown command for <paramref name="vm"/>.</summary>
    bool Asked(string vm) => _commands.OfType<VmShutdownRequested>().Any(c => c.VmName == vm);

    [Fact]
    public async Task An_alarm_in_the_zone_runs_the_whole_shutdown_in_tier_order_then_hosts()
    {
        await RaiseAlarm();

        var saga = await WaitFor(s => s.CurrentState == _machine.ShutDown.Name, "shut down");

        var vmOrder = _commands.OfType<VmShutdownRequested>().Select(c => c.VmName).ToList();
        Assert.Equal(["misc", "app-1", "app-2", "db-1", "reporting", "dns-1", "vcsa"], vmOrder);
        Assert.Equal(2, _commands.OfType<HostMaintenanceRequested>().Count());
        Assert.Equal(2, _commands.OfType<HostShutdownRequested>().Count());
        var lastVm = _commands.ToList().FindLastIndex(c => c is VmShutdownRequested);
        Assert.True(lastVm < _commands.ToList().FindIndex(c => c is HostMaintenanceRequested), "hosts go into maintenance only after every VM");
        Assert.True(await _harness.Published.Any<PowerRunStarted>(x => x.Context.Message.RunId == saga.RunId));
        Assert.True(await _harness.Published.Any<VCenterVmOnProtectedCluster>(x => x.Context.Message.VmName == "vcsa" && !x.Context.Message.HostFinishedViaEsxi));
        var completed = (await _harness.Published.SelectAsync<PowerRunCompleted>().First()).Context.Message;
        Assert.Empty(completed.Failures);
        Assert.All(_commands.OfType<VmShutdownRequested>(), c => Assert.Equal(Inventories.Cluster().GuestShutdownTimeout, c.GuestShutdownTimeout));
    }

    [Fact]
    public async Task An_alarm_in_another_zone_starts_nothing()
    {
        await RaiseAlarm("room-b");

        Assert.True(await _harness.Consumed.Any<AlarmRaised>());
        Assert.False(await _harness.Sent.Any<ClusterShutdownRequested>());
        Assert.Null(_saga.Sagas.Contains(ClusterId));
    }

    [Fact]
    public async Task When_the_alarm_is_raised_again_during_a_run_no_second_run_starts()
    {
        _silent.Add("misc");
        await RaiseAlarm();
        var first = await WaitFor(s => s.CurrentState == _machine.ShuttingDown.Name && s.Run!.Phase == RunPhase.VmTiers, "shutting down VMs");

        await RaiseAlarm();
        await WaitFor(s => s.Run!.Journal.Any(e => e.Outcome == RunOutcome.AlreadyRunning), "second alarm recorded");

        Assert.Equal(first.RunId, _saga.Sagas.Contains(ClusterId)!.RunId);
        Assert.Single(_commands.OfType<ClusterInventoryRequested>());
    }

    [Fact]
    public async Task An_alarm_after_a_finished_run_starts_a_new_run_that_keeps_the_previous_one()
    {
        await RaiseAlarm();
        var first = await WaitFor(s => s.CurrentState == _machine.ShutDown.Name, "first run done");
        var firstRunId = first.RunId;

        await RaiseAlarm();

        var second = await WaitFor(s => s.CurrentState == _machine.ShutDown.Name && s.RunId != firstRunId && Completed(s), "second run done");
        Assert.Equal(firstRunId, second.Run!.PreviousRun!.RunId);
        Assert.Null(second.Run.PreviousRun.PreviousRun);
        Assert.Equal(2, _commands.OfType<ClusterInventoryRequested>().Count());
    }

    [Fact]
    public async Task When_the_alarm_clears_during_shutdown_the_shutdown_finishes_first_then_the_power_on_waits()
    {
        _silent.Add("misc");
        await RaiseAlarm();
        var saga = await WaitFor(s => s.CurrentState == _machine.ShuttingDown.Name && s.Run!.Phase == RunPhase.VmTiers && Asked("misc"), "shutting down VMs");

        await _harness.Bus.Publish(new AlarmCleared(saga.AlarmId!.Value, "room-a", DateTimeOffset.UtcNow, 30, []));
        await WaitFor(s => s.AlarmClearedAt is not null, "clear recorded");
        var vm = _commands.OfType<VmShutdownRequested>().Single(c => c.VmName == "misc");
        await _harness.Bus.Publish(new VmShutDown(vm.RunId, vm.Cluster, vm.VmId, vm.VmName, VmShutdownOutcome.Graceful, null, DateTimeOffset.UtcNow));

        await WaitFor(s => s.CurrentState == _machine.WaitingToPowerOn.Name, "shut down, power-on pending");
        var completed = (await _harness.Published.SelectAsync<PowerRunCompleted>().First()).Context.Message;
        Assert.True(completed.AlarmClearedDuringRun);
        Assert.Equal(2, _commands.OfType<HostShutdownRequested>().Count());
    }

    [Fact]
    public async Task A_passed_tier_deadline_moves_on_and_the_silent_vm_is_listed_as_a_failure()
    {
        _silent.Add("misc");
        await RaiseAlarm();
        var saga = await WaitFor(s => s.CurrentState == _machine.ShuttingDown.Name && s.Run!.Phase == RunPhase.VmTiers && s.Run!.CurrentTier == 0, "first tier");

        await _harness.Bus.Publish(new PowerRunDeadlineReached(ClusterId, saga.RunId!.Value, saga.Step, saga.Deadline!.Value));

        await WaitFor(s => s.CurrentState == _machine.ShutDown.Name, "shut down");
        var completed = (await _harness.Published.SelectAsync<PowerRunCompleted>().First()).Context.Message;
        Assert.Equal(["vm-shutdown misc: no outcome"], completed.Failures);
        Assert.True(await _harness.Published.Any<PowerRunStepFailed>(x => x.Context.Message.Target == "misc" && x.Context.Message.Outcome == "HardPowerOff"));
        Assert.True(await _harness.Sent.Any<VmShutdownRequested>(x => x.Context.Message.VmName == "misc" && x.Context.Message.GuestShutdownTimeout == TimeSpan.Zero));
    }

    [Fact]
    public async Task After_a_restart_the_run_asks_again_for_the_step_it_waits_on_and_finishes_when_it_answers()
    {
        _silent.Add("misc");
        await RaiseAlarm();
        // Its command handled too (silently): the saga's row says Requested before the command reaches the handler, and a
        // command handled after misc stopped being silent would answer it at once.
        var saga = await WaitFor(s => s.CurrentState == _machine.ShuttingDown.Name && s.Run!.Phase == RunPhase.VmTiers && s.Run!.CurrentTier == 0
            && s.Run.Tiers[0].Vms.Any(v => v.Name == "misc" && v.Status == StepStatus.Requested) && Asked("misc"), "misc asked");

        // As if the evaluator had died after saving the request for misc but before publishing it: misc now answers.
        _silent.Remove("misc");
        await _harness.Bus.Publish(new PowerRunResumed(ClusterId, saga.RunId!.Value, saga.Step));

        await WaitFor(s => s.CurrentState == _machine.ShutDown.Name, "shut down");
        Assert.Equal(2, _commands.OfType<VmShutdownRequested>().Count(c => c.VmName == "misc"));
        var completed = (await _harness.Published.SelectAsync<PowerRunCompleted>().First()).Context.Message;
        Assert.Empty(completed.Failures);
    }

    [Fact]
    public async Task A_deadline_of_a_step_already_left_is_ignored()
    {
        _silent.Add("app-1");
        await RaiseAlarm();
        var saga = await WaitFor(s => s.Run is { CurrentTier: 1 }, "second tier");
        var staleStep = saga.Step - 1;

        await _harness.Bus.Publish(new PowerRunDeadlineReached(ClusterId, saga.RunId!.Value, staleStep, DateTimeOffset.UtcNow));

        Assert.True(await _harness.Consumed.Any<PowerRunDeadlineReached>());
        await _harness.InactivityTask;
        Assert.Equal(1, _saga.Sagas.Contains(ClusterId)!.Run!.CurrentTier);
        Assert.Equal(_machine.ShuttingDown.Name, _saga.Sagas.Contains(ClusterId)!.CurrentState);
        Assert.Equal(RunPhase.VmTiers, _saga.Sagas.Contains(ClusterId)!.Run!.Phase);
    }

    [Fact]
    public async Task Outcomes_of_another_run_are_ignored()
    {
        _silent.Add("misc");
        await RaiseAlarm();
        await WaitFor(s => s.CurrentState == _machine.ShuttingDown.Name && s.Run!.Phase == RunPhase.VmTiers, "shutting down VMs");

        await _harness.Bus.Publish(new VmShutDown(Guid.NewGuid(), "cluster1", "id-misc", "misc", VmShutdownOutcome.Graceful, null, DateTimeOffset.UtcNow));
        await _harness.InactivityTask;

        var saga = _saga.Sagas.Contains(ClusterId)!;
        Assert.Equal(0, saga.Run!.CurrentTier);
        Assert.Equal(StepStatus.Requested, saga.Run.AllVms.Single(v => v.Name == "misc").Status);
        Assert.False(await _harness.Published.Any<Fault<VmShutDown>>());
    }

    [Fact]
    public async Task A_dry_run_reads_the_inventory_and_completes_without_asking_for_any_step()
    {
        _provider.GetRequiredService<IOptions<PowerOptions>>().Value.DryRun = true;

        await RaiseAlarm();

        await WaitFor(s => s.CurrentState == _machine.ShutDown.Name, "shut down");
        Assert.Single(_commands.OfType<ClusterInventoryRequested>());
        Assert.Empty(_commands.OfType<VmShutdownRequested>());
        Assert.Empty(_commands.OfType<HostMaintenanceRequested>());
        Assert.Empty(_commands.OfType<HostShutdownRequested>());
        Assert.True(await _harness.Published.Any<PowerRunStarted>(x => x.Context.Message.DryRun));
        var completed = (await _harness.Published.SelectAsync<PowerRunCompleted>().First()).Context.Message;
        Assert.Empty(completed.Failures);
    }

    /// <summary>Runs the shutdown to its end, then clears the alarm: the saga waits for the minimum off time.</summary>
    async Task<PowerSagaState> ShutDownThenClear()
    {
        await RaiseAlarm();
        var saga = await WaitFor(s => s.CurrentState == _machine.ShutDown.Name, "shut down");
        await _harness.Bus.Publish(new AlarmCleared(saga.AlarmId!.Value, "room-a", DateTimeOffset.UtcNow, 30, []));
        return await WaitFor(s => s.CurrentState == _machine.WaitingToPowerOn.Name, "waiting to power on");
    }

    /// <summary>What the deadline watchdog publishes when the saga's current deadline passes (the harness's instance is live: read it now).</summary>
    Task DeadlinePasses(PowerRunDeadlineReached deadline) => _harness.Bus.Publish(deadline);

    static PowerRunDeadlineReached DeadlineOf(PowerSagaState saga) => new(ClusterId, saga.RunId!.Value, saga.Step, saga.Deadline!.Value);

    [Fact]
    public async Task After_the_clear_and_the_minimum_off_time_the_hosts_come_back_then_exactly_the_running_vms_in_reverse_tier_order()
    {
        var waiting = await ShutDownThenClear();
        Assert.Equal(waiting.CompletedAt + Inventories.Cluster().MinimumOffTime, waiting.Deadline);
        Assert.Empty(_commands.OfType<PowerOnRequested>());

        await DeadlinePasses(DeadlineOf(waiting));

        var saga = await WaitFor(s => s.CurrentState == _machine.Restored.Name, "restored");
        Assert.Equal(["esx-01", "esx-02"], _commands.OfType<PowerOnRequested>().Select(c => c.Host).Order());
        Assert.Equal(2, _commands.OfType<HostExitMaintenanceRequested>().Count());
        var commands = _commands.ToList();
        Assert.True(commands.FindLastIndex(c => c is PowerOnRequested) < commands.FindLastIndex(c => c is ClusterInventoryRequested), "reconnect poll after the power-ons");
        Assert.True(commands.FindLastIndex(c => c is HostExitMaintenanceRequested) < commands.FindIndex(c => c is VmPowerOnRequested), "VMs after the maintenance exits");
        Assert.Equal(["vcsa", "dns-1", "db-1", "reporting", "app-1", "app-2", "misc"], _commands.OfType<VmPowerOnRequested>().Select(c => c.VmName));
        var completed = (await _harness.Published.SelectAsync<PowerRestoreCompleted>().First()).Context.Message;
        Assert.Equal(saga.RunId, completed.RunId);
        Assert.Empty(completed.HostsNotRestored);
        Assert.Empty(completed.VmsNotRestored);
        Assert.False(completed.Interrupted);
        Assert.True(await _harness.Published.Any<PowerRestoreStarted>(x => x.Context.Message.VmsToRestore == 7));
    }

    [Fact]
    public async Task A_host_the_bmc_reports_already_on_after_this_run_powered_it_off_is_published_as_powered_on_by_this_run()
    {
        // The actuator switched esx-01 on, died before publishing, and answered the redelivered request AlreadyOn.
        _alreadyOnBmcs.Add("esx-01");
        var waiting = await ShutDownThenClear();

        await DeadlinePasses(DeadlineOf(waiting));
        var saga = await WaitFor(s => s.CurrentState == _machine.Restored.Name, "restored");

        var facts = _harness.Published.Select<HostPowerOnCompleted>()
            .Select(x => x.Context.Message).Where(m => m.Outcome == PowerOnOutcome.PoweredOn && m.RunId == saga.RunId).ToList();
        Assert.Equal(["esx-01", "esx-02"], facts.Select(f => f.Host).Order());
        Assert.Contains($"powered on by run {saga.RunId}", facts.Single(f => f.Host == "esx-01").Reason, StringComparison.Ordinal);
        Assert.Empty((await _harness.Published.SelectAsync<PowerRestoreCompleted>().First()).Context.Message.HostsNotRestored);
    }

    [Fact]
    public async Task A_zone_transition_older_than_the_newest_seen_is_stale_and_changes_nothing()
    {
        var t0 = DateTimeOffset.UtcNow.AddMinutes(-10);
        var first = new AlarmRaised(Guid.NewGuid(), "room-a", t0, 35, [], Sequence: 1);
        await _harness.Bus.Publish(first);
        var down = await WaitFor(s => s.CurrentState == _machine.ShutDown.Name, "shut down");
        await _harness.Bus.Publish(new AlarmCleared(first.AlarmId, "room-a", t0.AddMinutes(1), 30, [], Sequence: 2));
        var waiting = await WaitFor(s => s.CurrentState == _machine.WaitingToPowerOn.Name, "waiting to power on");

        // The first raise again (redelivered after its clear): it must not cancel the power-on nor start a run.
        await _harness.Bus.Publish(first);
        var deadline = DateTime.UtcNow + Wait;
        while (_saga.Consumed.Select<ClusterShutdownRequested>().Count(x => x.Context.Message.AlarmId == first.AlarmId) < 2 && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        Assert.Equal(2, _saga.Consumed.Select<ClusterShutdownRequested>().Count(x => x.Context.Message.AlarmId == first.AlarmId));
        await _harness.InactivityTask;
        var after = _saga.Sagas.Contains(ClusterId)!;
        Assert.Equal(_machine.WaitingToPowerOn.Name, after.CurrentState);
        Assert.Equal(down.RunId, after.RunId);
        Assert.Equal(2, after.ZoneSequence);
        Assert.Equal(waiting.Deadline, after.Deadline);

        // A new transition (3) is acted on: the power-on is cancelled.
        await _harness.Bus.Publish(new AlarmRaised(Guid.NewGuid(), "room-a", t0.AddMinutes(2), 35, [], Sequence: 3));
        await WaitFor(s => s.CurrentState == _machine.ShutDown.Name && s.ZoneSequence == 3, "power-on cancelled by transition 3");
    }

    [Fact]
    public async Task An_alarm_before_the_minimum_off_time_passed_cancels_the_power_on()
    {
        var waiting = await ShutDownThenClear();
        var minimumOffTime = DeadlineOf(waiting);

        await RaiseAlarm();
        var saga = await WaitFor(s => s.CurrentState == _machine.ShutDown.Name, "back to shut down");
        await DeadlinePasses(minimumOffTime);
        await _harness.InactivityTask;

        Assert.Equal(minimumOffTime.RunId, saga.RunId);
        Assert.Null(saga.AlarmClearedAt);
        Assert.Empty(_commands.OfType<PowerOnRequested>());
        Assert.Equal(_machine.ShutDown.Name, _saga.Sagas.Contains(ClusterId)!.CurrentState);
    }

    [Fact]
    public async Task An_alarm_during_the_power_on_stops_it_and_shuts_down_again_keeping_what_is_still_owed()
    {
        var waiting = DeadlineOf(await ShutDownThenClear());
        _silentPowerOn.Add("db-1");
        await DeadlinePasses(waiting);
        await WaitFor(s => s.CurrentState == _machine.PoweringOn.Name && s.Run!.Phase == RunPhase.VmPowerOn && s.Run!.Restore.CurrentTier == 2, "powering on the databases tier");

        await RaiseAlarm();

        var saga = await WaitFor(s => s.CurrentState == _machine.ShutDown.Name && s.RunId != waiting.RunId && Completed(s), "second shutdown done");
        Assert.DoesNotContain(_commands.OfType<VmPowerOnRequested>(), c => c.VmName is "app-1" or "app-2" or "misc");
        var interrupted = (await _harness.Published.SelectAsync<PowerRestoreCompleted>().First()).Context.Message;
        Assert.True(interrupted.Interrupted);
        Assert.Contains(interrupted.VmsNotRestored, v => v.StartsWith("vm-power-on misc", StringComparison.Ordinal));
        Assert.Equal(waiting.RunId, saga.Run!.PreviousRun!.RunId);
        Assert.Contains(saga.Run.Restore.AllVms, v => v.Name == "misc");
    }

    [Fact]
    public async Task An_alarm_while_a_bmc_still_boots_its_host_waits_for_that_host_then_shuts_everything_down_again()
    {
        var waiting = DeadlineOf(await ShutDownThenClear());
        _silentBmcs.Add("esx-02");
        await DeadlinePasses(waiting);
        var booting = await WaitFor(s => s.CurrentState == _machine.PoweringOn.Name && s.Run!.Phase == RunPhase.HostPowerOn && s.Run!.Restore.Hosts.Any(h => h.PowerOn == StepStatus.Done), "esx-01 on, esx-02 booting");
        var runId = booting.RunId!.Value;

        await RaiseAlarm();
        await WaitFor(s => s.Run!.Restore.Draining, "draining");
        Assert.Equal(_machine.PoweringOn.Name, _saga.Sagas.Contains(ClusterId)!.CurrentState);
        Assert.Equal(RunPhase.HostPowerOn, _saga.Sagas.Contains(ClusterId)!.Run!.Phase);
        await _harness.Bus.Publish(new HostPowerOnCompleted(runId, "cluster1", "esx-02", PowerOnOutcome.PoweredOn, "", "redfish", DateTimeOffset.UtcNow));

        var again = await WaitFor(s => s.CurrentState == _machine.ShutDown.Name && s.RunId != runId && Completed(s), "second shutdown done");
        Assert.Empty(_commands.OfType<HostExitMaintenanceRequested>());
        Assert.Empty(_commands.OfType<VmPowerOnRequested>());
        Assert.True(again.Run!.PreviousRun!.Restore.Interrupted);
        Assert.Equal(4, _commands.OfType<HostShutdownRequested>().Count());
        var interrupted = (await _harness.Published.SelectAsync<PowerRestoreCompleted>().First()).Context.Message;
        Assert.True(interrupted.Interrupted);
    }

    /// <summary>As the Console does: sent to the saga's command queue.</summary>
    async Task ToConsole<T>(T command)
        where T : class =>
        await (await _harness.Bus.GetSendEndpoint(new Uri($"queue:{PowerCommandConsumerDefinition.Queue}"))).Send(command);

    static ClusterDrillRequested Drill() => new(ClusterId, "cluster1", "alice", "quarterly drill", DateTimeOffset.UtcNow);

    static ClusterPowerOnNowRequested PowerOnNow(bool overrideMinimumOffTime) =>
        new(ClusterId, "cluster1", "bob", "room cooled", overrideMinimumOffTime, overrideMinimumOffTime ? "cooling verified on site" : "", DateTimeOffset.UtcNow);

    static List<string> Asked(PowerSagaState saga, Guid runId) => saga.Run!.Journal
        .Where(e => e.RunId == runId && e.Outcome is RunOutcome.Requested or RunOutcome.Skipped && e.Step is "vm-shutdown" or "host-maintenance" or "host-shutdown")
        .Select(e => $"{e.Step} {e.Target} {e.Outcome}").ToList();

    /// <summary>The Console's drill walks the plan a real run walks: on the same inventory, the same steps in the same order.</summary>
    [Fact]
    public async Task A_drill_from_the_console_touches_nothing_and_asks_the_same_steps_in_the_same_order_as_a_real_run()
    {
        await ToConsole(Drill());
        var drill = await WaitFor(s => s.CurrentState == _machine.ShutDown.Name && s.Run!.DryRun, "drill done");
        var drillRun = drill.RunId!.Value;
        Assert.Empty(_commands.OfType<VmShutdownRequested>());
        Assert.Empty(_commands.OfType<HostMaintenanceRequested>());
        Assert.True(await _harness.Published.Any<PowerRunStarted>(x => x.Context.Message.RunId == drillRun && x.Context.Message.DryRun));
        Assert.Contains(drill.Run!.Journal, e => e.Step == "operator" && e.Target == "alice" && e.Outcome == RunOutcome.DrillRequested && e.Detail.Contains("quarterly drill"));
        var drillAsked = Asked(drill, drillRun);

        await RaiseAlarm(); // after a drill, an alarm runs for real on the same (stubbed) inventory
        var real = await WaitFor(s => s.CurrentState == _machine.ShutDown.Name && s.RunId != drillRun && Completed(s), "real run done");

        Assert.Equal(Asked(real, real.RunId!.Value), drillAsked);
        Assert.Equal(7, drillAsked.Count(a => a.StartsWith("vm-shutdown", StringComparison.Ordinal)));
        Assert.Equal(_commands.OfType<VmShutdownRequested>().Select(c => $"vm-shutdown {c.VmName} Requested"),
            drillAsked.Where(a => a.StartsWith("vm-shutdown", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_drill_is_refused_while_the_cluster_is_off_after_a_real_run()
    {
        await RaiseAlarm();
        var down = await WaitFor(s => s.CurrentState == _machine.ShutDown.Name, "shut down");

        await ToConsole(Drill());

        var refused = await WaitFor(s => s.Run!.Journal.Any(e => e.Step == "operator" && e.Outcome == RunOutcome.Refused), "drill refused");
        Assert.Equal(down.RunId, refused.RunId);
        Assert.False(refused.Run!.DryRun);
        Assert.True(await _harness.Published.Any<OperatorCommandRefused>(x => x.Context.Message.Command == "drill" && x.Context.Message.RequestedBy == "alice"));
        Assert.False(await _harness.Published.Any<PowerRunStepFailed>(x => x.Context.Message.Outcome == "Refused"));
    }

    /// <summary>Shutdown now, then power-on now: refused before the minimum off time, done with the override.</summary>
    [Fact]
    public async Task An_operator_shuts_the_cluster_down_and_powers_it_on_again()
    {
        await ToConsole(new ClusterShutdownNowRequested(ClusterId, "cluster1", "carol", "maintenance window", DateTimeOffset.UtcNow));
        var down = await WaitFor(s => s.CurrentState == _machine.ShutDown.Name, "shut down");
        Assert.False(down.Run!.DryRun);
        Assert.Equal(7, _commands.OfType<VmShutdownRequested>().Count());
        Assert.Contains(down.Run.Journal, e => e.Step == "operator" && e.Target == "carol" && e.Outcome == RunOutcome.ShutdownRequested);
        Assert.Null(down.Deadline); // no alarm will clear: it stays off

        await ToConsole(PowerOnNow(overrideMinimumOffTime: false));
        var refused = await WaitFor(s => s.Run!.Journal.Any(e => e.Outcome == RunOutcome.Refused && e.Detail.Contains("minimum off time")), "refused: minimum off time");
        Assert.Equal(_machine.ShutDown.Name, refused.CurrentState);
        Assert.Empty(_commands.OfType<PowerOnRequested>());

        await ToConsole(PowerOnNow(overrideMinimumOffTime: true));
        var restored = await WaitFor(s => s.CurrentState == _machine.Restored.Name, "restored");
        Assert.Equal(2, _commands.OfType<PowerOnRequested>().Count());
        Assert.Contains(restored.Run!.Journal, e => e.Outcome == RunOutcome.PowerOnRequested && e.Detail.Contains("cooling verified on site"));
    }

    [Fact]
    public async Task A_cancel_keeps_the_cluster_off_after_the_clear_until_an_operator_powers_it_on()
    {
        var waiting = await ShutDownThenClear();
        var minimumOffTime = DeadlineOf(waiting);

        await ToConsole(new PowerOnCancelRequested(ClusterId, "cluster1", "dave", "chiller still flaky", DateTimeOffset.UtcNow));
        var held = await WaitFor(s => s.CurrentState == _machine.ShutDown.Name, "power-on cancelled");
        Assert.Contains(held.Run!.Journal, e => e.Step == "power-on" && e.Outcome == RunOutcome.Cancelled);
        await DeadlinePasses(minimumOffTime);
        await _harness.InactivityTask;
        Assert.Empty(_commands.OfType<PowerOnRequested>());

        await ToConsole(PowerOnNow(overrideMinimumOffTime: true));
        await WaitFor(s => s.CurrentState == _machine.Restored.Name, "restored");
        Assert.Equal(2, _commands.OfType<PowerOnRequested>().Count());
    }

    [Fact]
    public async Task An_operator_power_on_is_refused_while_the_zone_is_in_alarm()
    {
        await RaiseAlarm();
        await WaitFor(s => s.CurrentState == _machine.ShutDown.Name, "shut down");

        await ToConsole(PowerOnNow(overrideMinimumOffTime: true));

        var refused = await WaitFor(s => s.Run!.Journal.Any(e => e.Outcome == RunOutcome.Refused && e.Detail.Contains("in alarm")), "refused: zone in alarm");
        Assert.Equal(_machine.ShutDown.Name, refused.CurrentState);
        Assert.Empty(_commands.OfType<PowerOnRequested>());
    }
}
