using System.Security.Cryptography;

namespace PowerEvents.RedfishSimulator;

/// <summary>
/// The state of one simulated BMC and its server: power, sessions, injected faults, and what clients did
/// (for assertions). Thread-safe; every Redfish request and the control API go through it.
/// </summary>
public sealed class SimulatedBmc
{
    readonly Lock _lock = new();
    readonly Dictionary<string, Session> _sessions = new(StringComparer.Ordinal);
    readonly List<RequestRecord> _requests = [];
    readonly List<string> _resets = [];
    readonly CancellationTokenSource _stopping = new();
    string _powerState;
    DateTimeOffset _stateSince = DateTimeOffset.UtcNow;
    int _bootGeneration;
    int _chunked;

    public SimulatedBmc(SimulatedBmcOptions options)
    {
        Options = options;
        Profile = VendorProfile.Resolve(options);
        _powerState = options.InitialPowerState;
        Password = options.Password;
        BootDelay = options.BootDelay;
    }

    public SimulatedBmcOptions Options { get; }

    /// <summary>The vendor behaviour in effect: the named profile with the options' explicit settings over it.</summary>
    public VendorProfile Profile { get; }

    /// <summary>Every Redfish request is answered <c>307</c> to the same path at this origin (a redirect elsewhere).</summary>
    public Uri? RedirectTo { get; set; }

    /// <summary>Requests that came with a chunked body (no <c>Content-Length</c>), whatever the profile did with them.</summary>
    public int ChunkedRequests => Volatile.Read(ref _chunked);

    internal void CountChunkedRequest() => Interlocked.Increment(ref _chunked);

    /// <summary>The password the BMC accepts now; changing it makes a client's configured one "wrong".</summary>
    public string Password { get; set; }

    public TimeSpan BootDelay { get; set; }

    /// <summary>Every Redfish request hangs until the client gives up.</summary>
    public bool Hang { get; set; }

    /// <summary>Every Redfish request answers 503 (service temporarily unavailable).</summary>
    public bool Unavailable { get; set; }

    /// <summary>Every Redfish request answers 429 (too many requests), with <c>Retry-After</c>.</summary>
    public bool TooManyRequests { get; set; }

    /// <summary>An accepted power-on never completes: the system stays <c>PoweringOn</c>.</summary>
    public bool NeverBoots { get; set; }

    int _failNext;
    /// <summary>The next N Redfish requests answer 500 (internal error).</summary>
    public int FailNextRequests { get => Volatile.Read(ref _failNext); set => Volatile.Write(ref _failNext, value); }

    int _staleReads;
    /// <summary>The next N reads of the system report <c>Off</c> whatever the real state (a stale cache, as BMCs have).</summary>
    public int StaleOffReads { get => Volatile.Read(ref _staleReads); set => Volatile.Write(ref _staleReads, value); }

    /// <summary>Told when the system reaches On (the vcsim notifier); exceptions are the callback's own business.</summary>
    public Func<CancellationToken, Task>? PoweredOn { get; set; }

    public int SessionsCreated { get; private set; }
    public int SessionsDeleted { get; private set; }
    public int PeakSessions { get; private set; }
    public int LoginFailures { get; private set; }
    public int VcsimNotifications { get; private set; }
    public string? LastVcsimError { get; private set; }

    public int ActiveSessions
    {
        get { lock (_lock) { ExpireSessions(); return _sessions.Count; } }
    }

    public string PowerState
    {
        get { lock (_lock) return _powerState; }
    }

    public IReadOnlyList<string> ResetRequests
    {
        get { lock (_lock) return _resets.ToList(); }
    }

    public IReadOnlyList<RequestRecord> Requests
    {
        get { lock (_lock) return _requests.ToList(); }
    }

    internal bool TakeFailure() => TakeOne(ref _failNext);

    internal bool TakeStaleRead() => TakeOne(ref _staleReads);

    static bool TakeOne(ref int counter)
    {
        while (true)
        {
            var current = Volatile.Read(ref counter);
            if (current <= 0)
                return false;
            if (Interlocked.CompareExchange(ref counter, current - 1, current) == current)
                return true;
        }
    }

    internal void Record(string method, string path, string auth)
    {
        lock (_lock)
            _requests.Add(new RequestRecord(DateTimeOffset.UtcNow, method, path, auth));
    }

    public void SetPowerState(string state)
    {
        lock (_lock)
        {
            _bootGeneration++;
            SetStateLocked(state);
        }
    }

    void SetStateLocked(string state)
    {
        _powerState = state;
        _stateSince = DateTimeOffset.UtcNow;
    }

    /// <summary>
    /// Boot progress as HPE's <c>PostState</c> and DMTF's <c>BootProgress.LastState</c> for the given power state: POST
    /// in the first and second half of the boot delay, then the OS loader for one boot delay, then the OS running.
    /// </summary>
    internal (string PostState, string LastState) BootStage(string powerState)
    {
        TimeSpan since;
        TimeSpan delay;
        lock (_lock)
        {
            since = DateTimeOffset.UtcNow - _stateSince;
            delay = BootDelay;
        }
        return powerState switch
        {
            "PoweringOn" when since < delay / 2 => ("InPost", "PrimaryProcessorInitializationStarted"),
            "PoweringOn" => ("InPostDiscoveryComplete", "SystemHardwareInitializationComplete"),
            "On" when since < delay => ("FinishedPost", "OSBootStarted"),
            "On" => ("FinishedPost", "OSRunning"),
            _ => ("PowerOff", "None"),
        };
    }

    /// <summary>Applies a <c>ComputerSystem.Reset</c>; false when the system's power state forbids it (iLO: InvalidOperationForSystemState).</summary>
    internal bool TryReset(string resetType)
    {
        lock (_lock)
        {
            _resets.Add(resetType);
            var on = _powerState is "On" or "PoweringOn";
            switch (resetType)
            {
                case "On" or "ForceOn":
                    if (on)
                        return false;
                    StartBoot();
                    return true;
                case "PushPowerButton":
                    if (on)
                        SetOffLocked();
                    else
                        StartBoot();
                    return true;
                case "ForceOff" or "GracefulShutdown":
                    if (!on)
                        return false;
                    SetOffLocked();
                    return true;
                case "PowerCycle":
                    // DMTF: on an Off system PowerCycle powers it on; on a running one it goes off and on again.
                    StartBoot();
                    return true;
                default:
                    // ForceRestart, GracefulRestart, Nmi: only meaningful on a running system.
                    return on;
            }
        }
    }

    void SetOffLocked()
    {
        _bootGeneration++;
        SetStateLocked("Off");
    }

    void StartBoot()
    {
        var generation = ++_bootGeneration;
        SetStateLocked("PoweringOn");
        if (NeverBoots)
            return;
        var delay = BootDelay;
        _ = Task.Run(async () =>
        {
            try
            {
                await Task.Delay(delay, _stopping.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            lock (_lock)
            {
                if (generation != _bootGeneration || NeverBoots)
                    return;
                SetStateLocked("On");
            }
            await NotifyPoweredOnAsync();
        });
    }

    async Task NotifyPoweredOnAsync()
    {
        if (PoweredOn is not { } callback)
            return;
        try
        {
            await callback(_stopping.Token);
            lock (_lock)
                VcsimNotifications++;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or InvalidOperationException)
        {
            lock (_lock)
                LastVcsimError = ex.Message;
        }
    }

    internal LoginResult Login(string? username, string? password)
    {
        lock (_lock)
        {
            ExpireSessions();
            if (username != Options.Username || password != Password)
            {
                LoginFailures++;
                return new LoginResult(LoginStatus.BadCredentials, null);
            }
            if (_sessions.Count >= Profile.MaxSessions)
                return new LoginResult(LoginStatus.LimitReached, null);

            var session = new Session(
                Id: $"{username!.ToLowerInvariant()}{RandomNumberGenerator.GetHexString(16, lowercase: true)}",
                Token: RandomNumberGenerator.GetHexString(32, lowercase: true),
                UserName: username,
                Created: DateTimeOffset.UtcNow)
            { LastUsed = DateTimeOffset.UtcNow };
            _sessions[session.Id] = session;
            SessionsCreated++;
            PeakSessions = Math.Max(PeakSessions, _sessions.Count);
            return new LoginResult(LoginStatus.Created, session);
        }
    }

    internal Session? FindByToken(string token)
    {
        lock (_lock)
        {
            ExpireSessions();
            var session = _sessions.Values.FirstOrDefault(s => CryptographicOperations.FixedTimeEquals(
                System.Text.Encoding.ASCII.GetBytes(s.Token), System.Text.Encoding.ASCII.GetBytes(token)));
            if (session is not null)
                session.LastUsed = DateTimeOffset.UtcNow;
            return session;
        }
    }

    internal bool CheckBasic(string username, string password)
    {
        lock (_lock)
        {
            if (username == Options.Username && password == Password)
                return true;
            LoginFailures++;
            return false;
        }
    }

    internal bool DeleteSession(string id)
    {
        lock (_lock)
        {
            if (!_sessions.Remove(id))
                return false;
            SessionsDeleted++;
            return true;
        }
    }

    internal IReadOnlyList<Session> Sessions
    {
        get { lock (_lock) { ExpireSessions(); return _sessions.Values.ToList(); } }
    }

    /// <summary>Drops every session as if each had timed out (clients holding a token get 401 next).</summary>
    public void ExpireAllSessions()
    {
        lock (_lock)
            _sessions.Clear();
    }

    /// <summary>Opens a session as another client would (to fill the BMC's session limit in tests).</summary>
    public void OccupySession() => Login(Options.Username, Password);

    void ExpireSessions()
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var stale in _sessions.Values.Where(s => now - s.LastUsed > Options.SessionTimeout).ToList())
            _sessions.Remove(stale.Id);
    }

    internal void Stop() => _stopping.Cancel();

    internal sealed record Session(string Id, string Token, string UserName, DateTimeOffset Created)
    {
        public DateTimeOffset LastUsed { get; set; }
    }

    internal enum LoginStatus { Created, BadCredentials, LimitReached }

    internal sealed record LoginResult(LoginStatus Status, Session? Session);
}

/// <summary>One Redfish request as the simulator saw it; <c>Auth</c> is <c>session</c>, <c>basic</c> or <c>none</c>.</summary>
public sealed record RequestRecord(DateTimeOffset At, string Method, string Path, string Auth);
