using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Xunit;

namespace PowerEvents.AlarmEvaluator.Tests;

/// <summary>A protected cluster must name a zone this service evaluates, or say that its alarms come from elsewhere.</summary>
public sealed class ClusterZoneValidatorTests
{
    static readonly string[] Base =
    [
        "--urls=http://127.0.0.1:0",
        "--RabbitMq:Host=127.0.0.1", "--RabbitMq:Username=guest", "--RabbitMq:Password=guest",
        "--Postgres:Host=127.0.0.1", "--Postgres:Database=unused", "--Postgres:Username=powerevents",
        "--AlarmEvaluator:Zones:0:Name=server-room", "--AlarmEvaluator:Zones:0:Sensors:0=Q3CA-AAAA-0001",
        "--Power:Clusters:0:Name=cluster1",
    ];

    // The saga's state machine reads its options while the host is built, so the refusal comes from Build or StartAsync.
    static async Task<IReadOnlyList<string>> StartFailures(params string[] settings)
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var app = AlarmEvaluatorHost.Build([.. Base, .. settings]);
            await app.StartAsync();
        });
        return [.. failure.Failures];
    }

    [Fact]
    public async Task A_cluster_whose_zone_is_a_typo_stops_the_service_naming_the_key()
    {
        var failures = await StartFailures("--Power:Clusters:0:Zone=serverroom");

        var failure = Assert.Single(failures);
        Assert.StartsWith("Power:Clusters:0:Zone: 'serverroom' is not a zone of AlarmEvaluator:Zones (configured: server-room)", failure, StringComparison.Ordinal);
        Assert.Contains("Power:Clusters:0:ExternalZone=true", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void A_configured_zone_or_a_declared_external_one_is_accepted()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Power:Clusters:1:ExternalZone"] = "true",
        }).Build();
        var zones = Options.Create(new Zones.AlarmEvaluatorOptions { Zones = [new Zones.ZoneOptions { Name = "server-room", Sensors = ["Q-1"] }] });
        var power = new Power.PowerOptions
        {
            Clusters = [new Power.ClusterOptions { Name = "c1", Zone = "server-room" }, new Power.ClusterOptions { Name = "c2", Zone = "bms-hall" }],
        };

        Assert.True(new ClusterZoneValidator(zones, configuration).Validate(null, power).Succeeded);
        var strict = new ClusterZoneValidator(zones, new ConfigurationBuilder().Build()).Validate(null, power);
        Assert.Equal("Power:Clusters:1:Zone", Assert.Single(strict.Failures!).Split(": ")[0]);
    }
}
