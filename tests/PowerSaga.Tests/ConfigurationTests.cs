using PowerEvents.Testing;
using Xunit;

namespace PowerEvents.PowerSaga.Tests;

/// <summary>The AlarmEvaluator as its own process refuses a bad power configuration at start, naming the key.</summary>
[Collection(PowerIntegrationCollection.Name)]
public sealed class ConfigurationTests
{
    [Theory]
    [InlineData("Power__Clusters__0__Zone", "", "Power:Clusters:0:Zone")]
    [InlineData("Power__Clusters__0__TierDeadline", "00:00:01", "Power:Clusters:0:TierDeadline")]
    [InlineData("Power__Clusters__0__Tiers__0__VmNamePatterns__0", "([", "Power:Clusters:0:Tiers:0:VmNamePatterns:0")]
    [InlineData("Power__Clusters__0__MaxParallelPerTier", "0", "Power:Clusters:0:MaxParallelPerTier")]
    [InlineData("Power__Clusters__0__DefaultTier", "nope", "Power:Clusters:0:DefaultTier")]
    [InlineData("Power__Clusters__0__GuestShutdownTimeout", "five minutes", "Power:Clusters:0:GuestShutdownTimeout")]
    [InlineData("Power__Clusters__0__MinimumOffTime", "-00:01:00", "Power:Clusters:0:MinimumOffTime")]
    [InlineData("Power__Clusters__0__ReconnectPollInterval", "00:00:00", "Power:Clusters:0:ReconnectPollInterval")]
    [InlineData("Power__Clusters__0__UseVsanClusterPowerApi", "sometimes", "Power:Clusters:0:UseVsanClusterPowerApi")]
    public async Task An_invalid_power_setting_stops_the_service_with_a_message_naming_the_key(string variable, string value, string key)
    {
        var rabbit = new RabbitMqFixture();
        var postgres = new PostgresFixture();
        var environment = new Dictionary<string, string?>
        {
            ["RabbitMq__Host"] = "127.0.0.1",
            ["RabbitMq__Port"] = rabbit.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["RabbitMq__Password"] = RabbitMqFixture.Password,
            ["Postgres__Host"] = "127.0.0.1",
            ["Postgres__Port"] = postgres.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Postgres__Database"] = postgres.Database,
            ["Postgres__Username"] = PostgresFixture.Username,
            ["Power__Clusters__0__Name"] = "cluster1",
            ["Power__Clusters__0__Zone"] = "room-a",
            ["Power__Clusters__0__ExternalZone"] = "true",
            ["Power__Clusters__0__Tiers__0__Name"] = "apps",
            ["Power__Clusters__0__Tiers__0__VmNamePatterns__0"] = "^app-",
            ["Power__Clusters__0__GuestShutdownTimeout"] = "00:00:05",
            ["Power__Clusters__0__TierDeadline"] = "00:00:30",
        };
        environment[variable] = value;
        await using var process = ServiceProcess.Start("AlarmEvaluator", environment);

        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(2, exitCode);
        Assert.Contains(process.Output, line => line.Contains(key, StringComparison.Ordinal));
    }
}
