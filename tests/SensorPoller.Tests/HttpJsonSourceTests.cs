using Microsoft.Extensions.Logging.Abstractions;
using PowerEvents.Contracts;
using PowerEvents.SensorPoller.Http;
using PowerEvents.SensorPoller.Polling;
using PowerEvents.Tools.MerakiSimulator;
using Xunit;

namespace PowerEvents.SensorPoller.Tests;

/// <summary>The generic HTTP/JSON source (seed 000) against the simulator's generic alarm API, paths and criteria from configuration.</summary>
public sealed class HttpJsonSourceTests : IAsyncLifetime
{
    RunningSimulator _sim = null!;

    public async Task InitializeAsync() => _sim = await RunningSimulator.StartAsync();

    public async Task DisposeAsync() => await _sim.DisposeAsync();

    HttpJsonSource Source(Action<HttpSourceOptions> configure)
    {
        var options = new HttpSourceOptions
        {
            Name = "bms", Url = new Uri(_sim.Root, "generic/alarms"), Zone = "server-room",
            MaxRetries = 1, RetryBaseDelay = TimeSpan.FromMilliseconds(10), AllowInsecureHttp = true,
        };
        configure(options);
        return new HttpJsonSource(options, ResilientHttp.CreateClient(options, NullLogger.Instance), TimeProvider.System);
    }

    void Answer(string body, int status = 200) => _sim.World.Generic = new GenericResponse(status, body, "application/json");

    static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("O");

    [Fact]
    public async Task Temperatures_are_read_from_the_configured_paths()
    {
        var at = DateTimeOffset.UtcNow.AddSeconds(-20);
        Answer($$$"""{"data":{"sensors":[{"id":"rack-1","temp":{"c":36.5},"at":"{{{Iso(at)}}}"},{"id":"rack-2","temp":{"c":22},"at":"{{{Iso(at)}}}"}]}}""");
        var source = Source(o => { o.ItemsPath = "data.sensors"; o.IdPath = "id"; o.TemperaturePath = "temp.c"; o.TimestampPath = "at"; });

        var result = await source.PollAsync(CancellationToken.None);

        Assert.Empty(result.Problems);
        var samples = result.Messages.Cast<TemperatureSampled>().ToList();
        Assert.Equal([("rack-1", 36.5), ("rack-2", 22.0)], samples.Select(s => (s.SensorId, s.Celsius)));
        Assert.All(samples, s => Assert.Equal(("bms", "server-room", at.ToUnixTimeSeconds()), (s.Source, s.Zone, s.SampledAt.ToUnixTimeSeconds())));

        // Once published, the same timestamps again are the same readings, not new ones.
        result.Published();
        Assert.Empty((await source.PollAsync(CancellationToken.None)).Messages);
    }

    [Fact]
    public async Task Fahrenheit_values_are_converted()
    {
        Answer("""{"sensors":[{"name":"rack-1","f":98.6}]}""");
        var source = Source(o => { o.ItemsPath = "$.sensors"; o.IdPath = "name"; o.TemperaturePath = "f"; o.Unit = TemperatureUnit.Fahrenheit; });

        var sample = (TemperatureSampled)Assert.Single((await source.PollAsync(CancellationToken.None)).Messages);
        Assert.Equal(37, sample.Celsius, precision: 6);
    }

    [Theory]
    [InlineData("\"ACTIVE\"", true)]
    [InlineData("\"alarm\"", true)]
    [InlineData("\"Normal\"", false)]
    [InlineData("2", true)]
    [InlineData("0", false)]
    public async Task The_alarm_state_follows_the_configured_criteria(string value, bool active)
    {
        Answer($$$"""{"alarm":{"state":{{{value}}},"since":1700000000}}""");
        var source = Source(o =>
        {
            o.FixedId = "bms-high-temp";
            o.AlarmStatePath = "alarm.state";
            o.ActiveValues = ["ACTIVE", "alarm", "2"];
            o.ClearedValues = ["NORMAL", "0"];
        });

        var signal = (AlarmStateSampled)Assert.Single((await source.PollAsync(CancellationToken.None)).Messages);
        Assert.Equal(("bms-high-temp", active), (signal.SignalId, signal.Active));
    }

    [Fact]
    public async Task A_state_that_matches_neither_criterion_is_rejected_not_guessed()
    {
        Answer("""{"alarm":{"state":"MAINTENANCE"}}""");
        var source = Source(o => { o.FixedId = "bms"; o.AlarmStatePath = "alarm.state"; o.ActiveValues = ["ACTIVE"]; o.ClearedValues = ["NORMAL"]; });

        var result = await source.PollAsync(CancellationToken.None);

        Assert.Empty(result.Messages);
        Assert.Contains("MAINTENANCE", Assert.Single(result.Problems).Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_configured_auth_header_is_sent_and_its_absence_is_a_failure()
    {
        _sim.World.GenericAuth = ("X-Api-Key", "s3cret");
        Answer("""{"state":"ok"}""");
        void Configure(HttpSourceOptions o) { o.FixedId = "bms"; o.AlarmStatePath = "state"; o.ActiveValues = ["alarm"]; o.ClearedValues = ["ok"]; }

        var ex = await Assert.ThrowsAsync<SourceException>(() => Source(Configure).PollAsync(CancellationToken.None));
        Assert.Contains("HTTP 401", ex.Message, StringComparison.Ordinal);

        var result = await Source(o => { Configure(o); o.AuthHeaderName = "X-Api-Key"; o.AuthHeaderValue = "s3cret"; }).PollAsync(CancellationToken.None);
        Assert.False(((AlarmStateSampled)Assert.Single(result.Messages)).Active);
    }

    [Theory]
    [InlineData("""{"sensors":[{"id":"a","t":""", "malformed JSON")]
    [InlineData("""{"items":[]}""", "no array at 'sensors'")]
    public async Task A_response_of_the_wrong_shape_fails_the_poll(string body, string message)
    {
        Answer(body);
        var source = Source(o => { o.ItemsPath = "sensors"; o.IdPath = "id"; o.TemperaturePath = "t"; });

        var ex = await Assert.ThrowsAsync<SourceException>(() => source.PollAsync(CancellationToken.None));
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"id":"a","t":"hot","at":"NOW"}""", "no number at 't'")]
    [InlineData("""{"t":30,"at":"NOW"}""", "no id at 'id'")]
    [InlineData("""{"id":"a","t":30,"at":"yesterday"}""", "no valid timestamp")]
    [InlineData("""{"id":"a","t":30,"at":"2020-01-01T00:00:00Z"}""", "older than")]
    [InlineData("""{"id":"a","t":-80,"at":"NOW"}""", "outside")]
    public async Task Bad_items_are_rejected_with_the_reason(string item, string reason)
    {
        Answer("{\"sensors\":[" + item.Replace("NOW", Iso(DateTimeOffset.UtcNow), StringComparison.Ordinal) + "]}");
        var source = Source(o => { o.ItemsPath = "sensors"; o.IdPath = "id"; o.TemperaturePath = "t"; o.TimestampPath = "at"; });

        var result = await source.PollAsync(CancellationToken.None);

        Assert.Empty(result.Messages);
        Assert.Contains(reason, Assert.Single(result.Problems).Description, StringComparison.Ordinal);
    }
}
