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
}
