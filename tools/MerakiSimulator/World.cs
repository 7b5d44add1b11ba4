using System.Globalization;

namespace PowerEvents.Tools.MerakiSimulator;

/// <summary>The simulated dashboard: organizations, networks, sensors, the rate limiter and injected faults.</summary>
public sealed class World(TimeProvider clock)
{
    readonly Lock _lock = new();
    readonly Dictionary<string, Organization> _organizations = new(StringComparer.Ordinal);
    readonly Dictionary<string, Network> _networks = new(StringComparer.Ordinal);
    readonly SortedDictionary<string, Sensor> _sensors = new(StringComparer.Ordinal);
    readonly List<Fault> _faults = [];
    readonly List<RequestRecord> _requests = [];
    readonly List<GenericRequest> _genericRequests = [];

    public TimeProvider Clock => clock;
    public HashSet<string> ApiKeys { get; } = new(StringComparer.Ordinal);
    public double RatePerSecond { get; set; } = 10;
    /// <summary>The bucket's size. Meraki: 10/s "with a burst of 10 additional requests in the first second,
    /// a maximum of 30 requests in the first 2 seconds", i.e. a bucket of 20 refilled at 10 per second.</summary>
    public double Burst { get; set; } = 20;
    public GenericResponse Generic { get; set; } = new(200, """{"alarms":[]}""", "application/json");
    public (string Header, string Value)? GenericAuth { get; set; }

    /// <summary>How long each readings/latest page takes to answer.</summary>
    public TimeSpan PageLatency { get; set; }

    public void Reset()
    {
        lock (_lock)
        {
            _organizations.Clear();
            _networks.Clear();
            _sensors.Clear();
            _faults.Clear();
            _requests.Clear();
            _genericRequests.Clear();
        }
    }

    public void AddOrganization(string id, string name)
    {
        lock (_lock)
            _organizations[id] = new Organization(id, name, RatePerSecond, Burst, clock.GetUtcNow());
    }

    public void AddNetwork(string id, string organizationId, string name, double alertAboveCelsius)
    {
        lock (_lock)
            _networks[id] = new Network(id, organizationId, name, alertAboveCelsius);
    }

    /// <summary>Sets a sensor's temperature as of now (a new reading). With an interval the sensor keeps reporting it.</summary>
    public void SetSensor(string serial, string networkId, double celsius, DateTimeOffset? ts, TimeSpan? reportEvery, string? mac = null)
        => SetSensor(serial, networkId, [celsius], ts, reportEvery, mac);

    /// <summary>A sensor whose successive reports cycle through <paramref name="pattern"/> (e.g. 36, 29, 36, … for flapping).</summary>
    /// <param name="mac">The sensor's Bluetooth MAC, its name in MQTT topics; derived from the serial when not given.</param>
    public void SetSensor(string serial, string networkId, double[] pattern, DateTimeOffset? ts, TimeSpan? reportEvery, string? mac = null)
    {
        if (pattern.Length == 0)
            throw new ArgumentException("at least one temperature", nameof(pattern));
        lock (_lock)
        {
            var now = clock.GetUtcNow();
            _sensors[serial] = new Sensor(serial, networkId, pattern, ts ?? now, reportEvery, now) { Mac = mac ?? Sensor.MacOf(serial) };
        }
    }

    /// <summary>
    /// A temperature ramp, as a room heats when its cooling fails: <paramref name="startCelsius"/> now, rising
    /// <paramref name="risePerSecond"/> per second of sensor time, with <paramref name="noise"/> added in turn to successive reports.
    /// </summary>
    public void SetRamp(string serial, string networkId, double startCelsius, double risePerSecond, TimeSpan reportEvery, double[]? noise = null)
    {
        lock (_lock)
        {
            var now = clock.GetUtcNow();
            var pattern = noise is { Length: > 0 } ? noise.Select(n => startCelsius + n).ToArray() : [startCelsius];
            _sensors[serial] = new Sensor(serial, networkId, pattern, now, reportEvery, now) { RisePerSecond = risePerSecond };
        }
    }

    public Organization? FindOrganization(string id)
    {
        lock (_lock)
            return _organizations.GetValueOrDefault(id);
    }

    public Network? FindNetwork(string id)
    {
        lock (_lock)
            return _networks.GetValueOrDefault(id);
    }

    public IReadOnlyList<Organization> Organizations()
    {
        lock (_lock)
            return _organizations.Values.OrderBy(o => o.Id, StringComparer.Ordinal).ToList();
    }

    public IReadOnlyList<Network> Networks(string organizationId)
    {
        lock (_lock)
            return _networks.Values.Where(n => n.OrganizationId == organizationId).OrderBy(n => n.Id, StringComparer.Ordinal).ToList();
    }

    /// <summary>Every sensor of the organization with its newest reading, ordered by serial (the pagination order).</summary>
    public IReadOnlyList<(Sensor Sensor, Network Network, DateTimeOffset Ts)> Readings(string organizationId)
    {
        lock (_lock)
        {
            var now = clock.GetUtcNow();
            return _sensors.Values
                .Select(s => (Sensor: s, Network: _networks.GetValueOrDefault(s.NetworkId)))
                .Where(x => x.Network is not null && x.Network.OrganizationId == organizationId)
                .Select(x => (x.Sensor with { Pattern = [x.Sensor.CelsiusAt(now)], RisePerSecond = 0 }, x.Network!, x.Sensor.ReadingTime(now)))
                .ToList();
        }
    }

    public IReadOnlyList<Sensor> SensorsOf(string networkId)
    {
        lock (_lock)
            return _sensors.Values.Where(s => s.NetworkId == networkId).ToList();
    }

    /// <summary>Takes a token from the organization's bucket, or says how long until one is free.</summary>
    public TimeSpan? TryTakeToken(Organization organization)
    {
        lock (_lock)
            return organization.TryTake(clock.GetUtcNow());
    }

    public void AddFault(Fault fault)
    {
        lock (_lock)
            _faults.Add(fault);
    }

    public void ClearFaults()
    {
        lock (_lock)
            _faults.Clear();
    }

    /// <summary>The first fault that applies to this path, consumed once (Count &lt; 0: until cleared).</summary>
    public Fault? TakeFault(string path)
    {
        lock (_lock)
        {
            var fault = _faults.FirstOrDefault(f => f.Applies(path));
            if (fault is null)
                return null;
            if (fault.Remaining > 0 && --fault.Remaining == 0)
                _faults.Remove(fault);
            return fault;
        }
    }

    public void RecordGeneric(GenericRequest request)
    {
        lock (_lock)
            _genericRequests.Add(request);
    }

    public IReadOnlyList<GenericRequest> GenericRequests()
    {
        lock (_lock)
            return _genericRequests.ToList();
    }

    /// <summary>Every sensor's newest reading with its network (for MQTT publishing).</summary>
    public IReadOnlyList<(Sensor Sensor, DateTimeOffset Ts, double Celsius)> AllReadings()
    {
        lock (_lock)
        {
            var now = clock.GetUtcNow();
            return _sensors.Values.Select(s => (s, s.ReadingTime(now), s.CelsiusAt(now))).ToList();
        }
    }

    public void Record(RequestRecord request)
    {
        lock (_lock)
            _requests.Add(request);
    }

    public IReadOnlyList<RequestRecord> Requests()
    {
        lock (_lock)
            return _requests.OrderBy(r => r.At).ToList();
    }
}

public sealed record Network(string Id, string OrganizationId, string Name, double AlertAboveCelsius);

public sealed record Sensor(string Serial, string NetworkId, double[] Pattern, DateTimeOffset SetTs, TimeSpan? ReportEvery, DateTimeOffset SetAt)
{
    public string Mac { get; init; } = MacOf(Serial);

    /// <summary>A stable, locally administered MAC per serial (the real one is on the sensor's label).</summary>
    public static string MacOf(string serial)
    {
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(serial));
        hash[0] = (byte)((hash[0] | 0x02) & 0xFE);
        return string.Join(':', hash[..6].Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
    }

    /// <summary>The temperature of the newest report.</summary>
    public double Celsius => Pattern[0];

    /// <summary>A ramp's rise per second of sensor time (0: the pattern alone).</summary>
    public double RisePerSecond { get; init; }

    public double CelsiusAt(DateTimeOffset now) =>
        (ReportEvery is { } every && every > TimeSpan.Zero && now > SetAt ? Pattern[(long)((now - SetAt) / every) % Pattern.Length] : Pattern[0])
        + RisePerSecond * (ReadingTime(now) - SetTs).TotalSeconds;

    /// <summary>A sensor that reports periodically has a new timestamp every interval; otherwise its one reading keeps its time.</summary>
    public DateTimeOffset ReadingTime(DateTimeOffset now)
    {
        if (ReportEvery is not { } every || every <= TimeSpan.Zero || now <= SetAt)
            return SetTs;
        var reports = (long)((now - SetAt) / every);
        return SetTs + every * reports;
    }
}

public sealed class Organization(string id, string name, double ratePerSecond, double burst, DateTimeOffset now)
{
    readonly double _burst = burst;
    double _tokens = burst;
    DateTimeOffset _refilledAt = now;

    public string Id => id;
    public string Name => name;

    internal TimeSpan? TryTake(DateTimeOffset at)
    {
        _tokens = Math.Min(_burst, _tokens + (at - _refilledAt).TotalSeconds * ratePerSecond);
        _refilledAt = at;
        if (_tokens >= 1)
        {
            _tokens -= 1;
            return null;
        }
        return TimeSpan.FromSeconds((1 - _tokens) / ratePerSecond);
    }
}

/// <summary>An injected misbehaviour. Kinds: status (any HTTP status, 429 with Retry-After), malformedJson,
/// missingFields, staleTimestamp, wrongUnit, outOfRange, nullTemperature, redirect, foreignNextLink, slow.</summary>
public sealed class Fault
{
    /// <summary>redirect / foreignNextLink: the other server's base URL (e.g. <c>http://127.0.0.1:5555/</c>); default: this API under another host name / evil.example.</summary>
    public string? Target { get; set; }

    public string Kind { get; set; } = "status";
    public int Status { get; set; } = 500;
    public int RetryAfterSeconds { get; set; } = 1;
    public int DelayMilliseconds { get; set; }
    /// <summary>Substring of the request path this fault applies to; empty applies to every API path.</summary>
    public string PathContains { get; set; } = "";
    /// <summary>How many requests it affects; negative until cleared.</summary>
    public int Remaining { get; set; } = 1;

    public bool Applies(string path) => PathContains.Length == 0 || path.Contains(PathContains, StringComparison.Ordinal);
}

/// <param name="At">When the request arrived.</param>
public sealed record RequestRecord(DateTimeOffset At, string Method, string PathAndQuery, int Status, string Auth);

public sealed record GenericResponse(int Status, string Body, string ContentType);

public sealed record GenericRequest(string Method, string PathAndQuery, string? ContentType, IReadOnlyDictionary<string, string> Headers, string Body);

static class Iso
{
    public static string Format(DateTimeOffset ts) => ts.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
}
