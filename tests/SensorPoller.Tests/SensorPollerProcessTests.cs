using PowerEvents.Testing;
using PowerEvents.Tools.MerakiSimulator;
using Xunit;

namespace PowerEvents.SensorPoller.Tests;

/// <summary>The poller as its own process, configured through environment variables as in docker-compose.</summary>
public sealed class SensorPollerProcessTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    const string RealKey = "process-test-key-0001";

    Dictionary<string, string?> Environment(RunningSimulator sim, string apiKey)
    {
        var environment = rabbit.Environment.ToDictionary(e => e.Key, e => (string?)e.Value);
        environment["SensorPoller__Meraki__0__Name"] = "meraki-hq";
        environment["SensorPoller__Meraki__0__BaseUrl"] = sim.ApiBase.ToString();
        environment["SensorPoller__Meraki__0__OrganizationId"] = "1";
        environment["SensorPoller__Meraki__0__Interval"] = "00:00:00.300";
        environment["SensorPoller__Meraki__0__ApiKey"] = apiKey;
        environment["SensorPoller__Meraki__0__AllowInsecureHttp"] = "true";
        return environment;
    }

    [Fact]
    public async Task A_missing_api_key_stops_the_service_naming_the_key()
    {
        await using var sim = await RunningSimulator.StartAsync(RealKey);
        var environment = Environment(sim, "");
        environment.Remove("SensorPoller__Meraki__0__ApiKey");
        await using var process = ServiceProcess.Start("SensorPoller", environment);

        Assert.Equal(2, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains(process.Output, line => line.Contains("SensorPoller:Meraki:0:ApiKey", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_source_with_an_unreadable_value_stops_the_service_instead_of_vanishing()
    {
        await using var sim = await RunningSimulator.StartAsync(RealKey);
        var environment = Environment(sim, RealKey);
        environment["SensorPoller__Meraki__0__Interval"] = "every minute";
        await using var process = ServiceProcess.Start("SensorPoller", environment);

        Assert.Equal(2, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains(process.Output, line => line.Contains("SensorPoller:Meraki:0:Interval", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_rejected_api_key_is_reported_and_never_logged()
    {
        await using var sim = await RunningSimulator.StartAsync(RealKey);
        sim.World.AddOrganization("1", "Org");
        const string wrongKey = "wrong-key-that-must-not-be-logged";
        var keyFile = Path.GetTempFileName();
        await File.WriteAllTextAsync(keyFile, wrongKey + "\n");
        try
        {
            var environment = Environment(sim, "plain-key-overridden-by-the-file");
            environment["SensorPoller__Meraki__0__ApiKey_FILE"] = keyFile;
            await using var process = ServiceProcess.Start("SensorPoller", environment);

            await process.WaitForOutputAsync(line => line.Contains("Invalid API key", StringComparison.Ordinal), TimeSpan.FromSeconds(45));
            Assert.Contains(sim.World.Requests(), r => r.Status == 401);
            await process.TerminateAsync(TimeSpan.FromSeconds(30));

            Assert.DoesNotContain(process.Output, line => line.Contains(wrongKey, StringComparison.Ordinal));
            // The opt-in to plain http is said out loud at start.
            Assert.Contains(process.Output, line => line.Contains("meraki-hq: AllowInsecureHttp is set", StringComparison.Ordinal));
            Assert.DoesNotContain(process.Output, line => line.Contains("plain-key-overridden", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(keyFile);
        }
    }

    [Fact]
    public async Task Metrics_show_the_sources_requests_and_health_and_the_bus_and_change_as_it_polls()
    {
        await using var sim = await RunningSimulator.StartAsync(RealKey);
        sim.World.AddOrganization("1", "Org");
        sim.World.AddNetwork("N_1", "1", "Server room", 35);
        sim.World.SetSensor("Q-METRICS", "N_1", 24.5, null, null);
        await using var process = ServiceProcess.Start("SensorPoller", Environment(sim, RealKey));
        await process.WaitUntilReadyAsync(TimeSpan.FromSeconds(45));
        const string source = "source=\"meraki-hq\"";

        var first = await MetricsScrape.UntilAsync(process.BaseAddress,
            m => m.Sum("powerevents_source_http_requests_total", source, "status=\"200\"") > 0 && m.Sum("powerevents_source_messages_published_total", source) > 0,
            TimeSpan.FromSeconds(45), "no successful request or published reading of meraki-hq");
        Assert.Equal(1, first.Sum("powerevents_source_healthy", source));
        Assert.True(first.Sum("powerevents_source_polls_total", source, "outcome=\"ok\"") > 0);
        // MassTransit's own meters: the readings it published.
        Assert.Contains(first.Series.Keys, k => k.StartsWith("masstransit_", StringComparison.Ordinal));
        Assert.DoesNotContain(RealKey, first.Text, StringComparison.Ordinal);

        // The counters move with every poll; a failing API turns the health gauge to 0.
        var requests = first.Sum("powerevents_source_http_requests_total", source);
        await MetricsScrape.UntilAsync(process.BaseAddress, m => m.Sum("powerevents_source_http_requests_total", source) > requests,
            TimeSpan.FromSeconds(30), "the request count did not grow");
        sim.World.AddFault(new Fault { Kind = "status", Status = 500, Remaining = -1 });
        var failing = await MetricsScrape.UntilAsync(process.BaseAddress, m => m.Sum("powerevents_source_healthy", source) == 0,
            TimeSpan.FromSeconds(45), "meraki-hq was not reported unhealthy");
        Assert.True(failing.Sum("powerevents_source_http_requests_total", source, "status=\"500\"") > 0);
        Assert.True(failing.Sum("powerevents_source_polls_total", source, "outcome=\"failed\"") > 0);
    }

    [Fact]
    public async Task With_an_operator_token_metrics_answer_only_with_it()
    {
        await using var sim = await RunningSimulator.StartAsync(RealKey);
        var token = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var environment = Environment(sim, RealKey);
        environment["OperatorApi__Token"] = token;
        await using var process = ServiceProcess.Start("SensorPoller", environment);
        await process.WaitUntilReadyAsync(TimeSpan.FromSeconds(45));

        using var anonymous = await process.GetAsync("metrics");
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, anonymous.StatusCode);
        var scrape = await MetricsScrape.ReadAsync(process.BaseAddress, token);
        Assert.Contains(scrape.Series.Keys, k => k.StartsWith("process_", StringComparison.Ordinal));
        Assert.DoesNotContain(token, scrape.Text, StringComparison.Ordinal);
    }
}
