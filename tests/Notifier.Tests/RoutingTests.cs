using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using PowerEvents.Contracts;
using PowerEvents.Notifier.Alerts;
using Xunit;

namespace PowerEvents.Notifier.Tests;

/// <summary>Unit tests of the severity mapping (the catalog's entries) and of each destination's minimum severity.</summary>
public sealed class RoutingTests
{
    static AlertContent Map<TEvent>(TEvent message) where TEvent : class
    {
        var services = new ServiceCollection();
        services.AddMassTransit(bus => bus.AddAlerts());
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<AlertMap<TEvent>>().Map(message);
    }

    [Fact]
    public void An_alarm_raised_is_critical_and_names_the_zone_and_the_hottest_reading()
    {
        var content = Map(TestAlerts.Raised("server-room", 36.2, 38.9, 35.1));

        Assert.Equal(Severity.Critical, content.Severity);
        Assert.Equal("ALARM RAISED in zone server-room", content.Title);
        Assert.Contains("38.9 °C", content.Summary, StringComparison.Ordinal);
        Assert.Equal("server-room", content.Zone);
        Assert.Equal(new AlertFact("Threshold", "35.0 °C"), content.Facts[0]);
        Assert.Equal("Sensor Q3CA-AAAA-0002", content.Facts[1].Label);
    }

    [Fact]
    public void An_alarm_cleared_is_info()
    {
        var content = Map(TestAlerts.Cleared("server-room"));

        Assert.Equal(Severity.Info, content.Severity);
        Assert.Equal("Alarm cleared in zone server-room", content.Title);
    }

    [Fact]
    public void A_chat_alert_shows_at_most_five_readings()
    {
        var content = Map(TestAlerts.Raised("hall", [.. Enumerable.Range(0, 12).Select(i => 35.0 + i)]));
        Assert.Equal(6, content.Facts.Count);
        Assert.Equal("46.0 °C at 10:32:10 UTC", content.Facts[1].Value);
    }

    [Theory]
    [InlineData(Severity.Info, Severity.Info, true)]
    [InlineData(Severity.Info, Severity.Critical, true)]
    [InlineData(Severity.Warning, Severity.Info, false)]
    [InlineData(Severity.Warning, Severity.Warning, true)]
    [InlineData(Severity.Critical, Severity.Warning, false)]
    [InlineData(Severity.Critical, Severity.Critical, true)]
    public void A_destination_takes_its_minimum_severity_and_above(Severity minimum, Severity alert, bool accepted) =>
        Assert.Equal(accepted, new DestinationOptions { MinimumSeverity = minimum.ToString().ToLowerInvariant() }.Accepts(alert));
}
