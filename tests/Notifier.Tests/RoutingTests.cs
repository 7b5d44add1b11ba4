using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using PowerEvents.Contracts;
using PowerEvents.Notifier.Alerts;
using Xunit;

namespace PowerEvents.Notifier.Tests;

/// <summary>Unit tests of the severity mapping (the catalog's entries) and of each destination's minimum severity.</summary>
public sealed class RoutingTests
{
    static AlertContent? Map<TEvent>(TEvent message) where TEvent : class
    {
        var services = new ServiceCollection();
        services.AddMassTransit(bus => bus.AddAlerts());
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<AlertMap<TEvent>>().Map(message);
    }

    [Fact]
    public void An_alarm_raised_is_critical_and_names_the_zone_and_the_hottest_reading()
    {
        var content = Map(TestAlerts.Raised("server-room", 36.2, 38.9, 35.1))!;

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
        var content = Map(TestAlerts.Cleared("server-room"))!;

        Assert.Equal(Severity.Info, content.Severity);
        Assert.Equal("Alarm cleared in zone server-room", content.Title);
    }

    [Fact]
    public void A_chat_alert_shows_at_most_five_readings()
    {
        var content = Map(TestAlerts.Raised("hall", [.. Enumerable.Range(0, 12).Select(i => 35.0 + i)]))!;
        Assert.Equal(6, content.Facts.Count);
        Assert.Equal("46.0 °C at 10:32:10 UTC", content.Facts[1].Value);
    }

    static readonly Guid Run = Guid.NewGuid();
    static readonly DateTimeOffset At = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);
    static readonly VCenterFault Fault = new("ToolsUnavailable", "Tools are not running");

    [Theory]
    [InlineData(VmShutdownOutcome.Graceful, null)]
    [InlineData(VmShutdownOutcome.AlreadyOff, null)]
    [InlineData(VmShutdownOutcome.Forced, Severity.Warning)]
    [InlineData(VmShutdownOutcome.Failed, Severity.Critical)]
    public void A_VM_shutdown_alerts_only_when_forced_or_failed(VmShutdownOutcome outcome, Severity? expected)
    {
        var content = Map(new VmShutDown(Run, "cluster1", "vm-42", "db-01", outcome, outcome == VmShutdownOutcome.Failed ? Fault : null, At));

        Assert.Equal(expected, content?.Severity);
        if (content is not null)
        {
            Assert.Contains("db-01", content.Title, StringComparison.Ordinal);
            Assert.Equal(Run, content.RunId);
            Assert.Equal("cluster1", content.Cluster);
        }
    }

    [Theory]
    [InlineData(PowerOnOutcome.PoweredOn, Severity.Info)]
    [InlineData(PowerOnOutcome.AlreadyOn, Severity.Info)]
    [InlineData(PowerOnOutcome.WakeOnLanSent, Severity.Warning)]
    [InlineData(PowerOnOutcome.Failed, Severity.Critical)]
    public void A_host_that_did_not_power_on_is_critical(PowerOnOutcome outcome, Severity? expected)
    {
        var content = Map(new HostPowerOnCompleted(Run, "cluster1", "esx-01.pe.test", outcome, "iLO.2.14.InvalidLogin", "redfish", At));

        Assert.Equal(expected, content?.Severity);
    }

    [Fact]
    public void Failed_host_steps_are_critical_and_carry_the_vSphere_fault()
    {
        var maintenance = Map(new HostEnteredMaintenance(Run, "cluster1", "esx-02.pe.test", StepOutcome.Failed, new VCenterFault("Timedout", "timed out"), At))!;
        var powerOff = Map(new HostPoweredOff(Run, "cluster1", "esx-02.pe.test", StepOutcome.Failed, new VCenterFault("InvalidState", "not in maintenance"), At))!;
        var inventory = Map(new ClusterInventoryFailed(Run, "cluster1", new VCenterFault("InvalidLogin", "bad credentials"), At))!;

        Assert.All([maintenance, powerOff, inventory], c => Assert.Equal(Severity.Critical, c.Severity));
        Assert.Equal(new AlertFact("vSphere fault", "Timedout: timed out"), Assert.Single(maintenance.Facts));
        Assert.Null(Map(new HostEnteredMaintenance(Run, "cluster1", "esx-02.pe.test", StepOutcome.Done, null, At)));
        Assert.Null(Map(new HostExitedMaintenance(Run, "cluster1", "esx-02.pe.test", StepOutcome.AlreadyInState, null, At)));
        Assert.Equal(Severity.Warning, Map(new VmPoweredOn(Run, "cluster1", "vm-1", "web-01", StepOutcome.Failed, Fault, At))!.Severity);
    }

    [Fact]
    public void A_fact_names_run_target_and_outcome_and_not_the_time_of_the_answer()
    {
        var done = Map(new HostPoweredOff(Run, "cluster1", "esx-02", StepOutcome.Done, null, At))!;
        var later = Map(new HostPoweredOff(Run, "cluster1", "esx-02", StepOutcome.AlreadyInState, null, At.AddMinutes(1)))!;
        var failed = Map(new HostPoweredOff(Run, "cluster1", "esx-02", StepOutcome.Failed, Fault, At))!;
        var otherHost = Map(new HostPoweredOff(Run, "cluster1", "esx-03", StepOutcome.Done, null, At))!;
        var otherRun = Map(new HostPoweredOff(Guid.NewGuid(), "cluster1", "esx-02", StepOutcome.Done, null, At))!;

        Assert.Equal($"{Run}/esx-02/off", done.Fact);
        Assert.Equal(done.Fact, later.Fact);
        Assert.Equal(4, new[] { done, failed, otherHost, otherRun }.Select(c => c.Fact).Distinct().Count());
        Assert.Equal(Map(new HostPowerOnCompleted(Run, "c", "esx-02", PowerOnOutcome.PoweredOn, "", "redfish", At))!.Fact,
            Map(new HostPowerOnCompleted(Run, "c", "esx-02", PowerOnOutcome.AlreadyOn, "", "redfish", At.AddSeconds(5)))!.Fact);
    }

    [Fact]
    public void A_forged_command_refused_by_an_actuator_is_a_critical_alert_naming_the_account()
    {
        var messageId = Guid.NewGuid();
        var alert = Map(new ForgedCommandRefused("vcenter-actuator", "VmShutdownRequested", "sensor-poller", "alarm-evaluator", messageId, At))!;
        var unstamped = Map(new ForgedCommandRefused("ilo-actuator", "PowerOnRequested", "", "alarm-evaluator", null, At))!;

        Assert.Equal(Severity.Critical, alert.Severity);
        Assert.Contains("sensor-poller", alert.Summary, StringComparison.Ordinal);
        Assert.Equal($"vcenter-actuator/VmShutdownRequested/{messageId}", alert.Fact);
        Assert.Contains("(none)", unstamped.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failing_source_and_a_stale_zone_are_warnings_and_their_recovery_is_info()
    {
        var failing = Map(new SourceHealthChanged("meraki-hq", false, ["HTTP 500 after 3 attempts"], At))!;
        var stale = Map(new ZoneStalenessChanged("server-room", true, 1, 2, At))!;

        Assert.Equal(Severity.Warning, failing.Severity);
        Assert.Equal(new AlertFact("Problem", "HTTP 500 after 3 attempts"), Assert.Single(failing.Facts));
        Assert.Equal(Severity.Warning, stale.Severity);
        Assert.Equal("server-room", stale.Zone);
        Assert.Equal(Severity.Info, Map(new SourceHealthChanged("meraki-hq", true, [], At))!.Severity);
        Assert.Equal(Severity.Info, Map(new ZoneStalenessChanged("server-room", false, 2, 2, At))!.Severity);
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
