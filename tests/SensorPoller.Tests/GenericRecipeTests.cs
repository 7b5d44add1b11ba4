using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using PowerEvents.Contracts;
using PowerEvents.Hosting;
using PowerEvents.SensorPoller.Http;
using PowerEvents.SensorPoller.Polling;
using PowerEvents.Tools.MerakiSimulator;
using Xunit;

namespace PowerEvents.SensorPoller.Tests;

/// <summary>
/// The recipes of docs/sensing.md (Prometheus Alertmanager v2, Zabbix problem.get, a plain threshold JSON), bound
/// from the same configuration keys, against answers shaped as those APIs give them (issue 14 point 5).
/// </summary>
public sealed class GenericRecipeTests : IAsyncLifetime
{
    RunningSimulator _sim = null!;

    public async Task InitializeAsync() => _sim = await RunningSimulator.StartAsync();

    public async Task DisposeAsync() => await _sim.DisposeAsync();

    // docs/sensing.md, "Recipe: Prometheus Alertmanager v2" (URL host replaced by the simulator's).
    static readonly Dictionary<string, string?> Alertmanager = new()
    {
        ["Name"] = "alertmanager",
        ["Url"] = "{root}generic/alarms?active=true&silenced=false&inhibited=false&filter=alertname%3D%22ServerRoomHot%22",
        ["ItemsPath"] = "$",
        ["FixedId"] = "alertmanager:ServerRoomHot",
        ["AbsentMeansCleared"] = "true",
        ["Zone"] = "server-room",
    };

    // docs/sensing.md, "Recipe: Zabbix problem.get".
    static readonly Dictionary<string, string?> Zabbix = new()
    {
        ["Name"] = "zabbix",
        ["Url"] = "{root}generic/alarms",
        ["Method"] = "POST",
        ["Body"] = """{"jsonrpc":"2.0","method":"problem.get","params":{"output":["eventid","name","clock","severity"],"tags":[{"tag":"room","value":"server-room","operator":1}],"severities":[4,5],"recent":false},"id":1}""",
        ["Headers:Authorization"] = "Bearer zabbix-api-token",
        ["ItemsPath"] = "result",
        ["FixedId"] = "zabbix:server-room-hot",
        ["AbsentMeansCleared"] = "true",
        ["Zone"] = "server-room",
    };

    // docs/sensing.md, "Recipe: a plain threshold JSON".
    static readonly Dictionary<string, string?> Threshold = new()
    {
        ["Name"] = "room-thermostat",
        ["Url"] = "{root}generic/alarms",
        ["FixedId"] = "thermostat:server-room",
        ["AlarmStatePath"] = "state",
        ["ActiveValues:0"] = "ALARM",
        ["ClearedValues:0"] = "OK",
        ["TimestampPath"] = "time",
        ["Zone"] = "server-room",
    };

    (HttpJsonSource Source, HttpSourceOptions Options) Recipe(Dictionary<string, string?> recipe)
    {
        var settings = recipe.ToDictionary(e => "SensorPoller:Http:0:" + e.Key, e => e.Value?.Replace("{root}", _sim.Root.ToString(), StringComparison.Ordinal));
        settings["SensorPoller:Http:0:AllowInsecureHttp"] = "true"; // the simulator speaks http; the recipes use https
        settings["SensorPoller:Http:0:RetryBaseDelay"] = "00:00:00.010";
        var options = new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("SensorPoller").Get<SensorPollerOptions>()!;
        Assert.Empty(KeyedOptionsValidator<SensorPollerOptions>.Validate(options, SensorPollerOptions.Section));
        var http = options.Http.Single();
        return (new HttpJsonSource(http, ResilientHttp.CreateClient(http, NullLogger.Instance), TimeProvider.System), http);
    }

    void Answer(string body, int status = 200) => _sim.World.Generic = new GenericResponse(status, body, "application/json");

    static async Task<List<AlarmStateSampled>> Poll(HttpJsonSource source)
    {
        var result = await source.PollAsync(CancellationToken.None);
        Assert.Empty(result.Problems);
        result.Published();
        return result.Messages.Cast<AlarmStateSampled>().ToList();
    }

    const string FiringAlerts = """
        [{"annotations":{"summary":"Server room above 35 °C"},"endsAt":"2026-12-02T16:10:00.000Z","fingerprint":"a1b2c3d4e5f60708",
          "receivers":[{"name":"ops"}],"startsAt":"2026-12-02T15:40:00.000Z","status":{"inhibitedBy":[],"silencedBy":[],"state":"active"},
          "updatedAt":"2026-12-02T15:55:00.000Z","generatorURL":"http://prometheus:9090/graph","labels":{"alertname":"ServerRoomHot","room":"server-room","severity":"critical"}},
         {"annotations":{},"endsAt":"2026-12-02T16:10:00.000Z","fingerprint":"0f0e0d0c0b0a0908","receivers":[{"name":"ops"}],
          "startsAt":"2026-12-02T15:41:00.000Z","status":{"inhibitedBy":[],"silencedBy":[],"state":"active"},"updatedAt":"2026-12-02T15:55:00.000Z",
          "labels":{"alertname":"ServerRoomHot","room":"server-room","instance":"sensor-2"}}]
        """;

    [Fact]
    public async Task Alertmanager_an_alert_listed_is_active_and_its_disappearance_clears_it()
    {
        var (source, _) = Recipe(Alertmanager);

        Answer(FiringAlerts);
        var firing = Assert.Single(await Poll(source)); // two alerts, one signal
        Assert.Equal(("alertmanager:ServerRoomHot", true), (firing.SignalId, firing.Active));
        Assert.Equal("/generic/alarms?active=true&silenced=false&inhibited=false&filter=alertname%3D%22ServerRoomHot%22", _sim.World.GenericRequests().Last().PathAndQuery);

        Answer("[]");
        var cleared = Assert.Single(await Poll(source));
        Assert.Equal(("alertmanager:ServerRoomHot", false), (cleared.SignalId, cleared.Active));
        // Still absent: still cleared, every poll (the evaluator confirms a clear over several samples).
        Assert.False(Assert.Single(await Poll(source)).Active);
    }

    [Fact]
    public async Task Alertmanager_unreachable_or_answering_an_error_never_clears()
    {
        var (source, _) = Recipe(Alertmanager);
        Answer(FiringAlerts);
        Assert.True(Assert.Single(await Poll(source)).Active);

        Answer("""{"code":500,"message":"internal error"}""", 500);
        await Assert.ThrowsAsync<SourceException>(() => source.PollAsync(CancellationToken.None));
        Answer("""{"message":"not an array"}""");
        await Assert.ThrowsAsync<SourceException>(() => source.PollAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Zabbix_problem_get_is_posted_as_json_rpc_with_the_token_header()
    {
        var (source, options) = Recipe(Zabbix);
        Answer("""{"jsonrpc":"2.0","result":[{"eventid":"4711","name":"Server room temperature above 35","clock":"1764690000","severity":"4"}],"id":1}""");

        Assert.True(Assert.Single(await Poll(source)).Active);

        var request = _sim.World.GenericRequests().Last();
        Assert.Equal("POST", request.Method);
        Assert.StartsWith("application/json", request.ContentType, StringComparison.Ordinal);
        Assert.Equal("Bearer zabbix-api-token", request.Headers["Authorization"]);
        using var body = JsonDocument.Parse(request.Body);
        Assert.Equal("problem.get", body.RootElement.GetProperty("method").GetString());
        Assert.Equal(options.Body, request.Body);

        Answer("""{"jsonrpc":"2.0","result":[],"id":1}""");
        Assert.False(Assert.Single(await Poll(source)).Active);
    }

    [Fact]
    public async Task A_zabbix_error_answered_with_http_200_fails_the_poll_and_clears_nothing()
    {
        var (source, _) = Recipe(Zabbix);
        Answer("""{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params.","data":"Not authorized."},"id":1}""");

        var ex = await Assert.ThrowsAsync<SourceException>(() => source.PollAsync(CancellationToken.None));
        Assert.Contains("Not authorized.", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_plain_threshold_json_gives_active_and_cleared_with_unix_seconds()
    {
        var (source, _) = Recipe(Threshold);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        Answer($$"""{"name":"server-room","value":36.4,"threshold":35,"state":"ALARM","time":{{now - 20}}}""");
        var raised = Assert.Single(await Poll(source));
        Assert.Equal((true, now - 20), (raised.Active, raised.SampledAt.ToUnixTimeSeconds()));

        Answer($$"""{"name":"server-room","value":29.0,"threshold":35,"state":"OK","time":"{{now - 5}}"}""");
        var cleared = Assert.Single(await Poll(source));
        Assert.Equal((false, now - 5), (cleared.Active, cleared.SampledAt.ToUnixTimeSeconds()));
    }

    [Fact]
    public async Task With_ids_per_item_an_id_seen_active_or_listed_in_signal_ids_is_cleared_when_absent()
    {
        var (source, _) = Recipe(new Dictionary<string, string?>(Alertmanager)
        {
            ["FixedId"] = null,
            ["IdPath"] = "labels.room",
            ["SignalIds:0"] = "server-room",
            ["SignalIds:1"] = "ups-room",
        });

        Answer("""[{"labels":{"alertname":"ServerRoomHot","room":"lab"}}]""");
        var first = await Poll(source);
        Assert.Equal([("lab", true), ("server-room", false), ("ups-room", false)], first.Select(m => (m.SignalId, m.Active)).Order());

        Answer("[]");
        var second = await Poll(source);
        Assert.Equal([("lab", false), ("server-room", false), ("ups-room", false)], second.Select(m => (m.SignalId, m.Active)).Order());
    }

    [Theory]
    [InlineData("1764690000", 1764690000.0)]
    [InlineData("1764690000.5", 1764690000.5)]
    [InlineData("1764690000", 1764690000.0, false)]
    [InlineData("\"2026-12-02T15:40:00Z\"", 1796226000.0, false)]
    [InlineData("\"2026-12-02T16:40:00+01:00\"", 1796226000.0, false)]
    public void Timestamps_are_iso_8601_or_unix_seconds_as_a_number_or_a_string(string json, double seconds, bool quote = true)
    {
        using var document = JsonDocument.Parse(quote ? $"\"{json}\"" : json);
        Assert.True(HttpJsonSource.TryParseTimestamp(document.RootElement, out var parsed));
        Assert.Equal(seconds, parsed.ToUnixTimeMilliseconds() / 1000.0);
    }

    [Theory]
    [InlineData("\"yesterday\"")]
    [InlineData("\"-5\"")]
    [InlineData("null")]
    [InlineData("\"\"")]
    public void Anything_else_is_not_a_timestamp(string json)
    {
        using var document = JsonDocument.Parse(json);
        Assert.False(HttpJsonSource.TryParseTimestamp(document.RootElement, out _));
    }

    [Fact]
    public void Absent_means_cleared_needs_the_ids_it_would_clear_and_makes_cleared_values_optional()
    {
        static IReadOnlyList<string> Validate(HttpSourceOptions http) =>
            KeyedOptionsValidator<SensorPollerOptions>.Validate(new SensorPollerOptions { Http = [http] }, SensorPollerOptions.Section);
        HttpSourceOptions Options() => new() { Name = "am", Url = new Uri("https://am.example/api/v2/alerts"), ItemsPath = "$", IdPath = "labels.room", AbsentMeansCleared = true };

        Assert.Contains(Validate(Options()), f => f.StartsWith("SensorPoller:Http:0:SignalIds:", StringComparison.Ordinal));

        var withIds = Options();
        withIds.SignalIds = ["server-room"];
        withIds.AlarmStatePath = "status.state";
        withIds.ActiveValues = ["active"];
        Assert.Empty(Validate(withIds));

        var notAbsent = Options();
        notAbsent.AbsentMeansCleared = false;
        notAbsent.AlarmStatePath = "status.state";
        notAbsent.ActiveValues = ["active"];
        Assert.Contains(Validate(notAbsent), f => f.StartsWith("SensorPoller:Http:0:ActiveValues:", StringComparison.Ordinal));

        var getWithBody = Options();
        getWithBody.SignalIds = ["x"];
        getWithBody.Body = """{"a":1}""";
        Assert.Contains(Validate(getWithBody), f => f.StartsWith("SensorPoller:Http:0:Body: a Body needs Method=POST", StringComparison.Ordinal));
    }
}
