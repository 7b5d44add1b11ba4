using System.Globalization;
using System.Text;
using System.Text.Json;
using PowerEvents.Contracts;
using PowerEvents.SensorPoller.Polling;

namespace PowerEvents.SensorPoller.Http;

/// <summary>
/// A generic HTTP/JSON API (seed 000): where the id, temperature, alarm state and timestamp live, and which
/// values mean "active" and "cleared", come from configuration. An item that does not match is rejected and
/// reported, never guessed at. With <see cref="HttpSourceOptions.AbsentMeansCleared"/> the answer lists what
/// is alarming now (Alertmanager, Zabbix problem.get): an expected id missing from a successful answer is cleared.
/// </summary>
public sealed class HttpJsonSource : ISensorSource, ISignal
{
    readonly HttpSourceOptions _options;
    readonly HttpClient _http;
    readonly TimeProvider _clock;
    readonly Dictionary<string, DateTimeOffset> _lastPublished = new(StringComparer.Ordinal);
    // Ids published as active: cleared when they disappear, even if no SignalIds entry names them.
    readonly HashSet<string> _active = new(StringComparer.Ordinal);

    public HttpJsonSource(HttpSourceOptions options, HttpClient http, TimeProvider clock)
    {
        _options = options;
        _http = http;
        _clock = clock;
        Signals = [this];
    }

    public SourceOptions Options => _options;

    public IReadOnlyList<ISignal> Signals { get; }

    public string HealthName => _options.Name;

    async Task<IReadOnlyList<SourceProblem>> ISignal.PollAsync(Func<IReadOnlyList<object>, CancellationToken, Task> publish, CancellationToken cancellationToken)
    {
        var result = await PollAsync(cancellationToken);
        await publish(result.Messages, cancellationToken);
        result.Published();
        return result.Problems;
    }

    /// <summary>One request and its parse; <see cref="PollResult.Published"/> must be called once the messages were sent.</summary>
    public async Task<PollResult> PollAsync(CancellationToken cancellationToken)
    {
        var post = _options.Method.Equals("POST", StringComparison.OrdinalIgnoreCase);
        using var request = new HttpRequestMessage(post ? HttpMethod.Post : HttpMethod.Get, _options.Url);
        request.Headers.Accept.ParseAdd("application/json");
        if (post)
            request.Content = new StringContent(_options.Body ?? "{}", Encoding.UTF8, "application/json");
        foreach (var (name, value) in _options.Headers)
            request.Headers.TryAddWithoutValidation(name, value);
        if (!string.IsNullOrEmpty(_options.AuthHeaderName))
            request.Headers.TryAddWithoutValidation(_options.AuthHeaderName, _options.AuthHeaderValue);
        using var response = await _http.SendAsync(request, cancellationToken);
        if ((int)response.StatusCode == 429)
            throw new SourceThrottledException(ResilientHttp.RetryAfter(response, _clock) ?? _options.Interval, $"HTTP 429 from {_options.Url.AbsolutePath}");
        if (!response.IsSuccessStatusCode)
            throw new SourceException($"HTTP {(int)response.StatusCode} from {_options.Url.AbsolutePath}");

        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
        }
        catch (JsonException ex)
        {
            throw new SourceException($"malformed JSON from {_options.Url.AbsolutePath}: {ex.Message}", ex);
        }

        using (document)
            return Parse(document.RootElement, _clock.GetUtcNow());
    }

    public PollResult Parse(JsonElement root, DateTimeOffset receivedAt)
    {
        var messages = new List<object>();
        var problems = new List<SourceProblem>();
        var newest = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var present = new HashSet<string>(StringComparer.Ordinal);
        var activeNow = new HashSet<string>(StringComparer.Ordinal);
        IEnumerable<JsonElement> items;
        if (string.IsNullOrWhiteSpace(_options.ItemsPath))
            items = [root];
        else if (JsonPath.TryGet(root, _options.ItemsPath, out var array) && array.ValueKind == JsonValueKind.Array)
            items = array.EnumerateArray();
        else
            // Also a JSON-RPC error answer ({"error":{…}} with HTTP 200): never read as "nothing is alarming".
            throw new SourceException($"no array at '{_options.ItemsPath}' in the response{ErrorText(root)}");

        var index = 0;
        foreach (var item in items)
        {
            var id = ReadId(item);
            index++;
            if (id is null)
            {
                problems.Add(new SourceProblem($"item[{index - 1}]:missing-fields", $"item[{index - 1}]: no id at '{_options.IdPath}'"));
                continue;
            }
            // Several items with one id (alerts under a FixedId): one signal per poll.
            if (_options.AbsentMeansCleared && !present.Add(id))
                continue;

            var sampledAt = receivedAt;
            var hasTimestamp = !string.IsNullOrWhiteSpace(_options.TimestampPath);
            if (hasTimestamp && !TryReadTimestamp(item, out sampledAt))
            {
                problems.Add(new SourceProblem($"{id}:missing-fields", $"{id}: no valid timestamp at '{_options.TimestampPath}'"));
                continue;
            }
            if (hasTimestamp && _lastPublished.TryGetValue(id, out var last) && sampledAt <= last)
            {
                if (_active.Contains(id))
                    activeNow.Add(id);
                continue;
            }

            var produced = false;
            if (!string.IsNullOrWhiteSpace(_options.TemperaturePath))
            {
                if (!JsonPath.TryGet(item, _options.TemperaturePath, out var value) || value.ValueKind != JsonValueKind.Number)
                {
                    problems.Add(new SourceProblem($"{id}:missing-fields", $"{id}: no number at '{_options.TemperaturePath}'"));
                    continue;
                }
                var celsius = _options.Unit == TemperatureUnit.Fahrenheit ? (value.GetDouble() - 32) * 5 / 9 : value.GetDouble();
                if (ReadingRules.Check(_options, id, celsius, sampledAt, receivedAt, checkAge: hasTimestamp) is { } problem)
                {
                    problems.Add(problem);
                    continue;
                }
                messages.Add(new TemperatureSampled(_options.Name, id, _options.Zone, celsius, sampledAt, receivedAt));
                produced = true;
            }

            if (!string.IsNullOrWhiteSpace(_options.AlarmStatePath) || _options.AbsentMeansCleared)
            {
                var (active, detail) = ReadState(item);
                if (active is null)
                {
                    problems.Add(new SourceProblem($"{id}:unknown-state", detail));
                    continue;
                }
                if (hasTimestamp && ReadingRules.CheckTimestamp(_options, id, sampledAt, receivedAt) is { } problem)
                {
                    problems.Add(problem);
                    continue;
                }
                messages.Add(new AlarmStateSampled(_options.Name, id, _options.Zone, active.Value, detail, sampledAt, receivedAt));
                if (active.Value)
                    activeNow.Add(id);
                produced = true;
            }

            if (produced && hasTimestamp)
                newest[id] = sampledAt;
        }

        if (_options.AbsentMeansCleared)
        {
            var expected = _options.SignalIds.Concat(string.IsNullOrWhiteSpace(_options.FixedId) ? [] : [_options.FixedId]).Concat(_active);
            foreach (var id in expected.Distinct(StringComparer.Ordinal).Where(id => !present.Contains(id)).Order(StringComparer.Ordinal))
                messages.Add(new AlarmStateSampled(_options.Name, id, _options.Zone, false, "absent from the answer", receivedAt, receivedAt));
        }

        return new PollResult(messages, problems, () =>
        {
            foreach (var (id, at) in newest)
                _lastPublished[id] = at;
            if (_options.AbsentMeansCleared)
            {
                _active.Clear();
                _active.UnionWith(activeNow);
            }
        });
    }

    (bool? Active, string Detail) ReadState(JsonElement item)
    {
        // Absent-means-cleared without a state path: being listed is being active.
        if (string.IsNullOrWhiteSpace(_options.AlarmStatePath))
            return (true, "listed");
        var text = JsonPath.TryGet(item, _options.AlarmStatePath, out var state) ? JsonPath.AsText(state) : null;
        if (text is not null && _options.ActiveValues.Contains(text, StringComparer.OrdinalIgnoreCase))
            return (true, $"{_options.AlarmStatePath}={text}");
        if (text is not null && _options.ClearedValues.Contains(text, StringComparer.OrdinalIgnoreCase))
            return (false, $"{_options.AlarmStatePath}={text}");
        return (null, $"{ReadId(item)}: alarm state '{text ?? "(missing)"}' at '{_options.AlarmStatePath}' is neither active ({string.Join('/', _options.ActiveValues)}) nor cleared ({string.Join('/', _options.ClearedValues)})");
    }

    string? ReadId(JsonElement item)
    {
        if (string.IsNullOrWhiteSpace(_options.IdPath))
            return _options.FixedId;
        return JsonPath.TryGet(item, _options.IdPath, out var id) && JsonPath.AsText(id) is { Length: > 0 } text ? text : null;
    }

    bool TryReadTimestamp(JsonElement item, out DateTimeOffset timestamp) =>
        JsonPath.TryGet(item, _options.TimestampPath!, out var value) & TryParseTimestamp(value, out timestamp);

    /// <summary>ISO 8601, or Unix seconds as a JSON number or a string of digits (Zabbix's <c>clock</c>).</summary>
    public static bool TryParseTimestamp(JsonElement value, out DateTimeOffset timestamp)
    {
        timestamp = default;
        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var seconds))
            return TryFromUnix(seconds, out timestamp);
        if (value.ValueKind != JsonValueKind.String || value.GetString() is not { Length: > 0 } text)
            return false;
        if (double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out seconds))
            return TryFromUnix(seconds, out timestamp);
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out timestamp);
    }

    static bool TryFromUnix(double seconds, out DateTimeOffset timestamp)
    {
        timestamp = default;
        if (!double.IsFinite(seconds) || seconds < 0 || seconds > 253402300799)
            return false;
        timestamp = DateTimeOffset.UnixEpoch.AddTicks((long)(seconds * TimeSpan.TicksPerSecond));
        return true;
    }

    static string ErrorText(JsonElement root) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out var error)
            ? $": error {Truncate(error.GetRawText(), 300)}" : "";

    static string Truncate(string text, int length) => text.Length <= length ? text : text[..length] + "…";
}

/// <param name="Messages">TemperatureSampled / AlarmStateSampled, validated.</param>
/// <param name="Problems">Items rejected, keyed so that the same problem is logged once while it lasts.</param>
/// <param name="Published">Called once every message was published: only then are the readings remembered as sent.</param>
public sealed record PollResult(IReadOnlyList<object> Messages, IReadOnlyList<SourceProblem> Problems, Action Published);
