using MassTransit;
using PowerEvents.Contracts;
using PowerEvents.Hosting;

namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>The saga's behaviour chains, named as steps. Each applies a policy decision and publishes what it asks for.</summary>
static class PowerActivities
{
    /// <summary>
    /// Every message of a transition goes out this way. On the saga's PostgreSQL repository it is written to the project's
    /// outbox in the transaction that saves the row (delivered after the commit, a crash delivers at restart); elsewhere
    /// (the in-memory test harness) it is sent or published at once. Commands go to their queue (<see cref="CommandRoutes"/>).
    /// </summary>
    static Task Emit(this ConsumeContext c, object message)
    {
        if (c.TryGetPayload<PowerSagaOutbox>(out var outbox))
        {
            outbox.Messages.Add(message);
            return Task.CompletedTask;
        }
        var type = message.GetType();
        return CommandRoutes.Queues.ContainsKey(type) ? c.Send(message, type) : c.Publish(message, type);
    }

    public static EventActivityBinder<PowerSagaState, ClusterShutdownRequested> StartRun(
        this EventActivityBinder<PowerSagaState, ClusterShutdownRequested> binder, PowerStateMachine machine) =>
        binder.ThenAsync(async c =>
        {
            var now = machine.Now;
            var cluster = machine.Options.FindCluster(c.Message.Cluster)
                ?? throw new InvalidOperationException($"Power:Clusters: no cluster named '{c.Message.Cluster}'");
            var saga = c.Saga;
            var previous = saga.Run;
            if (previous is not null)
                previous.PreviousRun = null;
            saga.Cluster = cluster.Name;
            saga.RunId = NewId.NextGuid();
            saga.AlarmId = c.Message.AlarmId;
            saga.StartedAt = now;
            saga.CompletedAt = null;
            saga.AlarmClearedAt = null;
            saga.Run = new PowerRun
            {
                RunId = saga.RunId.Value, Cluster = cluster.Name, Zone = c.Message.Zone, DryRun = machine.Options.DryRun || c.Message.DryRun,
                ZoneInAlarm = c.Message.RequestedBy is null || previous?.ZoneInAlarm == true,
                InventoryAttempts = 1, Step = saga.Step + 1, Deadline = now + cluster.InventoryDeadline,
                PreviousRun = previous,
                Restore = RestorePlanner.CarryOver(previous),
            };
            if (previous is not null)
            {
                // The previous run's last entries (e.g. an interrupted power-on) are saved with this row.
                saga.Run.Journal.AddRange(previous.Journal);
                previous.Journal.Clear();
            }
            if (c.Message.RequestedBy is { } operatorName)
                saga.Run.Record(now, OperatorStep, operatorName, c.Message.DryRun ? RunOutcome.DrillRequested : RunOutcome.ShutdownRequested,
                    $"{(c.Message.DryRun ? "drill" : "shutdown")} of {cluster.Name} begins: {c.Message.Reason}");
            else
                saga.Run.Record(now, "alarm", c.Message.Zone, RunOutcome.Raised, $"alarm {c.Message.AlarmId}: shutdown of {cluster.Name} begins");
            saga.Run.Record(now, ShutdownPolicy.InventoryStep, cluster.Name, RunOutcome.Requested, "attempt 1");
            Sync(saga);
            machine.Logger.LogWarning("Cluster {Cluster}: alarm {AlarmId} in zone {Zone}, shutdown run {RunId} begins{DryRun}",
                cluster.Name, c.Message.AlarmId, c.Message.Zone, saga.RunId, saga.Run.DryRun ? " (DRY RUN: nothing will be touched)" : "");
            await c.Emit(new ClusterInventoryRequested(saga.RunId.Value, cluster.Name));
        });

    public static EventActivityBinder<PowerSagaState, ClusterInventoryCaptured> PlanRun(
        this EventActivityBinder<PowerSagaState, ClusterInventoryCaptured> binder, PowerStateMachine machine) =>
        binder.ThenAsync(async c =>
        {
            var now = machine.Now;
            var saga = c.Saga;
            var cluster = machine.ClusterOf(saga);
            var previous = saga.Run!;
            var run = ShutdownPlanner.Plan(cluster, c.Message, previous.RunId, previous.Zone, previous.DryRun);
            run.Step = previous.Step;
            run.PreviousRun = previous.PreviousRun;
            run.InventoryAttempts = previous.InventoryAttempts;
            run.ZoneInAlarm = previous.ZoneInAlarm;
            run.PowerOnHeldBy = previous.PowerOnHeldBy;
            run.Restore = RestorePlanner.Plan(cluster, run, previous.Restore);
            run.Journal.AddRange(previous.Journal);
            run.Record(now, ShutdownPolicy.InventoryStep, cluster.Name, RunOutcome.Captured, $"{c.Message.Hosts.Count} host(s), {c.Message.Vms.Count} VM(s)");
            saga.Run = run;
            var journalStart = run.Journal.Count;

            var progress = ShutdownPolicy.Start(run, cluster, now);

            await c.Emit(new PowerRunStarted(run.RunId, run.Cluster, run.Zone, run.Tiers.Select(t => t.Name).ToList(),
                run.AllVms.Count(), run.Hosts.Count(h => h.WasPoweredOn), run.DryRun, now));
            foreach (var vcenter in run.AllVms.Where(v => v.IsVCenter))
            {
                machine.Logger.LogWarning("Cluster {Cluster}: vCenter's own VM {Vm} runs on the protected cluster (host {Host}): the other hosts go off " +
                    "through vCenter first, then its VM, then its host through the host's own ESXi API", run.Cluster, vcenter.Name, run.VCenterHost ?? vcenter.Host);
                await c.Emit(new VCenterVmOnProtectedCluster(run.RunId, run.Cluster, vcenter.Name, run.VCenterHost ?? vcenter.Host, now,
                    HostFinishedViaEsxi: run.Hosts.Any(h => h.ViaEsxi)));
            }
            await Ask(c, machine, progress, journalStart);
        });

    public static EventActivityBinder<PowerSagaState, TMessage> InventoryMissing<TMessage>(
        this EventActivityBinder<PowerSagaState, TMessage> binder, PowerStateMachine machine, Func<BehaviorContext<PowerSagaState, TMessage>, string> why)
        where TMessage : class =>
        binder.ThenAsync(async c =>
        {
            var now = machine.Now;
            var run = c.Saga.Run!;
            var journalStart = run.Journal.Count;
            if (ShutdownPolicy.InventoryMissing(run, machine.Options.StepRetries, why(c), now))
            {
                run.InventoryAttempts++;
                run.Step++;
                run.Deadline = now + machine.ClusterOf(c.Saga).InventoryDeadline;
                run.Record(now, ShutdownPolicy.InventoryStep, run.Cluster, RunOutcome.Requested, $"attempt {run.InventoryAttempts}");
                await c.Emit(new ClusterInventoryRequested(run.RunId, run.Cluster));
            }
            await Ask(c, machine, Asks.None, journalStart);
        });

    /// <summary>
    /// Records an outcome with <paramref name="record"/> (a step of either plan); if it was news, moves the running plan on
    /// (<see cref="PlanWalker"/>) and asks for what comes next.
    /// </summary>
    public static EventActivityBinder<PowerSagaState, TMessage> Progress<TMessage>(
        this EventActivityBinder<PowerSagaState, TMessage> binder, PowerStateMachine machine,
        Func<PowerRun, BehaviorContext<PowerSagaState, TMessage>, bool> record)
        where TMessage : class =>
        binder.RecordThen(record, (c, run, journalStart) => Ask(c, machine, PlanWalker.Advance(run, machine.ClusterOf(c.Saga), machine.Now), journalStart));

    /// <summary>Records an outcome that came after its part of the run (a VM that went off after all is no failure); nothing moves.</summary>
    public static EventActivityBinder<PowerSagaState, TMessage> RecordLate<TMessage>(
        this EventActivityBinder<PowerSagaState, TMessage> binder, PowerStateMachine machine,
        Func<PowerRun, BehaviorContext<PowerSagaState, TMessage>, bool> record)
        where TMessage : class =>
        binder.RecordThen(record, (c, _, journalStart) => Ask(c, machine, Asks.None, journalStart));

    static EventActivityBinder<PowerSagaState, TMessage> RecordThen<TMessage>(this EventActivityBinder<PowerSagaState, TMessage> binder,
        Func<PowerRun, BehaviorContext<PowerSagaState, TMessage>, bool> record, Func<BehaviorContext<PowerSagaState, TMessage>, PowerRun, int, Task> advance)
        where TMessage : class =>
        binder.ThenAsync(async c =>
        {
            var run = c.Saga.Run!;
            var journalStart = run.Journal.Count;
            if (record(run, c))
                await advance(c, run, journalStart);
        });

    /// <summary>A deadline (or, during the power-on, a wake-up: the next staggered host, the next reconnect poll) of the running plan's stage.</summary>
    public static EventActivityBinder<PowerSagaState, PowerRunDeadlineReached> Deadline(
        this EventActivityBinder<PowerSagaState, PowerRunDeadlineReached> binder, PowerStateMachine machine) =>
        binder.ThenAsync(async c =>
        {
            var run = c.Saga.Run!;
            var journalStart = run.Journal.Count;
            if (run.Phase is { } phase && !phase.IsPowerOn())
                machine.Logger.LogWarning("Cluster {Cluster}: step {Step} ({Phase}) missed its deadline {Deadline:O}; moving on", run.Cluster, run.Step, run.Phase, c.Message.Deadline);
            await Ask(c, machine, PlanWalker.DeadlinePassed(run, machine.ClusterOf(c.Saga), machine.Now), journalStart);
        });

    /// <summary>The alarm cleared after the shutdown finished: the power-on waits for the minimum off time.</summary>
    public static EventActivityBinder<PowerSagaState, ClusterAlarmCleared> SchedulePowerOn(
        this EventActivityBinder<PowerSagaState, ClusterAlarmCleared> binder, PowerStateMachine machine) =>
        binder.ThenAsync(async c =>
        {
            var saga = c.Saga;
            var run = saga.Run!;
            var journalStart = run.Journal.Count;
            saga.AlarmClearedAt ??= c.Message.ClearedAt;
            run.ZoneInAlarm = false;
            run.Record(machine.Now, "alarm", c.Message.Zone, RunOutcome.Cleared, "alarm cleared after the shutdown");
            PowerOnPolicy.Schedule(run, machine.ClusterOf(saga), saga.CompletedAt ?? machine.Now, saga.AlarmClearedAt.Value, machine.Now);
            await Ask(c, machine, Asks.None, journalStart);
        });

    /// <summary>The zone's alarm came back while the power-on was waiting: it is cancelled; the cluster is off already.</summary>
    public static EventActivityBinder<PowerSagaState, ClusterShutdownRequested> CancelPowerOn(
        this EventActivityBinder<PowerSagaState, ClusterShutdownRequested> binder, PowerStateMachine machine) =>
        binder.ThenAsync(async c =>
        {
            var saga = c.Saga;
            var run = saga.Run!;
            var journalStart = run.Journal.Count;
            saga.AlarmClearedAt = null;
            run.ZoneInAlarm |= c.Message.RequestedBy is null;
            run.Record(machine.Now, "alarm", c.Message.Zone, RunOutcome.Raised, $"alarm {c.Message.AlarmId} before the power-on began");
            PowerOnPolicy.Cancel(run, $"zone {c.Message.Zone} in alarm again (alarm {c.Message.AlarmId}); the cluster stays off until it clears", machine.Now);
            machine.Logger.LogWarning("Cluster {Cluster}: alarm {AlarmId} in zone {Zone} again; the pending power-on is cancelled", run.Cluster, c.Message.AlarmId, c.Message.Zone);
            await Ask(c, machine, Asks.None, journalStart);
        });

    /// <summary>The minimum off time passed and the zone stayed clear: the hosts are powered on.</summary>
    public static EventActivityBinder<PowerSagaState, PowerRunDeadlineReached> BeginPowerOn(
        this EventActivityBinder<PowerSagaState, PowerRunDeadlineReached> binder, PowerStateMachine machine) =>
        binder.ThenAsync(async c =>
        {
            var run = c.Saga.Run!;
            var journalStart = run.Journal.Count;
            machine.Logger.LogWarning("Cluster {Cluster}: zone {Zone} clear, minimum off time passed; power-on of run {RunId} begins", run.Cluster, run.Zone, run.RunId);
            await StartPowerOn(c, machine, journalStart);
        });

    static async Task StartPowerOn<TMessage>(BehaviorContext<PowerSagaState, TMessage> c, PowerStateMachine machine, int journalStart)
        where TMessage : class
    {
        var now = machine.Now;
        var run = c.Saga.Run!;
        var progress = PowerOnPolicy.Begin(run, machine.ClusterOf(c.Saga), now);
        await c.Emit(new PowerRestoreStarted(run.RunId, run.Cluster, run.Zone, run.Restore.Hosts.Select(h => h.Name).ToList(),
            run.Restore.AllVms.Count(), run.Restore.Tiers.Select(t => t.Name).ToList(), now));
        await Ask(c, machine, progress, journalStart);
    }

    public const string OperatorStep = "operator";

    /// <summary>
    /// An operator's power-on (docs/console.md): refused while the zone is in alarm, when nothing is owed, or before the
    /// minimum off time unless overridden (then logged with its reason); otherwise the power-on starts now, and a hold is lifted.
    /// </summary>
    public static EventActivityBinder<PowerSagaState, ClusterPowerOnNowRequested> PowerOnNow(
        this EventActivityBinder<PowerSagaState, ClusterPowerOnNowRequested> binder, PowerStateMachine machine) =>
        binder.ThenAsync(async c =>
        {
            var now = machine.Now;
            var m = c.Message;
            var run = c.Saga.Run!;
            var cluster = machine.ClusterOf(c.Saga);
            var offUntil = (c.Saga.CompletedAt ?? now) + cluster.MinimumOffTime;
            var why = run.DryRun ? "the last run was a drill: nothing was shut down"
                : run.ZoneInAlarm ? $"zone {run.Zone} is in alarm"
                : run.Restore.IsEmpty ? "nothing was running before the shutdown"
                : !m.OverrideMinimumOffTime && now < offUntil ? $"the minimum off time ({cluster.MinimumOffTime}) has not passed: not before {offUntil:O}"
                : null;
            if (why is not null)
            {
                await RefuseAsync(c, machine, "power-on now", m.RequestedBy, why);
                return;
            }
            var journalStart = run.Journal.Count;
            run.PowerOnHeldBy = null;
            var overridden = m.OverrideMinimumOffTime && now < offUntil;
            run.Record(now, OperatorStep, m.RequestedBy, RunOutcome.PowerOnRequested,
                overridden ? $"{m.Reason}; minimum off time overridden: {m.OverrideReason}" : m.Reason);
            machine.Logger.LogWarning("Cluster {Cluster}: power-on of run {RunId} asked by {RequestedBy}{Override}", run.Cluster, run.RunId, m.RequestedBy,
                overridden ? $", minimum off time overridden: {m.OverrideReason}" : "");
            await StartPowerOn(c, machine, journalStart);
        });

    /// <summary>An operator asks that the cluster not power on by itself: a pending power-on is cancelled; none is scheduled later.</summary>
    public static EventActivityBinder<PowerSagaState, PowerOnCancelRequested> HoldPowerOn(
        this EventActivityBinder<PowerSagaState, PowerOnCancelRequested> binder, PowerStateMachine machine) =>
        binder.ThenAsync(async c =>
        {
            var now = machine.Now;
            var run = c.Saga.Run!;
            var journalStart = run.Journal.Count;
            run.PowerOnHeldBy = $"{c.Message.RequestedBy}: {c.Message.Reason}";
            run.Record(now, OperatorStep, c.Message.RequestedBy, RunOutcome.PowerOnCancelled, $"{c.Message.Reason}; the cluster stays off until an operator powers it on");
            machine.Logger.LogWarning("Cluster {Cluster}: automatic power-on held by {RequestedBy}", run.Cluster, c.Message.RequestedBy);
            if (run.Restore.DueAt is not null)
                PowerOnPolicy.Cancel(run, $"held by an operator ({run.PowerOnHeldBy})", now);
            await Ask(c, machine, Asks.None, journalStart);
        });

    /// <summary>A drill asked while it may not run: recorded and reported, nothing else.</summary>
    public static EventActivityBinder<PowerSagaState, ClusterShutdownRequested> RefuseDrill(
        this EventActivityBinder<PowerSagaState, ClusterShutdownRequested> binder, PowerStateMachine machine, string why) =>
        binder.Refuse(machine, c => ("drill", c.Message.RequestedBy ?? "", why));

    /// <summary>An operator's command that does not apply now: logged, recorded in the run's history and reported (<see cref="PowerRunStepFailed"/>).</summary>
    public static EventActivityBinder<PowerSagaState, TMessage> Refuse<TMessage>(
        this EventActivityBinder<PowerSagaState, TMessage> binder, PowerStateMachine machine,
        Func<BehaviorContext<PowerSagaState, TMessage>, (string Command, string RequestedBy, string Why)> refusal)
        where TMessage : class =>
        binder.ThenAsync(c =>
        {
            var (command, requestedBy, why) = refusal(c);
            return RefuseAsync(c, machine, command, requestedBy, why);
        });

    static async Task RefuseAsync<TMessage>(BehaviorContext<PowerSagaState, TMessage> c, PowerStateMachine machine, string command, string requestedBy, string why)
        where TMessage : class
    {
        machine.Logger.LogWarning("Cluster {Cluster}: {Command} asked by {RequestedBy} refused: {Why}", c.Saga.Cluster, command, requestedBy, why);
        var now = machine.Now;
        c.Saga.Run?.Record(now, OperatorStep, requestedBy, RunOutcome.Refused, $"{command}: {why}");
        // Its own event, not a failed step: the console shows it beside the command, the Notifier warns once.
        await c.Emit(new OperatorCommandRefused(c.Saga.Cluster, command, requestedBy, why, now));
    }

    /// <summary>
    /// A BMC's answer. <c>AlreadyOn</c> for a host this run powered off is still the fact "this host of this run powered
    /// on" (the actuator was restarted, or the broker redelivered, after it had switched the host on and before its
    /// <c>PoweredOn</c> was published): that fact is published as <c>PoweredOn</c> so the alert is never lost. Its
    /// identity is the run and the host, for the Notifier to alert it once. The saga ignores its own copy (not news).
    /// </summary>
    public static EventActivityBinder<PowerSagaState, HostPowerOnCompleted> HostPowerOnProgress(
        this EventActivityBinder<PowerSagaState, HostPowerOnCompleted> binder, PowerStateMachine machine) =>
        binder.ThenAsync(async c =>
        {
            var run = c.Saga.Run!;
            var journalStart = run.Journal.Count;
            if (!PowerOnPolicy.RecordHostPowerOn(run, c.Message, machine.Options.StepRetries, machine.Now))
                return;
            if (PowerOnPolicy.PoweredOnByThisRun(run, c.Message))
                await c.Emit(c.Message with
                {
                    Outcome = PowerOnOutcome.PoweredOn,
                    Reason = $"powered on by run {run.RunId}: its BMC reported On when asked again ({c.Message.Reason})".Replace(" ()", "", StringComparison.Ordinal),
                });
            await Ask(c, machine, PlanWalker.Advance(run, machine.ClusterOf(c.Saga), machine.Now), journalStart);
        });

    /// <summary>
    /// The alarm rose again during the power-on: no further power-on step. Then <see cref="StartRun"/> follows at once, or,
    /// while hosts already told to power on are still booting, once they are up (the run drains; see <see cref="PowerOnPolicy.Interrupt"/>).
    /// </summary>
    public static EventActivityBinder<PowerSagaState, ClusterShutdownRequested> InterruptPowerOn(
        this EventActivityBinder<PowerSagaState, ClusterShutdownRequested> binder, PowerStateMachine machine) =>
        binder.ThenAsync(async c =>
        {
            var run = c.Saga.Run!;
            var journalStart = run.Journal.Count;
            run.Record(machine.Now, "alarm", c.Message.Zone, RunOutcome.Raised, $"alarm {c.Message.AlarmId} during the power-on");
            machine.Logger.LogCritical("Cluster {Cluster}: alarm {AlarmId} in zone {Zone} during the power-on; power-on stops, the shutdown runs again",
                run.Cluster, c.Message.AlarmId, c.Message.Zone);
            var progress = PowerOnPolicy.Interrupt(run, c.Message.AlarmId, c.Message.RequestedAt, machine.Now)
                ? Asks.None
                : PlanWalker.Advance(run, machine.ClusterOf(c.Saga), machine.Now);
            await Ask(c, machine, progress, journalStart);
        });

    /// <summary>
    /// Sends the commands of what a policy asked (<see cref="Asks"/>, either direction; one command per kind of step:
    /// <see cref="StepCommands"/>), publishes the alerts for new noteworthy history and copies the run's step and deadline to the row.
    /// </summary>
    static async Task Ask<TMessage>(BehaviorContext<PowerSagaState, TMessage> c, PowerStateMachine machine, Asks asks, int journalStart)
        where TMessage : class
    {
        var saga = c.Saga;
        var run = saga.Run!;
        foreach (var step in asks.Steps(run, machine.ClusterOf(saga)))
        {
            if (StepCommands.For(run, step) is { } command)
                await c.Emit(command);
        }
        await PublishNoteworthy(c, machine, run, journalStart);
        Sync(saga);
    }

    /// <summary>The power-on ended (or was interrupted): what was not restored is logged and published.</summary>
    public static EventActivityBinder<PowerSagaState, TMessage> CompleteRestore<TMessage>(
        this EventActivityBinder<PowerSagaState, TMessage> binder, PowerStateMachine machine)
        where TMessage : class =>
        binder.ThenAsync(c =>
        {
            var run = c.Saga.Run!;
            if (!run.Restore.Interrupted)
            {
                var failures = PowerOnPolicy.Failures(run);
                machine.Logger.Log(failures.Count == 0 ? LogLevel.Information : LogLevel.Error,
                    "Cluster {Cluster}: power-on of run {RunId} completed; not restored: {Failures}", run.Cluster, run.RunId, failures.Count == 0 ? "none" : string.Join("; ", failures));
            }
            return PublishRestoreCompleted(c, run);
        });

    /// <summary>Drained: the hosts that were booting are up; the shutdown starts through the saga's own queue (from <c>Restored</c>).</summary>
    public static EventActivityBinder<PowerSagaState, TMessage> AskForTheShutdownAgain<TMessage>(
        this EventActivityBinder<PowerSagaState, TMessage> binder, PowerStateMachine machine)
        where TMessage : class =>
        binder.ThenAsync(c =>
        {
            var run = c.Saga.Run!;
            return c.Emit(new ClusterShutdownRequested(c.Saga.CorrelationId, run.Cluster, run.Zone,
                run.Restore.DrainAlarmId ?? Guid.Empty, run.Restore.DrainAlarmRaisedAt ?? machine.Now));
        });

    static Task PublishRestoreCompleted<TMessage>(BehaviorContext<PowerSagaState, TMessage> c, PowerRun run)
        where TMessage : class
    {
        var failures = PowerOnPolicy.Failures(run);
        var completedAt = run.Restore.CompletedAt!.Value;
        return c.Emit(new PowerRestoreCompleted(run.RunId, run.Cluster,
            failures.Where(f => f.StartsWith("host ", StringComparison.Ordinal)).ToList(),
            failures.Where(f => f.StartsWith(PowerOnPolicy.VmPowerOnStep, StringComparison.Ordinal)).ToList(),
            run.Restore.Interrupted, run.Restore.StartedAt ?? completedAt, completedAt));
    }

    static async Task PublishNoteworthy<TMessage>(BehaviorContext<PowerSagaState, TMessage> c, PowerStateMachine machine, PowerRun run, int journalStart)
        where TMessage : class
    {
        foreach (var entry in run.Journal.Skip(journalStart).Where(ShutdownPolicy.IsNoteworthy))
        {
            machine.Logger.LogWarning("Cluster {Cluster}: {Step} {Target} {Outcome} {Detail}", entry.Cluster, entry.Step, entry.Target, entry.Outcome, entry.Detail);
            await c.Emit(new PowerRunStepFailed(run.RunId, run.Cluster, entry.Step, entry.Target, entry.Outcome.ToString(), entry.Detail, entry.At));
        }
    }

    /// <summary>After a restart while the inventory is awaited: ask for it again.</summary>
    public static EventActivityBinder<PowerSagaState, PowerRunResumed> AskAgainForInventory(
        this EventActivityBinder<PowerSagaState, PowerRunResumed> binder, PowerStateMachine machine) =>
        binder.ThenAsync(c =>
        {
            var run = c.Saga.Run!;
            run.Record(machine.Now, "resume", run.Cluster, RunOutcome.Resumed, "evaluator restarted: asking again for the inventory");
            return c.Emit(new ClusterInventoryRequested(run.RunId, run.Cluster));
        });

    /// <summary>After a restart: ask again for what the running plan's stage is waiting on (the actuators' steps are idempotent, as is a poll).</summary>
    public static EventActivityBinder<PowerSagaState, PowerRunResumed> AskAgainForOutstandingSteps(
        this EventActivityBinder<PowerSagaState, PowerRunResumed> binder, PowerStateMachine machine) =>
        binder.ThenAsync(async c =>
        {
            var run = c.Saga.Run!;
            var journalStart = run.Journal.Count;
            machine.Logger.LogInformation("Cluster {Cluster}: run {RunId} resumed after a restart at step {Step} ({Phase})", run.Cluster, run.RunId, run.Step, run.Phase);
            var outstanding = PlanWalker.Outstanding(run, machine.ClusterOf(c.Saga), machine.Now);
            // A tier or host stage whose last outcome was recorded just before the crash, its PowerStageCompleted not yet sent, moves on now.
            var next = run.Phase is RunPhase.VmTiers or RunPhase.VmPowerOn or RunPhase.Maintenance or RunPhase.HostShutdown or RunPhase.ExitMaintenance
                ? PlanWalker.Advance(run, machine.ClusterOf(c.Saga), machine.Now) : Asks.None;
            await Ask(c, machine, outstanding.And(next), journalStart);
        });

    /// <summary>The shutdown ended: its failures are logged and published; a clear recorded during it schedules the power-on.</summary>
    public static EventActivityBinder<PowerSagaState, TMessage> CompleteShutdown<TMessage>(
        this EventActivityBinder<PowerSagaState, TMessage> binder, PowerStateMachine machine)
        where TMessage : class =>
        binder.ThenAsync(async c =>
        {
            var saga = c.Saga;
            var run = saga.Run!;
            var journalStart = run.Journal.Count;
            saga.CompletedAt = run.CompletedAt;
            var failures = ShutdownPolicy.Failures(run);
            machine.Logger.Log(failures.Count == 0 ? LogLevel.Information : LogLevel.Error,
                "Cluster {Cluster}: shutdown run {RunId} completed with {Failures} failure(s): {FailureList}",
                run.Cluster, run.RunId, failures.Count, string.Join("; ", failures));
            await c.Emit(new PowerRunCompleted(run.RunId, run.Cluster, failures, saga.AlarmClearedAt is not null, saga.StartedAt ?? run.CompletedAt!.Value, run.CompletedAt!.Value));
            if (saga.AlarmClearedAt is { } clearedAt)
                PowerOnPolicy.Schedule(run, machine.ClusterOf(saga), run.CompletedAt!.Value, clearedAt, machine.Now);
            await PublishNoteworthy(c, machine, run, journalStart);
            Sync(saga);
        });

    static void Sync(PowerSagaState saga)
    {
        saga.Step = saga.Run!.Step;
        saga.Deadline = saga.Run.Deadline;
    }
}
