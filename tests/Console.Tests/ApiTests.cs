using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using PowerEvents.Console.ReadModel;
using PowerEvents.Contracts;
using Xunit;

namespace PowerEvents.Console.Tests;

/// <summary>The API over the real bus and database: authentication, CSRF, roles, the read model, commands to the saga's queue.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class ApiTests(ConsoleFixture console)
{
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task Session_cookies_are_HttpOnly_Secure_and_SameSite_strict()
    {
        using var client = await console.ClientAsync(user: null);
        using var login = await client.LoginAsync("admin", ConsoleFixture.AdminPassword);
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var session = Assert.Single(login.Headers.GetValues("Set-Cookie"), c => c.StartsWith("pe-console=", StringComparison.Ordinal));
        Assert.Contains("httponly", session, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("secure", session, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", session, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Without_a_session_the_API_answers_401()
    {
        using var client = await console.ClientAsync(user: null);
        using var response = await client.GetAsync("api/state");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task A_change_without_the_CSRF_token_is_refused_and_nothing_is_sent()
    {
        using var client = await console.ClientAsync();
        client.SendCsrf = false;
        using var response = await client.PostAsync("api/clusters/cluster-csrf/drill", new { confirm = "cluster-csrf", reason = "csrf test" });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Repeated_wrong_passwords_lock_the_account_even_for_the_right_one()
    {
        await console.CreateUserAsync("locked-user", "locked-user-password", "viewer");
        using var client = await console.ClientAsync(user: null);
        for (var i = 0; i < 3; i++)
        {
            using var wrong = await client.LoginAsync("locked-user", "not-the-password");
            Assert.NotEqual(HttpStatusCode.OK, wrong.StatusCode);
        }
        using var right = await client.LoginAsync("locked-user", "locked-user-password");
        Assert.Equal(HttpStatusCode.TooManyRequests, right.StatusCode);

        using var admin = await console.ClientAsync();
        var audit = await admin.GetJsonAsync<List<JsonElement>>("api/audit?limit=100");
        Assert.Contains(audit!, a => a.GetProperty("user").GetString() == "locked-user" && a.GetProperty("outcome").GetString() == "LockedOut");
    }

    [Fact]
    public async Task A_viewer_sees_but_cannot_act()
    {
        await console.CreateUserAsync("viewer-api", "viewer-api-password", "viewer");
        await console.PublishAsync(new ClusterInventoryCaptured(Guid.NewGuid(), "cluster-viewer", [new HostInventory("host-1", "esx-v1", "connected", "poweredOn", false)], [], DateTimeOffset.UtcNow));
        using var viewer = await console.ClientAsync("viewer-api", "viewer-api-password");
        await Eventually.TrueAsync(async () => (await viewer.GetJsonAsync<StateView>("api/state"))!.Clusters.Any(c => c.Name == "cluster-viewer"), "cluster not shown");

        using var response = await viewer.PostAsync("api/clusters/cluster-viewer/shutdown-now", new { confirm = "cluster-viewer", reason = "viewer tries" });
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.DoesNotContain(console.SagaCommands, c => c is ClusterShutdownNowRequested { Cluster: "cluster-viewer" });
    }

    [Fact]
    public async Task An_API_token_acts_for_scripts_without_cookie_or_CSRF_and_the_command_reaches_the_saga_queue()
    {
        await console.PublishAsync(new ClusterInventoryCaptured(Guid.NewGuid(), "cluster-token", [new HostInventory("host-1", "esx-t1", "connected", "poweredOn", false)], [], DateTimeOffset.UtcNow));
        using var admin = await console.ClientAsync();
        using var created = await admin.PostAsync("api/tokens", new { label = "nightly script" });
        var token = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;

        using var script = new ConsoleClient(console.BaseAddress, bearer: token);
        await Eventually.TrueAsync(async () => (await script.GetJsonAsync<StateView>("api/state"))!.Clusters.Any(c => c.Name == "cluster-token"), "cluster not shown");
        using var drill = await script.PostAsync("api/clusters/cluster-token/drill", new { confirm = "cluster-token", reason = "monthly drill" });
        Assert.Equal(HttpStatusCode.Accepted, drill.StatusCode);

        await Eventually.TrueAsync(() => Task.FromResult(console.SagaCommands.OfType<ClusterDrillRequested>().Any(c => c.Cluster == "cluster-token")), "the drill did not reach the saga's queue");
        var command = console.SagaCommands.OfType<ClusterDrillRequested>().Single(c => c.Cluster == "cluster-token");
        Assert.Equal("admin", command.RequestedBy);
        Assert.Equal("monthly drill", command.Reason);
        Assert.Equal(Commands.ClusterIds.For("cluster-token"), command.ClusterId);

        using var bad = new ConsoleClient(console.BaseAddress, bearer: "pec_not-a-token");
        using var refused = await bad.GetAsync("api/state");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task Power_on_respects_the_minimum_off_time_unless_overridden_with_a_reason()
    {
        var run = Guid.NewGuid();
        var now = DateTimeOffset.UtcNow;
        await console.PublishAsync(new ClusterInventoryCaptured(run, "cluster-min", [new HostInventory("host-1", "esx-m1", "connected", "poweredOn", false)], [], now));
        await console.PublishAsync(new PowerRunStarted(run, "cluster-min", "zone-min", ["all"], 0, 1, false, now));
        await console.PublishAsync(new PowerRunCompleted(run, "cluster-min", [], false, now, now));
        using var admin = await console.ClientAsync();
        await Eventually.TrueAsync(async () => (await admin.GetJsonAsync<StateView>("api/state"))!.Clusters.Any(c => c.Name == "cluster-min" && c.OffSince is not null), "cluster not off");

        using var wrongName = await admin.PostAsync("api/clusters/cluster-min/power-on-now", new { confirm = "cluster-mi", reason = "typo" });
        Assert.Equal(HttpStatusCode.Conflict, wrongName.StatusCode);
        using var early = await admin.PostAsync("api/clusters/cluster-min/power-on-now", new { confirm = "cluster-min", reason = "need it back" });
        Assert.Equal(HttpStatusCode.Conflict, early.StatusCode);
        Assert.Contains("minimum off time", await early.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var noReason = await admin.PostAsync("api/clusters/cluster-min/power-on-now", new { confirm = "cluster-min", reason = "need it back", overrideMinimumOffTime = true });
        Assert.Equal(HttpStatusCode.Conflict, noReason.StatusCode);
        using var overridden = await admin.PostAsync("api/clusters/cluster-min/power-on-now",
            new { confirm = "cluster-min", reason = "need it back", overrideMinimumOffTime = true, overrideReason = "room is cool, checked on site" });
        Assert.Equal(HttpStatusCode.Accepted, overridden.StatusCode);

        await Eventually.TrueAsync(() => Task.FromResult(console.SagaCommands.OfType<ClusterPowerOnNowRequested>().Any(c => c.Cluster == "cluster-min")), "the power-on did not reach the saga's queue");
        var command = console.SagaCommands.OfType<ClusterPowerOnNowRequested>().Single(c => c.Cluster == "cluster-min");
        Assert.True(command.OverrideMinimumOffTime);
        Assert.Equal("room is cool, checked on site", command.OverrideReason);

        // Standby time (5 min): no second power action right after the first.
        using var again = await admin.PostAsync("api/clusters/cluster-min/shutdown-now", new { confirm = "cluster-min", reason = "changed my mind" });
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains("standby", await again.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Temperatures_alarms_and_history_come_from_the_bus()
    {
        var now = DateTimeOffset.UtcNow;
        await console.PublishAsync(new TemperatureSampled("meraki", "Q2-HIST", "zone-hist", 24.5, now.AddMinutes(-20), now));
        await console.PublishAsync(new TemperatureSampled("meraki", "Q2-HIST", "zone-hist", 31.0, now, now));
        await console.PublishAsync(new AlarmRaised(Guid.NewGuid(), "zone-hist", now, 30, [new SensorReading("Q2-HIST", 31, now)]));
        using var admin = await console.ClientAsync();
        await Eventually.TrueAsync(async () => (await admin.GetJsonAsync<StateView>("api/state"))!.Zones.Any(z => z.Name == "zone-hist" && z.Alarm?.Active == true), "alarm not shown");

        var zone = (await admin.GetJsonAsync<StateView>("api/state"))!.Zones.Single(z => z.Name == "zone-hist");
        var sensor = Assert.Single(zone.Sensors);
        Assert.Equal(31.0, sensor.Celsius);
        Assert.True(sensor.TrendPer10Min > 0);
        var history = await admin.GetJsonAsync<ZoneHistoryView>("api/zones/zone-hist/history");
        Assert.Equal(2, Assert.Single(history!.Sensors).Points.Count);
        Assert.Equal(30, history.HighCelsius);
    }

    [Fact]
    public async Task A_sensor_is_shown_in_the_evaluators_zone_once_an_alarm_names_it()
    {
        var now = DateTimeOffset.UtcNow;
        // The poller labels a reading with its source's name (the Meraki network); the evaluator's zone is its own.
        await console.PublishAsync(new TemperatureSampled("meraki", "Q2-MOVE", "Main Office", 33, now.AddMinutes(-1), now));
        await console.PublishAsync(new AlarmRaised(Guid.NewGuid(), "zone-move", now, 32, [new SensorReading("Q2-MOVE", 33, now)]));
        await console.PublishAsync(new TemperatureSampled("meraki", "Q2-MOVE", "Main Office", 34, now, now));
        using var admin = await console.ClientAsync();
        await Eventually.TrueAsync(async () => (await admin.GetJsonAsync<StateView>("api/state"))!.Zones
            .Any(z => z.Name == "zone-move" && z.Sensors.Any(s => s.Id == "Q2-MOVE" && s.Celsius == 34)), "sensor not in the evaluator's zone");
        var history = await admin.GetJsonAsync<ZoneHistoryView>("api/zones/zone-move/history");
        Assert.Equal(2, Assert.Single(history!.Sensors).Points.Count);
    }

    [Fact]
    public async Task The_OpenAPI_document_describes_the_API()
    {
        using var client = await console.ClientAsync(user: null);
        using var response = await client.GetAsync("openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var document = await response.Content.ReadAsStringAsync();
        Assert.Contains("/api/clusters/{cluster}/power-on-now", document, StringComparison.Ordinal);
        Assert.Contains("/api/state", document, StringComparison.Ordinal);
    }
}
