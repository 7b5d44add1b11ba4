namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>
/// The one walker over a run's <see cref="PowerPlan"/>, whichever direction: it enters a stage (its steps planned not to be
/// asked are recorded, each kind's entry rule applied, its deadline set), asks the stage's pending steps within its parallel
/// bound and stagger (or polls, for a stage observed by polling), moves to the next stage when no step of this one is open,
/// marks a stage's open steps late at its deadline, and after a restart asks again for what the stage waits on. What differs
/// between kinds of step is data on the plan (bound, stagger, poll interval, deadline, parameters, planned-not-asked) or a
/// small hook of the kind (<see cref="StepRules"/>); what differs between directions is where the run keeps its clock
/// (<see cref="PlanDirection"/>). Pure: no bus, no clock of its own.
/// </summary>
public static class PlanWalker
{
    /// <summary>Enters the plan's first stage and walks as far as it can go now.</summary>
    public static Asks Begin(PowerRun run, PlanDirection direction, ClusterOptions options, DateTimeOffset now)
    {
        var walk = new Walk(run, direction, options, now);
        if (walk.Plan.Stages.Count > 0)
            walk.Enter(0);
        return walk.From(0);
    }

    /// <summary>Moves the running plan as far as it can go now (a step's outcome was recorded) and returns what to ask for.</summary>
    public static Asks Advance(PowerRun run, ClusterOptions options, DateTimeOffset now) =>
        PlanDirection.Of(run) is { } direction ? new Walk(run, direction, options, now).FromPosition() : Asks.None;

    /// <summary>
    /// A wake-up of the running stage. At its deadline (not a stagger's or a poll's wake-up) its open steps are late (each
    /// kind's late rule: a VM shutdown is powered off hard where its step says so); then the plan moves on.
    /// </summary>
    public static Asks DeadlinePassed(PowerRun run, ClusterOptions options, DateTimeOffset now)
    {
        if (PlanDirection.Of(run) is not { } direction)
            return Asks.None;
        var walk = new Walk(run, direction, options, now);
        var k = walk.Position();
        if (k < walk.Plan.Stages.Count && direction.StageDeadline(run) is { } deadline && (now >= deadline || run.Deadline == deadline))
            walk.Late(k);
        return walk.From(k);
    }

    /// <summary>
    /// After a restart: the running stage's asked steps that have no outcome yet (their commands may have been lost between
    /// the save and the send), or a poll for a polled stage. All are safe to repeat.
    /// </summary>
    public static Asks Outstanding(PowerRun run, ClusterOptions options, DateTimeOffset now)
    {
        if (PlanDirection.Of(run) is not { } direction)
            return Asks.None;
        var walk = new Walk(run, direction, options, now);
        var k = walk.Position();
        if (k >= walk.Plan.Stages.Count)
            return Asks.None;
        var count = walk.AskAgain(k);
        if (count > 0)
            run.Record(now, "resume", run.Cluster, RunOutcome.Resumed, $"evaluator restarted: asking again for {count} outstanding {direction.StepWord}step(s)");
        return walk.Asked.Build();
    }

    /// <summary>One walk over the plan of one run at one instant.</summary>
    sealed class Walk(PowerRun run, PlanDirection direction, ClusterOptions options, DateTimeOffset now)
    {
        public PowerPlan Plan { get; } = direction.Plan(run, options);
        public AsksBuilder Asked { get; } = new();
        readonly StepIndex _index = new(run);

        /// <summary>The stage the run is at, from where it keeps its place (its phase, and its tier for a VM stage).</summary>
        public int Position()
        {
            var stages = Plan.Stages;
            int Find(Func<RunStage, bool> match)
            {
                for (var i = 0; i < stages.Count; i++)
                {
                    if (match(stages[i]))
                        return i;
                }
                return -1;
            }

            var phase = run.Phase;
            var tier = phase switch
            {
                RunPhase.VmTiers when run.CurrentTier < run.Tiers.Count => run.Tiers[run.CurrentTier].Name,
                RunPhase.VmPowerOn when run.Restore.CurrentTier < run.Restore.Tiers.Count => run.Restore.Tiers[run.Restore.CurrentTier].Name,
                _ => null,
            };
            var at = tier is not null
                ? Find(s => s.Phase == phase && s.Name == tier)
                // Several stages of one phase (cluster preparation's groups, vSAN's power-on before the exits): the first still open.
                : Find(s => s.Phase == phase && Slots(s).Any(x => StageEngine.Open(x.Status)));
            if (at < 0 && tier is null)
            {
                for (var i = stages.Count - 1; i >= 0 && at < 0; i--)
                {
                    if (stages[i].Phase == phase)
                        at = i;
                }
            }
            return at >= 0 ? at : throw new InvalidOperationException($"run {run.RunId} of {run.Cluster}: its place ({phase}, tier {tier}) is no stage of its plan");
        }

        public Asks FromPosition() => From(Position());

        /// <summary>Walks from stage <paramref name="k"/> (entered already) as far as the run can go now.</summary>
        public Asks From(int k)
        {
            var stages = Plan.Stages;
            while (k < stages.Count)
            {
                var stage = stages[k];
                var slots = Slots(stage);
                Claim(stage, slots);
                if (slots.Any(s => StageEngine.Open(s.Status)) && !stage.NextMayStartBeforeDone)
                {
                    Wake(stage, slots);
                    return Asked.Build();
                }

                if (stage.Stagger > TimeSpan.Zero)
                    direction.SetNextAskAt(run, null);
                foreach (var kind in stage.Steps.Select(s => s.Kind).Distinct())
                {
                    switch (StepRules.For(kind).AfterStage?.Invoke(run, options, now) ?? StageEnd.Continue)
                    {
                        case StageEnd.FinishPlan:
                            direction.Finish(run, options, now);
                            return Asked.Build();
                        case StageEnd.ShutDownAgain:
                            Asked.ShutDownAgain = true;
                            return Asked.Build();
                    }
                }

                if (++k < stages.Count)
                    Enter(k);
            }
            direction.Finish(run, options, now);
            return Asked.Build();
        }

        /// <summary>The run enters stage <paramref name="k"/>: its place, its deadline, and its steps as they start.</summary>
        public void Enter(int k)
        {
            var stage = Plan.Stages[k];
            run.Phase = stage.Phase;
            if (stage.Phase == RunPhase.VmTiers)
                run.CurrentTier = run.Tiers.FindIndex(t => t.Name == stage.Name);
            else if (stage.Phase == RunPhase.VmPowerOn)
                run.Restore.CurrentTier = run.Restore.Tiers.FindIndex(t => t.Name == stage.Name);
            direction.EnterStage(run, now + stage.Deadline);
            if (stage.Stagger > TimeSpan.Zero)
                direction.SetNextAskAt(run, now);
            if (stage.PollInterval > TimeSpan.Zero)
                direction.SetPolls(run, 0);

            var slots = Slots(stage);
            for (var i = 0; i < stage.Steps.Count; i++)
            {
                var step = stage.Steps[i];
                var slot = slots[i];
                if (StepRules.For(step.Kind).Enter?.Invoke(run, step, slot, now) == true)
                    continue;
                if (step.NotAsked is { } notAsked)
                {
                    slot.Status = StepStatus.Skipped;
                    run.Record(now, step.Kind.Name(), slot.Name, notAsked.Outcome, notAsked.Why);
                }
            }
        }

        /// <summary>Asks the stage's pending steps: as many as its bound leaves free (one per stagger), or one poll while any is awaited.</summary>
        void Claim(RunStage stage, IReadOnlyList<StepSlot> slots)
        {
            if (stage.PollInterval > TimeSpan.Zero)
            {
                if (!slots.Any(s => StageEngine.Open(s.Status)))
                    return;
                var polls = direction.Polls(run) + 1;
                direction.SetPolls(run, polls);
                if (polls == 1)
                    run.Record(now, stage.Steps[0].Kind.Name(), run.Cluster, RunOutcome.Polling, $"every {stage.PollInterval} until {direction.StageDeadline(run):O}");
                Asked.Poll = true;
                return;
            }

            var pending = slots.Where(s => s.Status == StepStatus.Pending).ToList();
            if (pending.Count == 0)
                return;
            var take = stage.MaxParallel == 0 ? pending.Count : stage.MaxParallel - slots.Count(s => s.Status == StepStatus.Requested);
            if (stage.Stagger > TimeSpan.Zero)
            {
                if (direction.NextAskAt(run) > now)
                    return;
                take = Math.Min(take, 1);
                direction.SetNextAskAt(run, now + stage.Stagger);
            }
            var inTier = stage.Phase is RunPhase.VmTiers or RunPhase.VmPowerOn;
            foreach (var slot in pending.Take(Math.Max(0, take)))
            {
                slot.Status = StepStatus.Requested;
                slot.Attempts++;
                run.Record(now, slot.Step.Kind.Name(), slot.Name, RunOutcome.Requested, inTier ? $"tier {stage.Name}, attempt {slot.Attempts}" : $"attempt {slot.Attempts}");
                Asked.Add(slot);
            }
        }

        /// <summary>The stage waits: the next wake-up is the next staggered ask, the next poll, or the stage's deadline.</summary>
        void Wake(RunStage stage, IReadOnlyList<StepSlot> slots)
        {
            // A run stored mid-stage without one (none in practice) gets the stage's from now rather than none.
            var deadline = direction.StageDeadline(run) ?? now + stage.Deadline;
            var at = deadline;
            if (stage.PollInterval > TimeSpan.Zero && now + stage.PollInterval < deadline)
                at = now + stage.PollInterval;
            else if (stage.Stagger > TimeSpan.Zero && slots.Any(s => s.Status == StepStatus.Pending) && direction.NextAskAt(run) is { } next && next < deadline)
                at = next;
            if (run.Deadline != at)
                StageEngine.Enter(run, at);
        }

        /// <summary>Stage <paramref name="k"/>'s deadline passed: its open steps, asked ones first, are late by their kind's rule.</summary>
        public void Late(int k)
        {
            var stage = Plan.Stages[k];
            var slots = Slots(stage);
            foreach (var slot in slots.Where(s => s.Status == StepStatus.Requested).Concat(slots.Where(s => s.Status == StepStatus.Pending)).ToList())
                StepRules.For(slot.Step.Kind).Late(run, stage, slot, Asked, now);
        }

        /// <summary>Asks again for the stage's asked steps (or its poll); returns how many.</summary>
        public int AskAgain(int k)
        {
            var stage = Plan.Stages[k];
            if (stage.PollInterval > TimeSpan.Zero)
            {
                Asked.Poll = true;
                return 1;
            }
            var asked = Slots(stage).Where(s => s.Status == StepStatus.Requested).ToList();
            foreach (var slot in asked)
                Asked.Add(slot);
            return asked.Count;
        }

        /// <summary>Each step of the stage where the run keeps its status, in the stage's order.</summary>
        List<StepSlot> Slots(RunStage stage) => [.. stage.Steps.Select(step => StepRules.For(step.Kind).Slot(run, _index, step))];
    }
}

/// <summary>What a kind's hook at the end of a stage decides.</summary>
public enum StageEnd
{
    Continue,
    /// <summary>The rest of the plan is done already (vSAN's cluster power-off took the hosts and vCenter down).</summary>
    FinishPlan,
    /// <summary>The plan stops here: an interrupted power-on drained, the shutdown runs again.</summary>
    ShutDownAgain,
}

/// <summary>
/// Where a direction keeps the walker's clock on the run, and how it ends. The shutdown has no wake-ups: its stage's deadline is
/// the run's deadline. The power-on wakes up before its stage's deadline (a staggered host, a reconnect poll), so it keeps the
/// stage's deadline apart (<see cref="RestoreRun.PhaseDeadline"/>).
/// </summary>
public sealed class PlanDirection
{
    public required Func<PowerRun, ClusterOptions, PowerPlan> Plan { get; init; }
    public required Func<PowerRun, DateTimeOffset?> StageDeadline { get; init; }
    public required Action<PowerRun, DateTimeOffset> EnterStage { get; init; }
    public required Func<PowerRun, DateTimeOffset?> NextAskAt { get; init; }
    public required Action<PowerRun, DateTimeOffset?> SetNextAskAt { get; init; }
    public required Func<PowerRun, int> Polls { get; init; }
    public required Action<PowerRun, int> SetPolls { get; init; }
    public required Action<PowerRun, ClusterOptions, DateTimeOffset> Finish { get; init; }

    /// <summary>How the resume line names the steps ("power-on " or nothing).</summary>
    public string StepWord { get; init; } = "";

    // The plan's retries are the recording's business (StageEngine.Decide), not the walk's: 0 here.
    public static readonly PlanDirection Shutdown = new()
    {
        Plan = (run, options) => ShutdownPlanner.Stages(run, options, retries: 0),
        StageDeadline = run => run.Deadline,
        EnterStage = (run, deadline) => StageEngine.Enter(run, deadline),
        NextAskAt = _ => null,
        SetNextAskAt = (_, at) =>
        {
            if (at is not null)
                throw new NotSupportedException("the shutdown's plan has no staggered stage");
        },
        Polls = _ => 0,
        SetPolls = (_, polls) =>
        {
            if (polls != 0)
                throw new NotSupportedException("the shutdown's plan has no polled stage");
        },
        Finish = ShutdownPolicy.Finish,
    };

    public static readonly PlanDirection PowerOn = new()
    {
        Plan = (run, options) => RestorePlanner.Stages(run, options, retries: 0),
        StageDeadline = run => run.Restore.PhaseDeadline,
        EnterStage = (run, deadline) =>
        {
            run.Restore.PhaseDeadline = deadline;
            StageEngine.Enter(run, deadline);
        },
        NextAskAt = run => run.Restore.NextHostPowerOnAt,
        SetNextAskAt = (run, at) => run.Restore.NextHostPowerOnAt = at,
        Polls = run => run.Restore.InventoryPolls,
        SetPolls = (run, polls) => run.Restore.InventoryPolls = polls,
        Finish = (run, _, now) => PowerOnPolicy.Finish(run, now),
        StepWord = "power-on ",
    };

    /// <summary>The direction of the plan that runs, by its stage; null when none runs.</summary>
    public static PlanDirection? Of(PowerRun run) => run.Phase switch
    {
        null => null,
        { } phase when phase.IsPowerOn() => PowerOn,
        _ => Shutdown,
    };
}

/// <summary>One step of a plan where the run keeps its status (a VM's row, a host's field, a cluster step).</summary>
public sealed class StepSlot(RunStep step, string name, object item, StepAccess<object> access, Action<string>? note = null)
{
    public RunStep Step { get; } = step;

    /// <summary>The target as the history names it.</summary>
    public string Name { get; } = name;

    /// <summary>The record that holds the step (a <see cref="VmRun"/>, <see cref="HostRun"/>, <see cref="ClusterStep"/>, …): what an ask carries.</summary>
    public object Item { get; } = item;

    public StepStatus Status
    {
        get => access.Status(Item);
        set => access.Set(Item, value, access.Attempts(Item));
    }

    public int Attempts
    {
        get => access.Attempts(Item);
        set => access.Set(Item, access.Status(Item), value);
    }

    /// <summary>Notes why the step failed or was late on its record (a host's detail).</summary>
    public void Note(string detail) => note?.Invoke(detail);
}

/// <summary>The run's step records by target, built once per walk (a VM stage has one per VM: no lookup per step over all VMs).</summary>
public sealed class StepIndex(PowerRun run)
{
    Dictionary<string, VmRun>? _vms;
    Dictionary<string, RestoreVm>? _restoreVms;

    public VmRun Vm(string id)
    {
        if (_vms is null)
        {
            _vms = new Dictionary<string, VmRun>(StringComparer.Ordinal);
            foreach (var vm in run.AllVms)
                _vms.TryAdd(vm.Id, vm);
        }
        return _vms[id];
    }

    public RestoreVm RestoreVm(string id)
    {
        if (_restoreVms is null)
        {
            _restoreVms = new Dictionary<string, RestoreVm>(StringComparer.Ordinal);
            foreach (var vm in run.Restore.AllVms)
                _restoreVms.TryAdd(vm.Id, vm);
        }
        return _restoreVms[id];
    }

    public HostRun Host(string name) => run.Hosts.First(h => string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase));

    public RestoreHost RestoreHost(string name) => run.Restore.Hosts.First(h => string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase));
}

/// <summary>The asks a walk collects, by kind, in the order they were claimed.</summary>
public sealed class AsksBuilder
{
    readonly List<VmRun> _vmShutdowns = [];
    readonly List<ClusterStep> _clusterSteps = [];
    readonly List<HostRun> _maintenance = [];
    readonly List<HostRun> _hostShutdowns = [];
    readonly List<HostRun> _esxiShutdowns = [];
    readonly List<RestoreHost> _powerOns = [];
    readonly List<RestoreHost> _exits = [];
    readonly List<RestoreVm> _vmPowerOns = [];

    public bool Poll { get; set; }
    public bool ShutDownAgain { get; set; }

    public void Add(StepSlot slot)
    {
        switch (slot.Step.Kind)
        {
            case StepKind.VmShutdown: _vmShutdowns.Add((VmRun)slot.Item); break;
            case StepKind.HostMaintenance: _maintenance.Add((HostRun)slot.Item); break;
            case StepKind.HostShutdown: _hostShutdowns.Add((HostRun)slot.Item); break;
            case StepKind.EsxiHostShutdown: _esxiShutdowns.Add((HostRun)slot.Item); break;
            case StepKind.HostPowerOn: _powerOns.Add((RestoreHost)slot.Item); break;
            case StepKind.HostExitMaintenance: _exits.Add((RestoreHost)slot.Item); break;
            case StepKind.VmPowerOn: _vmPowerOns.Add((RestoreVm)slot.Item); break;
            case StepKind.HostReconnect: Poll = true; break;
            default: _clusterSteps.Add((ClusterStep)slot.Item); break;
        }
    }

    public Asks Build() => new()
    {
        VmShutdowns = _vmShutdowns, ClusterSteps = _clusterSteps, Maintenance = _maintenance, HostShutdowns = _hostShutdowns, EsxiShutdowns = _esxiShutdowns,
        PowerOns = _powerOns, ReadInventory = Poll, ExitMaintenance = _exits, VmPowerOns = _vmPowerOns, ShutDownAgain = ShutDownAgain,
    };
}
