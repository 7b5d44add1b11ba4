using System.Xml.Linq;

namespace PowerEvents.VCenterActuator.Vim;

/// <summary>
/// vCenter pushes the changes of the objects steps wait on (a VM going off, a task ending, a host going down): one
/// ListView holding exactly those objects, one PropertyFilter over it on a collector of our own, and one
/// <c>WaitForUpdatesEx</c> long poll for the whole session. A waiting step costs no call and no thread: it is a
/// predicate over the latest values. Objects join and leave the view in batches (<c>ModifyListView</c>), each batch
/// read once so that a waiter never depends on an update that will not come. When the session is lost the collector,
/// view and filter are made again in the new session and every watched object is read afresh.
/// </summary>
public sealed class PropertyWatcher
{
    /// <summary>What is watched per type: what the steps' conditions read.</summary>
    public static readonly IReadOnlyList<PropertySpec> Properties =
    [
        new("VirtualMachine", "name", "runtime.powerState", "guest.toolsRunningStatus", "guest.guestState"),
        new("HostSystem", "name", "runtime.connectionState", "runtime.powerState", "runtime.inMaintenanceMode"),
        new("Task", "info.state", "info.error"),
    ];

    static readonly TimeSpan RemovalDelay = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The longest back-off of a failing stream while steps wait on it: a back-off grown while vCenter was down (up to
    /// <c>Retry:MaxDelay</c>) must not delay the step that waits for vCenter to be back (the local run saw a 20 s lag).
    /// </summary>
    public static readonly TimeSpan WaitingMaxDelay = TimeSpan.FromSeconds(5);

    readonly VimConnection _connection;
    readonly PropertyCollector _collector;
    readonly ILogger _logger;
    readonly TimeSpan _retryDelay;
    readonly TimeSpan _maxRetryDelay;
    int _failures;
    TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly int _maxWaitSeconds;
    readonly object _gate = new();
    readonly Dictionary<MoRef, Watched> _watched = [];
    readonly HashSet<MoRef> _toAdd = [];
    readonly HashSet<MoRef> _toRemove = [];
    readonly SemaphoreSlim _pending = new(0);
    readonly SemaphoreSlim _setup = new(1, 1);
    Session? _session;
    Task? _loops;
    long _updateSets;

    public PropertyWatcher(VimConnection connection, VCenterOptions options, ILogger logger)
    {
        _connection = connection;
        _collector = new PropertyCollector(connection);
        _logger = logger;
        _retryDelay = options.Retry.BaseDelay;
        _maxRetryDelay = options.Retry.MaxDelay;
        // The long poll must end well within one call's time limit; an empty answer just starts the next one.
        _maxWaitSeconds = (int)Math.Clamp(options.RequestTimeout.TotalSeconds * 2 / 3, 1, 60);
    }

    /// <summary>Failures of the stream since it last worked (each followed by a back-off).</summary>
    public int Failures => Volatile.Read(ref _failures);

    /// <summary>Update sets received so far (answers of WaitForUpdatesEx that carried changes).</summary>
    public long UpdateSets => Interlocked.Read(ref _updateSets);

    /// <summary>Objects being watched right now.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
                return _watched.Count;
        }
    }

    /// <summary>
    /// Waits until <paramref name="until"/> holds for <paramref name="obj"/>'s current properties (see <see cref="Properties"/>),
    /// or <paramref name="timeout"/> passes. Returns whether it held, and the latest values (null if none arrived in time).
    /// Throws the <c>ManagedObjectNotFound</c> fault if vCenter has no such object.
    /// </summary>
    public async Task<(bool Met, ObjectContent? Latest)> WaitAsync(MoRef obj, Func<ObjectContent, bool> until, TimeSpan timeout, CancellationToken ct)
    {
        var waiter = new Waiter(until);
        var watched = Acquire(obj);
        lock (_gate)
        {
            // The stream may have found the object missing between Acquire and here (it fails only the waiters it finds).
            if (watched.Gone is not null)
                waiter.Done.TrySetException(watched.Gone);
            else if (watched.Known && until(watched.Snapshot(obj)))
                waiter.Done.TrySetResult(watched.Snapshot(obj));
            else
                watched.Waiters.Add(waiter);
        }

        try
        {
            return (true, await waiter.Done.Task.WaitAsync(timeout > TimeSpan.Zero ? timeout : TimeSpan.Zero, ct));
        }
        catch (TimeoutException)
        {
            lock (_gate)
                return (false, watched.Known ? watched.Snapshot(obj) : null);
        }
        finally
        {
            lock (_gate)
                watched.Waiters.Remove(waiter);
            Release(obj, watched);
        }
    }

    /// <summary>Keeps <paramref name="obj"/> in the view until disposed, so that a step's several waits and reads share one entry.</summary>
    public IDisposable Hold(MoRef obj)
    {
        var watched = Acquire(obj);
        return new Lease(() => Release(obj, watched));
    }

    Watched Acquire(MoRef obj)
    {
        EnsureStarted();
        // A step needs the stream now: a back-off in progress (vCenter was down) ends, and the stream is tried again.
        Volatile.Read(ref _wake).TrySetResult();
        Watched watched;
        lock (_gate)
        {
            if (!_watched.TryGetValue(obj, out watched!) || watched.Gone is not null)
                _watched[obj] = watched = new Watched();
            watched.Leases++;
            if (!_toRemove.Remove(obj) && !watched.InView)
                _toAdd.Add(obj);
        }
        _pending.Release();
        return watched;
    }

    void Release(MoRef obj, Watched watched)
    {
        lock (_gate)
        {
            if (--watched.Leases > 0 || !ReferenceEquals(_watched.GetValueOrDefault(obj), watched))
                return; // still wanted, or an entry for an object vCenter did not know, since replaced
            if (watched.InView)
                _toRemove.Add(obj);
            else if (_toAdd.Remove(obj) || watched.Gone is not null)
                _watched.Remove(obj);
        }
        _pending.Release();
    }

    sealed class Lease(Action release) : IDisposable
    {
        int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
                release();
        }
    }

    void EnsureStarted()
    {
        lock (_gate)
            _loops ??= Task.WhenAll(Task.Run(ReceiveLoopAsync), Task.Run(ModifyLoopAsync));
    }

    /// <summary>The long poll: one WaitForUpdatesEx at a time, for every object of the session.</summary>
    async Task ReceiveLoopAsync()
    {
        var stopping = _connection.Stopping;
        Session? current = null;
        var version = "";
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                var session = await SessionAsync(stopping);
                if (session != current)
                    (current, version) = (session, "");
                var response = await _connection.InvokeAsync("WaitForUpdatesEx", session.Collector,
                    [Soap.El("version", version), Soap.El("options", Soap.El("maxWaitSeconds", Soap.Invariant(_maxWaitSeconds)))],
                    longPoll: true, stopping);
                var set = response.Element(Soap.Vim + "returnval");
                if (set is null)
                {
                    _failures = 0;
                    continue; // maxWaitSeconds passed without a change
                }
                _failures = 0;
                version = Soap.Text(set, "version");
                Interlocked.Increment(ref _updateSets);
                Apply(set);
                // truncated=true: more changes are waiting; the next call with the new version fetches them at once.
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (VCenterException ex) when (ex.FaultName == "InvalidCollectorVersion")
            {
                version = ""; // start over from the current state of every object in the filter
            }
            catch (Exception ex) when (!stopping.IsCancellationRequested)
            {
                await FailedAsync("WaitForUpdatesEx", current, AsFault(ex), stopping);
            }
        }
    }

    /// <summary>Moves objects in and out of the view in batches, and reads each batch that came in once.</summary>
    async Task ModifyLoopAsync()
    {
        var stopping = _connection.Stopping;
        var lastRemoval = DateTime.MinValue;
        while (!stopping.IsCancellationRequested)
        {
            Session? session = null;
            List<MoRef> add, remove;
            try
            {
                // Objects leaving the view are not urgent (they only cost updates nobody reads): they go at most once a
                // second, or with the next objects coming in.
                await _pending.WaitAsync(RemovalDelay, stopping);
                while (_pending.CurrentCount > 0)
                    await _pending.WaitAsync(stopping); // one batch for every request that came in meanwhile
                session = await SessionAsync(stopping);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (!stopping.IsCancellationRequested)
            {
                await FailedAsync("CreateFilter", session, AsFault(ex), stopping);
                _pending.Release();
                continue;
            }

            lock (_gate)
            {
                add = [.. _toAdd];
                _toAdd.Clear();
                remove = [];
                if (add.Count > 0 || DateTime.UtcNow - lastRemoval >= RemovalDelay)
                {
                    remove = [.. _toRemove];
                    _toRemove.Clear();
                    lastRemoval = DateTime.UtcNow;
                }
            }
            if (add.Count == 0 && remove.Count == 0)
                continue;
            try
            {
                add = await ModifyViewAsync(session, add, remove, stopping);
                lock (_gate)
                {
                    foreach (var obj in add)
                    {
                        if (!_watched.TryGetValue(obj, out var watched))
                            continue;
                        watched.InView = true;
                        if (watched.Leases == 0)
                            _toRemove.Add(obj); // its step ended while it was being added
                    }
                    foreach (var obj in remove)
                    {
                        if (!_watched.TryGetValue(obj, out var watched))
                            continue;
                        watched.InView = false;
                        if (watched.Leases == 0)
                            _watched.Remove(obj);
                        else
                            _toAdd.Add(watched.Reset(obj)); // wanted again while it was leaving: read it afresh
                    }
                }
                if (add.Count > 0)
                    Seed(await _collector.RetrieveManyAsync(add, Properties, stopping));
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (!stopping.IsCancellationRequested)
            {
                lock (_gate)
                {
                    foreach (var obj in add.Where(o => _watched.TryGetValue(o, out var w) && !w.InView))
                        _toAdd.Add(obj);
                    foreach (var obj in remove.Where(o => _watched.TryGetValue(o, out var w) && w.InView && w.Leases == 0))
                        _toRemove.Add(obj);
                }
                await FailedAsync("ModifyListView", session, AsFault(ex), stopping);
                _pending.Release();
            }
        }
    }

    /// <summary>ModifyListView; objects vCenter does not know fail their waiters. Returns the objects that went in.</summary>
    async Task<List<MoRef>> ModifyViewAsync(Session session, List<MoRef> add, List<MoRef> remove, CancellationToken ct)
    {
        try
        {
            var response = await _connection.InvokeAsync("ModifyListView", session.View,
                [.. add.Select(o => o.ToXml("add")), .. remove.Select(o => o.ToXml("remove"))], ct);
            // vCenter answers with the objects it could not add.
            var missing = response.Elements(Soap.Vim + "returnval").Select(MoRef.FromXml).ToHashSet();
            Forget(missing);
            return [.. add.Where(o => !missing.Contains(o))];
        }
        catch (VCenterException ex) when (ex.Is(VCenterException.ManagedObjectNotFound) && add.Count > 0)
        {
            // Some servers fault the whole call instead: find the missing ones one by one.
            await _connection.InvokeAsync("ModifyListView", session.View, [.. remove.Select(o => o.ToXml("remove"))], ct);
            var added = new List<MoRef>();
            foreach (var obj in add)
            {
                try
                {
                    await _connection.InvokeAsync("ModifyListView", session.View, [obj.ToXml("add")], ct);
                    added.Add(obj);
                }
                catch (VCenterException one) when (one.Is(VCenterException.ManagedObjectNotFound))
                {
                    Forget([obj]);
                }
            }
            return added;
        }
    }

    void Forget(IReadOnlyCollection<MoRef> missing)
    {
        if (missing.Count == 0)
            return;
        lock (_gate)
        {
            foreach (var obj in missing)
            {
                if (!_watched.TryGetValue(obj, out var watched))
                    continue;
                watched.Gone = new VCenterException(VCenterException.ManagedObjectNotFound, $"{obj} does not exist");
                foreach (var waiter in watched.Waiters)
                    waiter.Done.TrySetException(watched.Gone);
                if (watched.Leases == 0)
                    _watched.Remove(obj);
            }
        }
    }

    /// <summary>The collector, view and filter of the current session, made (again) when the session changed.</summary>
    async Task<Session> SessionAsync(CancellationToken ct)
    {
        if (_session is { } known && known.Generation == _connection.SessionGeneration)
            return known;
        await _setup.WaitAsync(ct);
        try
        {
            while (_session is null || _session.Generation != _connection.SessionGeneration)
            {
                var content = await _connection.ContentAsync(ct);
                var collector = MoRef.FromXml((await _connection.InvokeAsync("CreatePropertyCollector", content.PropertyCollector, [], ct))
                    .Element(Soap.Vim + "returnval")!);
                var generation = _connection.SessionGeneration;
                var view = MoRef.FromXml((await _connection.InvokeAsync("CreateListView", content.ViewManager, [], ct)).Element(Soap.Vim + "returnval")!);
                await _connection.InvokeAsync("CreateFilter", collector, [FilterSpec(view), Soap.El("partialUpdates", "false")], ct);
                if (generation != _connection.SessionGeneration)
                    continue; // logged in again meanwhile: these objects died with the old session

                lock (_gate)
                {
                    _toRemove.Clear();
                    foreach (var (obj, watched) in _watched)
                    {
                        // Everything is read afresh in the new session; what happened meanwhile is in that read.
                        _toAdd.Add(watched.Reset(obj));
                    }
                }
                if (_session is not null)
                    _logger.LogInformation("vCenter session changed: watching {Count} objects again", _toAdd.Count);
                _session = new Session(generation, collector, view);
                _pending.Release();
            }
            return _session;
        }
        finally
        {
            _setup.Release();
        }
    }

    static XElement FilterSpec(MoRef view) => Soap.El("spec", PropertyCollector.PropSets(Properties), PropertyCollector.ViewObjectSet(view));

    /// <summary>Anything unexpected (an answer we cannot read) is handled like a transient fault: the stream must not stop.</summary>
    static VCenterException AsFault(Exception ex) =>
        ex as VCenterException ?? new VCenterException("InvalidResponse", $"vCenter update stream: {ex.GetType().Name}: {ex.Message}", isTransient: true, ex);

    async Task FailedAsync(string method, Session? session, VCenterException ex, CancellationToken ct)
    {
        var failures = Interlocked.Increment(ref _failures);
        if (session is not null && (ex.Is(VCenterException.ManagedObjectNotFound) || ex.FaultName == VCenterException.NotAuthenticated))
        {
            // Our collector, view or filter is gone: the session ended and a new one began. Made again at once (both
            // loops may meet the loss); if that keeps failing, after a backoff (never a tight loop against vCenter).
            // Waiters keep waiting: the new stream reads their objects afresh.
            Interlocked.CompareExchange(ref _session, null, session);
            _logger.LogInformation("vCenter update stream lost ({Fault}); making it again", ex.FaultName);
            if (failures <= 2)
                return;
        }
        else
        {
            // Waiters cannot know what happens meanwhile: they fail as a poll would have, and their steps retry or report it.
            lock (_gate)
            {
                foreach (var waiter in _watched.Values.SelectMany(w => w.Waiters))
                    waiter.Done.TrySetException(ex);
            }
        }
        var delay = TimeSpan.FromTicks(Math.Min(_retryDelay.Ticks << Math.Min(failures - 1, 10), _maxRetryDelay.Ticks));
        bool waiting;
        lock (_gate)
            waiting = _watched.Values.Any(w => w.Leases > 0);
        if (waiting && delay > WaitingMaxDelay)
            delay = TimeSpan.FromTicks(Math.Max(WaitingMaxDelay.Ticks, _retryDelay.Ticks));
        _logger.LogWarning("vCenter update stream: {Method} failed ({Fault}: {Message}); again in {Delay}{Waiting}", method, ex.FaultName, ex.Message, delay,
            waiting ? " (steps wait on it)" : "");
        try
        {
            // Never sooner than the base delay (no tight loop against a vCenter that is down); after it, a step that starts
            // waiting ends the back-off (its Acquire completes the wake).
            var wake = CurrentWake();
            var minimum = delay < _retryDelay ? delay : _retryDelay;
            await Task.Delay(minimum, ct);
            var rest = delay - minimum;
            if (rest <= TimeSpan.Zero)
                return;
            if (await Task.WhenAny(Task.Delay(rest, ct), wake.Task) == wake.Task)
            {
                // The back-off starts afresh from the base delay (a lost session is made again at once).
                Interlocked.Exchange(ref _failures, 0);
                _logger.LogInformation("vCenter update stream: a step waits on it; trying again now instead of in up to {Rest}", rest);
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    /// <summary>The wake of the back-offs now in progress (both loops share it); a fresh one once it fired.</summary>
    TaskCompletionSource CurrentWake()
    {
        var wake = Volatile.Read(ref _wake);
        if (!wake.Task.IsCompleted)
            return wake;
        var fresh = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return Interlocked.CompareExchange(ref _wake, fresh, wake) == wake ? fresh : Volatile.Read(ref _wake);
    }

    void Apply(XElement set)
    {
        lock (_gate)
        {
            foreach (var update in set.Elements(Soap.Vim + "filterSet").Elements(Soap.Vim + "objectSet"))
            {
                var obj = MoRef.FromXml(update.Element(Soap.Vim + "obj")!);
                if (!_watched.TryGetValue(obj, out var watched) || Soap.Text(update, "kind") == "leave")
                    continue;
                foreach (var change in update.Elements(Soap.Vim + "changeSet"))
                {
                    var value = Soap.Text(change, "op") is "remove" or "indirectRemove" ? null : change.Element(Soap.Vim + "val");
                    watched.Values[Soap.Text(change, "name")] = value;
                }
                if (Soap.Text(update, "kind") == "enter")
                    watched.Known = true;
                if (watched.Known)
                    watched.Notify(obj);
            }
        }
    }

    /// <summary>Values read right after objects joined the view; updates that arrived since win.</summary>
    void Seed(List<ObjectContent> objects)
    {
        lock (_gate)
        {
            foreach (var content in objects)
            {
                if (!_watched.TryGetValue(content.Obj, out var watched))
                    continue;
                foreach (var path in Properties.Where(p => p.Type == content.Obj.Type).SelectMany(p => p.Paths))
                    watched.Values.TryAdd(path, content.Properties.GetValueOrDefault(path));
                watched.Known = true;
                watched.Notify(content.Obj);
            }
        }
    }

    sealed record Session(int Generation, MoRef Collector, MoRef View);

    sealed class Waiter(Func<ObjectContent, bool> until)
    {
        public Func<ObjectContent, bool> Until { get; } = until;
        public TaskCompletionSource<ObjectContent> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    sealed class Watched
    {
        public int Leases;
        public bool InView;
        public bool Known;
        public VCenterException? Gone;
        public readonly Dictionary<string, XElement?> Values = new(StringComparer.Ordinal);
        public readonly List<Waiter> Waiters = [];

        /// <summary>Out of the view: the values are no longer followed, so they are dropped until read again.</summary>
        public MoRef Reset(MoRef obj)
        {
            InView = false;
            Known = false;
            Values.Clear();
            return obj;
        }

        public ObjectContent Snapshot(MoRef obj) =>
            new(obj, Values.Where(v => v.Value is not null).ToDictionary(v => v.Key, v => v.Value!, StringComparer.Ordinal));

        public void Notify(MoRef obj)
        {
            if (Waiters.Count == 0)
                return;
            var snapshot = Snapshot(obj);
            foreach (var waiter in Waiters)
            {
                if (!waiter.Done.Task.IsCompleted && waiter.Until(snapshot))
                    waiter.Done.TrySetResult(snapshot);
            }
        }
    }
}
