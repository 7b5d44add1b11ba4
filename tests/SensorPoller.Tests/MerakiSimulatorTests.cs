using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using PowerEvents.Tools.MerakiSimulator;
using Xunit;

namespace PowerEvents.SensorPoller.Tests;

/// <summary>The simulator answers as the Meraki Dashboard API v1 documents (so the client is not tested against a fake of its own making).</summary>
public sealed class MerakiSimulatorTests : IAsyncLifetime
{
    const string Key = "sim-key";
    RunningSimulator _sim = null!;
    readonly HttpClient _http = new();

    public async Task InitializeAsync()
    {
        _sim = await RunningSimulator.StartAsync(Key);
        _sim.World.AddOrganization("1", "Org");
        _sim.World.AddNetwork("N_1", "1", "Net", 35);
        for (var i = 1; i <= 5; i++)
            _sim.World.SetSensor($"Q-{i}", "N_1", 20 + i, null, null);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _sim.DisposeAsync();
    }

    Task<HttpResponseMessage> Get(string path, Action<HttpRequestHeaders>? auth = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_sim.ApiBase, path));
        (auth ?? (h => h.Authorization = new AuthenticationHeaderValue("Bearer", Key)))(request.Headers);
        return _http.SendAsync(request);
    }

    [Fact]
    public async Task Without_a_valid_key_it_answers_401_with_an_errors_array()
    {
        using var response = await Get("organizations/1/sensor/readings/latest", _ => { });
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("Invalid API key", body.RootElement.GetProperty("errors")[0].GetString());
    }

    [Fact]
    public async Task The_older_x_cisco_meraki_api_key_header_is_accepted()
    {
        using var response = await Get("organizations/1/sensor/readings/latest", h => h.Add("X-Cisco-Meraki-API-Key", Key));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Pages_carry_absolute_first_prev_next_and_last_links()
    {
        using var first = await Get("organizations/1/sensor/readings/latest?perPage=3&metrics[]=temperature");
        var links = first.Headers.GetValues("Link").Single();
        Assert.Contains("rel=first", links, StringComparison.Ordinal);
        Assert.Contains("rel=next", links, StringComparison.Ordinal);
        Assert.Contains("rel=last", links, StringComparison.Ordinal);
        Assert.DoesNotContain("rel=prev", links, StringComparison.Ordinal);
        Assert.Contains("startingAfter=0000-0000-0000", links, StringComparison.Ordinal);
        Assert.Contains("endingBefore=ZZZZ-ZZZZ-ZZZZ", links, StringComparison.Ordinal);
        Assert.Contains($"<{_sim.Root}api/v1/organizations/1/sensor/readings/latest?perPage=3&startingAfter=Q-3&metrics%5B%5D=temperature>; rel=next", links, StringComparison.Ordinal);

        using var second = await Get("organizations/1/sensor/readings/latest?perPage=3&startingAfter=Q-3&metrics[]=temperature");
        Assert.Contains("rel=prev", second.Headers.GetValues("Link").Single(), StringComparison.Ordinal);
        Assert.DoesNotContain("rel=next", second.Headers.GetValues("Link").Single(), StringComparison.Ordinal);
        using var body = JsonDocument.Parse(await second.Content.ReadAsStringAsync());
        Assert.Equal(["Q-4", "Q-5"], body.RootElement.EnumerateArray().Select(e => e.GetProperty("serial").GetString()));

        using var last = await Get("organizations/1/sensor/readings/latest?perPage=3&endingBefore=ZZZZ-ZZZZ-ZZZZ");
        using var lastBody = JsonDocument.Parse(await last.Content.ReadAsStringAsync());
        Assert.Equal(["Q-3", "Q-4", "Q-5"], lastBody.RootElement.EnumerateArray().Select(e => e.GetProperty("serial").GetString()));
    }

    [Fact]
    public async Task A_reading_follows_the_v1_schema_with_both_units()
    {
        using var response = await Get("organizations/1/sensor/readings/latest?metrics[]=temperature&serials[]=Q-1");
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var item = Assert.Single(body.RootElement.EnumerateArray());
        Assert.Equal("N_1", item.GetProperty("network").GetProperty("id").GetString());
        var reading = Assert.Single(item.GetProperty("readings").EnumerateArray());
        Assert.Equal("temperature", reading.GetProperty("metric").GetString());
        Assert.Equal(21, reading.GetProperty("temperature").GetProperty("celsius").GetDouble());
        Assert.Equal(69.8, reading.GetProperty("temperature").GetProperty("fahrenheit").GetDouble());
        Assert.EndsWith("Z", reading.GetProperty("ts").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_metrics_filter_every_metric_is_returned()
    {
        using var response = await Get("organizations/1/sensor/readings/latest?serials[]=Q-1");
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var metrics = body.RootElement[0].GetProperty("readings").EnumerateArray().Select(r => r.GetProperty("metric").GetString());
        Assert.Equal(["temperature", "humidity"], metrics);
    }

    [Theory]
    [InlineData("2")]
    [InlineData("1001")]
    [InlineData("many")]
    public async Task A_page_size_outside_3_to_1000_is_a_400(string perPage)
    {
        using var response = await Get($"organizations/1/sensor/readings/latest?perPage={perPage}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("errors", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bursting_past_the_organization_limit_answers_429_with_retry_after()
    {
        var statuses = new List<HttpResponseMessage>();
        for (var i = 0; i < 30; i++)
            statuses.Add(await Get("organizations/1/sensor/readings/latest"));

        var limited = statuses.FirstOrDefault(r => r.StatusCode == HttpStatusCode.TooManyRequests);
        Assert.NotNull(limited);
        Assert.True(limited.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        Assert.Contains("rate limit", await limited.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        statuses.ForEach(r => r.Dispose());
    }

    [Fact]
    public async Task The_alert_overview_has_the_documented_shape()
    {
        using var response = await Get("networks/N_1/sensor/alerts/current/overview/byMetric");
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains("temperature", body.RootElement.GetProperty("supportedMetrics").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal(0, body.RootElement.GetProperty("counts").GetProperty("noise").GetProperty("ambient").GetInt32());
        // Q-1..Q-5 read 21..25 °C; the network alerts above 35 °C.
        Assert.Equal(0, body.RootElement.GetProperty("counts").GetProperty("temperature").GetInt32());
    }

    [Fact]
    public async Task A_network_the_key_cannot_read_answers_404_with_an_errors_array()
    {
        using var response = await Get("networks/N_OTHER_ORG/sensor/alerts/current/overview/byMetric");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(JsonValueKind.Array, body.RootElement.GetProperty("errors").ValueKind);
    }

    [Fact]
    public async Task A_redirect_fault_sends_the_client_to_another_host_as_asked()
    {
        _sim.World.AddFault(new Fault { Kind = "redirect", Target = "https://n42.meraki.example/", Remaining = 1 });
        using var noFollow = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_sim.ApiBase, "organizations/1/sensor/readings/latest?perPage=3"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Key);

        using var response = await noFollow.SendAsync(request);

        Assert.Equal(HttpStatusCode.TemporaryRedirect, response.StatusCode);
        Assert.Equal("https://n42.meraki.example/api/v1/organizations/1/sensor/readings/latest?perPage=3", response.Headers.Location!.AbsoluteUri);
    }

    [Fact]
    public async Task Each_organization_has_its_own_rate_limit()
    {
        _sim.World.RatePerSecond = 1;
        _sim.World.Burst = 2;
        _sim.World.AddOrganization("2", "Other");
        _sim.World.AddOrganization("3", "Third");

        var second = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
            second.Add((await Get("organizations/2/sensor/readings/latest")).StatusCode);
        var third = (await Get("organizations/3/sensor/readings/latest")).StatusCode;

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], second);
        Assert.Equal(HttpStatusCode.OK, third);
    }

    [Fact]
    public async Task Every_page_takes_the_configured_latency()
    {
        _sim.World.PageLatency = TimeSpan.FromMilliseconds(600);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var first = await Get("organizations/1/sensor/readings/latest?perPage=3");
        using var second = await Get("organizations/1/sensor/readings/latest?perPage=3&startingAfter=Q-3");
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(1150), $"two pages in {clock.Elapsed}");
    }

    [Fact]
    public async Task Posting_to_the_generic_api_records_the_body_and_headers()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_sim.Root, "generic/alarms?x=1"))
        {
            Content = new StringContent("""{"jsonrpc":"2.0"}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Token", "t");
        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var recorded = Assert.Single(_sim.World.GenericRequests());
        Assert.Equal(("POST", "/generic/alarms?x=1", """{"jsonrpc":"2.0"}""", "t"), (recorded.Method, recorded.PathAndQuery, recorded.Body, recorded.Headers["X-Token"]));
    }

    [Fact]
    public async Task Without_a_broker_mqtt_publishing_is_refused_with_a_hint()
    {
        using var response = await _http.PostAsync(new Uri(_sim.Root, "_sim/mqtt/publish"), null);
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("Simulator:Mqtt:Url", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
