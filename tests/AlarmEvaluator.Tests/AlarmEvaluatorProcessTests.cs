using MassTransit;
using PowerEvents.Contracts;
using PowerEvents.Testing;
using Xunit;

namespace PowerEvents.AlarmEvaluator.Tests;

/// <summary>The evaluator as its own process, configured through environment variables as in docker-compose.</summary>
[Collection(RealServersCollection.Name)]
public sealed class AlarmEvaluatorProcessTests(RabbitMqFixture rabbit, PostgresFixture postgres)
{
    [Theory]
    [InlineData("AlarmEvaluator__Zones__0__LowCelsius", "36", "AlarmEvaluator:Zones:0:LowCelsius")]
    [InlineData("AlarmEvaluator__Zones__0__Quorum", "3", "AlarmEvaluator:Zones:0:Quorum")]
    [InlineData("AlarmEvaluator__Zones__0__HoldTime", "five minutes", "AlarmEvaluator:Zones:0:HoldTime")]
    public async Task An_invalid_zone_setting_stops_the_service_naming_the_key(string variable, string value, string key)
    {
        var environment = rabbit.Environment.Concat(postgres.Environment).ToDictionary(e => e.Key, e => (string?)e.Value);
        environment["AlarmEvaluator__Zones__0__Name"] = "server-room";
        environment["AlarmEvaluator__Zones__0__Sensors__0"] = "Q3CA-AAAA-0001";
        environment["AlarmEvaluator__Zones__0__Sensors__1"] = "Q3CA-AAAA-0002";
        environment[variable] = value;
        await using var process = ServiceProcess.Start("AlarmEvaluator", environment);

        Assert.Equal(2, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains(process.Output, line => line.Contains(key, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Metrics_show_each_zones_temperatures_and_alarm_and_follow_the_readings()
    {
        var environment = rabbit.Environment.Concat(postgres.Environment).ToDictionary(e => e.Key, e => (string?)e.Value);
        var zone = $"metrics-{Guid.NewGuid():N}"[..16];
        environment["AlarmEvaluator__Zones__0__Name"] = zone;
        environment["AlarmEvaluator__Zones__0__Sensors__0"] = "Q3CA-METR-0001";
        environment["AlarmEvaluator__Zones__0__ConsecutiveSamples"] = "1";
        await using var process = ServiceProcess.Start("AlarmEvaluator", environment);
        await process.WaitUntilReadyAsync(TimeSpan.FromSeconds(60));

        var bus = Bus.Factory.CreateUsingRabbitMq(cfg => cfg.Host("127.0.0.1", (ushort)rabbit.Port, rabbit.VirtualHost, h =>
        {
            h.Username(RabbitMqFixture.Username);
            h.Password(RabbitMqFixture.Password);
        }));
        await bus.StartAsync();
        try
        {
            var labels = new[] { $"zone=\"{zone}\"" };
            Task Sample(double celsius) =>
                bus.Publish(new TemperatureSampled("test", "Q3CA-METR-0001", zone, celsius, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow));

            await Sample(24.5);
            var cool = await MetricsScrape.UntilAsync(process.BaseAddress, m => m.Sum("powerevents_zone_temperature_celsius", labels) == 24.5,
                TimeSpan.FromSeconds(45), "the first reading is not shown");
            Assert.Equal(0, cool.Sum("powerevents_zone_alarm", labels));
            Assert.Contains(cool.Series.Keys, k => k.StartsWith("masstransit_", StringComparison.Ordinal));

            await Sample(41.0);
            var hot = await MetricsScrape.UntilAsync(process.BaseAddress, m => m.Sum("powerevents_zone_alarm", labels) == 1,
                TimeSpan.FromSeconds(45), "the raised alarm is not shown");
            Assert.Equal(41.0, hot.Sum("powerevents_zone_temperature_celsius", labels));
            Assert.Equal(1, hot.Sum("powerevents_zone_alarm_transitions_total", [.. labels, "transition=\"raised\""]));
            Assert.Equal(2, hot.Sum("powerevents_zone_samples_total", [.. labels, "verdict=\"Accepted\""]));
        }
        finally
        {
            await bus.StopAsync();
        }
    }
}
