using System.Globalization;
using System.Text.Json;
using PowerEvents.Contracts;
using PowerEvents.SensorPoller.Polling;

namespace PowerEvents.SensorPoller.Http;

/// <summary>
/// A generic HTTP/JSON API (seed 000): where the id, temperature, alarm state and timestamp live, and which
/// values mean "active" and "cleared", come from configuration. An item that does not match is rejected and
/// reported, never guessed at.
/// </summary>
public sealed class HttpJsonSource(HttpSourceOptions options, HttpClient http, TimeProvider clock) : ISensorSource
{
    readonly Dictionary<string, DateTimeOffset> _lastPublished = new(StringComparer.Ordinal);

    public SourceOptions Options => options;

    public async Task<PollResult> PollAsync(CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, options.Url);
        request.Headers.Accept.ParseAdd("application/json");
        if (!string.IsNullOrEmpty(options.AuthHeaderName))
            request.Headers.TryAddWithoutValidation(options.AuthHeaderName, options.AuthHeaderValue);
        using var response = await http.SendAsync(request, cancellationToken);
        if ((int)response.StatusCode == 429)
            throw new SourceThrottledException(ResilientHttp.RetryAfter(response) ?? options.Interval, $"HTTP 429 from {options.Url.AbsolutePath}");
        if (!response.IsSuccessStatusCode)
            throw new SourceException($"HTTP {(int)response.StatusCode} from {options.Url.AbsolutePath}");

        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
        }
        catch (JsonException ex)
        {
            throw new SourceException($"malformed JSON from {options.Url.AbsolutePath}: {ex.Message}", ex);
        }

        using (document)
            return Parse(document.RootElement, clock.GetUtcNow());
    }

    public PollResult Parse(JsonElement root, DateTimeOffset receivedAt)
    {
        var messages = new List<object>();
        var problems = new List<SourceProblem>();
        var newest = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        IEnumerable<JsonElement> items;
        if (string.IsNullOrWhiteSpace(options.ItemsPath))
            items = [root];
        else if (JsonPath.TryGet(root, options.ItemsPath, out var array) && array.ValueKind == JsonValueKind.Array)
            items = array.EnumerateArray();
        else
            throw new SourceException($"no array at '{options.ItemsPath}' in the response");

        var index = 0;
        foreach (var item in items)
        {
            var id = ReadId(item) ?? $"item[{index}]";
            index++;
            if (ReadId(item) is null)
            {
                problems.Add(new SourceProblem($"{id}:missing-fields", $"{id}: no id at '{options.IdPath}'"));
                continue;
            }

            var sampledAt = receivedAt;
            var hasTimestamp = !string.IsNullOrWhiteSpace(options.TimestampPath);
            if (hasTimestamp && !TryReadTimestamp(item, out sampledAt))
            {
                problems.Add(new SourceProblem($"{id}:missing-fields", $"{id}: no valid timestamp at '{options.TimestampPath}'"));
                continue;
            }
            if (hasTimestamp && _lastPublished.TryGetValue(id, out var last) && sampledAt <= last)
                continue;

            var produced = false;
            if (!string.IsNullOrWhiteSpace(options.TemperaturePath))
            {
                if (!JsonPath.TryGet(item, options.TemperaturePath, out var value) || value.ValueKind != JsonValueKind.Number)
                {
                    problems.Add(new SourceProblem($"{id}:missing-fields", $"{id}: no number at '{options.TemperaturePath}'"));
                    continue;
                }
                var celsius = options.Unit == TemperatureUnit.Fahrenheit ? (value.GetDouble() - 32) * 5 / 9 : value.GetDouble();
                if (ReadingRules.Check(options, id, celsius, sampledAt, receivedAt, checkAge: hasTimestamp) is { } problem)
                {
                    problems.Add(problem);
                    continue;
                }
                messages.Add(new TemperatureSampled(options.Name, id, options.Zone, celsius, sampledAt, receivedAt));
                produced = true;
            }

            if (!string.IsNullOrWhiteSpace(options.AlarmStatePath))
            {
                var text = JsonPath.TryGet(item, options.AlarmStatePath, out var state) ? JsonPath.AsText(state) : null;
                bool? active = text is null ? null
                    : options.ActiveValues.Contains(text, StringComparer.OrdinalIgnoreCase) ? true
                    : options.ClearedValues.Contains(text, StringComparer.OrdinalIgnoreCase) ? false
                    : null;
                if (active is null)
                {
                    problems.Add(new SourceProblem($"{id}:unknown-state",
                        $"{id}: alarm state '{text ?? "(missing)"}' at '{options.AlarmStatePath}' is neither active ({string.Join('/', options.ActiveValues)}) nor cleared ({string.Join('/', options.ClearedValues)})"));
                    continue;
                }
                if (hasTimestamp && ReadingRules.CheckTimestamp(options, id, sampledAt, receivedAt) is { } problem)
                {
                    problems.Add(problem);
                    continue;
                }
                messages.Add(new AlarmStateSampled(options.Name, id, options.Zone, active.Value, $"{options.AlarmStatePath}={text}", sampledAt, receivedAt));
                produced = true;
            }

            if (produced && hasTimestamp)
                newest[id] = sampledAt;
        }
        return new PollResult(messages, problems, () =>
        {
            foreach (var (id, at) in newest)
                _lastPublished[id] = at;
        });
    }

    string? ReadId(JsonElement item)
    {
        if (string.IsNullOrWhiteSpace(options.IdPath))
            return options.FixedId;
        return JsonPath.TryGet(item, options.IdPath, out var id) && JsonPath.AsText(id) is { Length: > 0 } text ? text : null;
    }

    bool TryReadTimestamp(JsonElement item, out DateTimeOffset timestamp)
    {
        timestamp = default;
        if (!JsonPath.TryGet(item, options.TimestampPath!, out var value))
            return false;
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var unix))
        {
            timestamp = DateTimeOffset.FromUnixTimeSeconds(unix);
            return true;
        }
        return value.ValueKind == JsonValueKind.String && DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out timestamp);
    }
}
