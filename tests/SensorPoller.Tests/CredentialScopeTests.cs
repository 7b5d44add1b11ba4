using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PowerEvents.Contracts;
using PowerEvents.Hosting;
using PowerEvents.SensorPoller.Http;
using PowerEvents.SensorPoller.Meraki;
using PowerEvents.SensorPoller.Polling;
using PowerEvents.Tools.MerakiSimulator;
using Xunit;

namespace PowerEvents.SensorPoller.Tests;

/// <summary>Credentials go only to the configured origin or hosts an operator allowed; https unless opted out (issue 14 point 2, issue 15 point 3).</summary>
public sealed class CredentialScopeTests : IAsyncLifetime
{
    const string Key = "scope-key-0123456789";
    RunningSimulator _api = null!;
    RunningSimulator _attacker = null!;

    public async Task InitializeAsync()
    {
        _api = await RunningSimulator.StartAsync(Key);
        _api.World.AddOrganization("1", "Org");
        _api.World.AddNetwork("N_1", "1", "Net", 35);
        _api.World.SetSensor("Q-1", "N_1", 24, null, null);
        _attacker = await RunningSimulator.StartAsync(); // another origin: same host, other port
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        await _attacker.DisposeAsync();
    }

    [Theory]
    [InlineData("https://bms.example.co.uk/api", "https://attacker.co.uk/api", false)]
    [InlineData("https://x.corp.com.au/api", "https://evil.com.au/api", false)]
    [InlineData("https://10.0.0.5/api", "https://10.0.0.6/api", false)]
    [InlineData("https://bms.example.com/api", "https://bms.example.com:8443/api", false)]
    [InlineData("https://bms.example.com/api", "http://bms.example.com/api", false)]
    [InlineData("https://bms.example.com/api", "https://BMS.example.com/other?page=2", true)]
    [InlineData("https://api.meraki.com/api/v1/", "https://n123.meraki.com/api/v1/", true)]
    [InlineData("https://api.meraki.com/api/v1/", "https://n123.meraki.com.evil.io/api/v1/", false)]
    [InlineData("https://api.meraki.com/api/v1/", "http://n123.meraki.com/api/v1/", false)]
    public void Only_the_configured_origin_and_the_apis_own_shards_are_in_scope(string configured, string target, bool allowed) =>
        Assert.Equal(allowed, new CredentialScope(new Uri(configured), [], allowHttp: false).Allows(new Uri(target)));

    [Theory]
    [InlineData("bms2.example.com", "https://bms2.example.com/x", true)]
    [InlineData("bms2.example.com", "https://bms2.example.com:8443/x", false)]
    [InlineData("bms2.example.com:8443", "https://bms2.example.com:8443/x", true)]
    [InlineData("*.example.com", "https://a.b.example.com/x", true)]
    [InlineData("*.example.com", "https://example.com.evil.io/x", false)]
    [InlineData("*.example.com", "http://a.example.com/x", false)]
    public void Allowed_hosts_are_matched_whole_and_over_https(string pattern, string target, bool allowed) =>
        Assert.Equal(allowed, new CredentialScope(new Uri("https://bms.example.com/api"), [pattern], allowHttp: false).Allows(new Uri(target)));

    MerakiClient Client(Action<MerakiSourceOptions>? configure = null)
    {
        var options = new MerakiSourceOptions
        {
            Name = "m", BaseUrl = _api.ApiBase, ApiKey = Key, OrganizationId = "1", AllowInsecureHttp = true,
            MaxRetries = 0, RequestTimeout = TimeSpan.FromSeconds(5),
        };
        configure?.Invoke(options);
        return new MerakiClient(ResilientHttp.CreateClient(options, NullLogger.Instance), options);
    }

    [Fact]
    public async Task A_redirect_to_another_origin_is_refused_and_the_key_never_reaches_it()
    {
        _api.World.AddFault(new Fault { Kind = "redirect", Target = _attacker.Root.ToString(), Remaining = 1 });

        var ex = await Assert.ThrowsAsync<SourceException>(() => Client().GetLatestTemperatureReadingsAsync(CancellationToken.None));

        Assert.Contains($"redirect to http://127.0.0.1:{_attacker.Root.Port} refused", ex.Message, StringComparison.Ordinal);
        Assert.Empty(_attacker.World.Requests());
    }

    [Fact]
    public async Task A_refused_redirect_is_logged_with_the_origins_only()
    {
        _api.World.AddFault(new Fault { Kind = "redirect", Target = _attacker.Root.ToString(), Remaining = 1 });
        var log = new ListLogger();
        var options = new MerakiSourceOptions { Name = "m", BaseUrl = _api.ApiBase, ApiKey = Key, OrganizationId = "1", AllowInsecureHttp = true, MaxRetries = 0 };

        await Assert.ThrowsAsync<SourceException>(() => new MerakiClient(ResilientHttp.CreateClient(options, log), options).GetLatestTemperatureReadingsAsync(CancellationToken.None));

        var warning = Assert.Single(log.Lines, l => l.Contains("refused", StringComparison.Ordinal));
        Assert.Contains($"to http://127.0.0.1:{_attacker.Root.Port}", warning, StringComparison.Ordinal);
        Assert.DoesNotContain(Key, warning, StringComparison.Ordinal);
        Assert.DoesNotContain("perPage", warning, StringComparison.Ordinal);
    }

    sealed class ListLogger : ILogger
    {
        public System.Collections.Concurrent.ConcurrentQueue<string> Lines { get; } = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Enqueue($"{logLevel}: {formatter(state, exception)}");
    }

    [Fact]
    public async Task A_next_link_to_another_origin_is_refused_and_the_key_never_reaches_it()
    {
        _api.World.AddFault(new Fault { Kind = "foreignNextLink", Target = _attacker.Root.ToString(), Remaining = 1 });

        var ex = await Assert.ThrowsAsync<SourceException>(() => Client().GetLatestTemperatureReadingsAsync(CancellationToken.None));

        Assert.Contains("next page link to", ex.Message, StringComparison.Ordinal);
        Assert.Empty(_attacker.World.Requests());
    }

    [Fact]
    public async Task A_generic_sources_secret_headers_never_follow_a_redirect_elsewhere()
    {
        _api.World.AddFault(new Fault { Kind = "redirect", Target = _attacker.Root.ToString(), Remaining = 1 });
        var options = new HttpSourceOptions
        {
            Name = "bms", Url = new Uri(_api.Root, "generic/alarms"), AllowInsecureHttp = true, MaxRetries = 0,
            Headers = { ["X-Api-Key"] = "generic-secret" }, FixedId = "bms", AlarmStatePath = "state", ActiveValues = ["alarm"], ClearedValues = ["ok"],
        };
        var source = new HttpJsonSource(options, ResilientHttp.CreateClient(options, NullLogger.Instance), TimeProvider.System);

        await Assert.ThrowsAsync<SourceException>(() => source.PollAsync(CancellationToken.None));

        Assert.Empty(_attacker.World.GenericRequests());
        Assert.Empty(_attacker.World.Requests());
    }

    [Fact]
    public async Task A_redirect_to_an_allowed_host_is_followed_with_the_key()
    {
        _api.World.AddFault(new Fault { Kind = "redirect", Remaining = 1 }); // 127.0.0.1 → localhost, same port

        var items = await Client(o => o.AllowedHosts = [$"localhost:{_api.Root.Port}"]).GetLatestTemperatureReadingsAsync(CancellationToken.None);

        Assert.Single(items);
        Assert.All(_api.World.Requests(), r => Assert.Equal("bearer", r.Auth));
    }

    static IReadOnlyList<string> Validate(SensorPollerOptions options) => KeyedOptionsValidator<SensorPollerOptions>.Validate(options, SensorPollerOptions.Section);

    [Fact]
    public void Plain_http_is_refused_for_every_kind_of_source_unless_opted_in()
    {
        var options = new SensorPollerOptions
        {
            Meraki = [new MerakiSourceOptions { Name = "m", ApiKey = "k", OrganizationId = "1", BaseUrl = new Uri("http://meraki.local/api/v1/") }],
            Http = [new HttpSourceOptions { Name = "h", Url = new Uri("http://bms.local/api"), FixedId = "x", AlarmStatePath = "s", ActiveValues = ["a"], ClearedValues = ["c"] }],
            Mqtt = [new MqttSourceOptions { Name = "q", BrokerUrl = new Uri("mqtt://broker.local:1883") }],
        };

        var failures = Validate(options);
        Assert.Contains(failures, f => f.StartsWith("SensorPoller:Meraki:0:BaseUrl: is http://", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("SensorPoller:Http:0:Url: is http://", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("SensorPoller:Mqtt:0:BrokerUrl: is mqtt://", StringComparison.Ordinal));
        // Each once, under the key the operator wrote: one line per mistake at start.
        Assert.Equal(3, failures.Count);

        foreach (var source in options.AllSources())
            source.AllowInsecureHttp = true;
        Assert.Empty(Validate(options));
    }

    [Theory]
    [InlineData("https://user:pw@bms.local/api", "must not contain credentials")]
    [InlineData("ftp://bms.local/api", "must be an absolute https:// URL")]
    public void Other_schemes_and_credentials_in_the_url_are_refused(string url, string message)
    {
        var options = new SensorPollerOptions
        {
            Http = [new HttpSourceOptions { Name = "h", Url = new Uri(url), FixedId = "x", AlarmStatePath = "s", ActiveValues = ["a"], ClearedValues = ["c"] }],
        };
        Assert.Contains(Validate(options), f => f.StartsWith("SensorPoller:Http:0:Url: " + message, StringComparison.Ordinal));
    }

    [Fact]
    public void A_malformed_allowed_host_is_refused() =>
        Assert.Contains(Validate(new SensorPollerOptions
        {
            Meraki = [new MerakiSourceOptions { Name = "m", ApiKey = "k", OrganizationId = "1", AllowedHosts = ["*.com/evil"] }],
        }), f => f.StartsWith("SensorPoller:Meraki:0:AllowedHosts:", StringComparison.Ordinal));
}
