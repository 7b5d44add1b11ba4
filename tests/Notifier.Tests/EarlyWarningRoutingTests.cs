using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using PowerEvents.Contracts;
using PowerEvents.Notifier.Alerts;
using Xunit;

namespace PowerEvents.Notifier.Tests;

/// <summary>The catalog's entries for the early warning: an episode's start and end, and an alarm raised on a prediction.</summary>
public sealed class EarlyWarningRoutingTests
{
    static readonly DateTimeOffset At = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);

    static AlertContent? Map<TEvent>(TEvent message) where TEvent : class
    {
        var services = new ServiceCollection();
        services.AddMassTransit(bus => bus.AddAlerts());
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<AlertMap<TEvent>>().Map(message);
    }

    [Fact]
    public void An_early_warning_is_a_warning_with_the_prediction_and_its_end_is_info()
    {
        var opened = Map(new ZoneEarlyWarningChanged("hall", true, TimeSpan.FromMinutes(12), TimeSpan.FromMinutes(20), 0.5, 35,
            [new SensorReading("Q3CA-1", 29, At)], At))!;
        var over = Map(new ZoneEarlyWarningChanged("hall", false, null, TimeSpan.FromMinutes(20), null, 35, [], At.AddMinutes(30)))!;

        Assert.Equal(Severity.Warning, opened.Severity);
        Assert.Equal("EARLY WARNING in zone hall: 35.0 °C predicted in 12.0 min", opened.Title);
        Assert.Contains("0.50 °C/min", opened.Summary, StringComparison.Ordinal);
        Assert.Contains("20.0 min", opened.Summary, StringComparison.Ordinal);
        Assert.Equal(Severity.Info, over.Severity);
        Assert.NotEqual(opened.Fact, over.Fact);
    }

    [Fact]
    public void An_alarm_raised_on_a_prediction_says_so()
    {
        var predicted = Map(new AlarmRaised(Guid.NewGuid(), "hall", At, 35, [new SensorReading("Q3CA-1", 29, At)], null, Reason: "predicted: 1 sensor(s) reach 35.0 °C in 9.0 min"))!;

        Assert.Equal(Severity.Critical, predicted.Severity);
        Assert.Equal("ALARM RAISED in zone hall (predicted)", predicted.Title);
        Assert.Contains("predicted: 1 sensor(s) reach 35.0 °C in 9.0 min", predicted.Summary, StringComparison.Ordinal);
    }
}
