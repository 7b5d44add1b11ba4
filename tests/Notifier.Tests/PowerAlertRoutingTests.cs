using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using PowerEvents.Contracts;
using PowerEvents.Notifier.Alerts;
using Xunit;

namespace PowerEvents.Notifier.Tests;

/// <summary>Unit tests of the catalog entries for the power saga's events.</summary>
public sealed class PowerAlertRoutingTests
{
    static readonly DateTimeOffset At = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);

    static AlertContent? MapOrNull<TEvent>(TEvent message) where TEvent : class
    {
        var services = new ServiceCollection();
        services.AddMassTransit(bus => bus.AddAlerts());
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<AlertMap<TEvent>>().Map(message);
    }

    static AlertContent Map<TEvent>(TEvent message) where TEvent : class =>
        MapOrNull(message) ?? throw new Xunit.Sdk.XunitException($"no alert for {typeof(TEvent).Name}");

    [Fact]
    public void A_started_shutdown_is_critical_and_names_the_cluster_and_tiers()
    {
        var content = Map(new PowerRunStarted(Guid.NewGuid(), "cluster1", "room-a", ["apps", "databases"], 12, 3, false, At));

        Assert.Equal(Severity.Critical, content.Severity);
        Assert.Equal("SHUTDOWN STARTED: cluster cluster1", content.Title);
        Assert.Contains("apps → databases", content.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void A_late_or_not_attempted_step_is_a_warning()
    {
        var content = Map(new PowerRunStepFailed(Guid.NewGuid(), "cluster1", "vm-shutdown", "vm-02-004", "Late", "no outcome by the deadline of tier apps", At));

        Assert.Equal(Severity.Warning, content.Severity);
        Assert.Equal("Shutdown step Late: vm-02-004", content.Title);
    }

    [Theory]
    [InlineData("Forced")]
    [InlineData("Failed")]
    public void A_forced_or_failed_step_is_not_alerted_twice(string outcome) =>
        // The actuator's VmShutDown / HostEnteredMaintenance / HostPoweredOff already raise these alerts.
        Assert.Null(MapOrNull(new PowerRunStepFailed(Guid.NewGuid(), "cluster1", "vm-shutdown", "vm-02-004", outcome, "Timeout: guest too slow", At)));

    [Fact]
    public void vCenters_host_finished_through_its_ESXi_API_is_the_same_fact_as_a_host_powered_off_and_its_failure_is_critical()
    {
        var run = Guid.NewGuid();
        var viaEsxi = Map(new EsxiHostPoweredOff(run, "cluster1", "esx-02", StepOutcome.Done, false, true, null, At));
        var viaVCenter = Map(new HostPoweredOff(run, "cluster1", "esx-02", StepOutcome.Done, null, At));
        var failed = Map(new EsxiHostPoweredOff(run, "cluster1", "esx-02", StepOutcome.Failed, null, false,
            new VCenterFault("InvalidLogin", "Cannot complete login due to an incorrect user name or password."), At));

        Assert.Equal(("Host esx-02 powered off", Severity.Info), (viaEsxi.Title, viaEsxi.Severity));
        Assert.Contains("its own ESXi API", viaEsxi.Summary, StringComparison.Ordinal);
        Assert.Equal(viaVCenter.Fact, viaEsxi.Fact);
        Assert.Equal(Severity.Critical, failed.Severity);
        Assert.NotEqual(viaEsxi.Fact, failed.Fact);
    }

    [Fact]
    public void A_run_completed_with_failures_is_critical_and_a_clean_one_is_info()
    {
        var failed = Map(new PowerRunCompleted(Guid.NewGuid(), "cluster1", ["host esx-01: Timedout"], true, At, At.AddMinutes(3)));
        var clean = Map(new PowerRunCompleted(Guid.NewGuid(), "cluster1", [], false, At, At.AddMinutes(3)));

        Assert.Equal(Severity.Critical, failed.Severity);
        Assert.Contains(failed.Facts, f => f.Value == "host esx-01: Timedout");
        Assert.Equal(Severity.Info, clean.Severity);
    }

    [Fact]
    public void The_vcenter_vm_on_the_cluster_whose_host_the_run_cannot_finish_is_critical()
    {
        var content = Map(new VCenterVmOnProtectedCluster(Guid.NewGuid(), "cluster1", "vcsa", "esx-01", At));

        Assert.Equal(Severity.Critical, content.Severity);
        Assert.Contains("vcsa", content.Summary, StringComparison.Ordinal);
        Assert.Contains("stays on", content.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void The_vcenter_vm_whose_host_is_finished_through_its_esxi_api_says_what_the_run_does()
    {
        var content = Map(new VCenterVmOnProtectedCluster(Guid.NewGuid(), "cluster1", "vcsa", "esx-02", At, HostFinishedViaEsxi: true));

        Assert.Equal(Severity.Info, content.Severity);
        Assert.Contains("esx-02 through its own ESXi API", content.Summary, StringComparison.Ordinal);
        Assert.DoesNotContain("cannot", content.Summary, StringComparison.Ordinal);
        Assert.DoesNotContain("Move it off", content.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void A_power_on_step_that_missed_its_deadline_is_a_power_on_warning()
    {
        var content = Map(new PowerRunStepFailed(Guid.NewGuid(), "cluster1", "vm-power-on", "vm-02-001", "NotRestored", "its host esx-02 is not back", At));

        Assert.Equal(Severity.Warning, content.Severity);
        Assert.Equal("Power-on step NotRestored: vm-02-001", content.Title);
    }

    [Fact]
    public void A_started_power_on_is_info_naming_hosts_and_vms()
    {
        var content = Map(new PowerRestoreStarted(Guid.NewGuid(), "cluster1", "room-a", ["esx-01", "esx-02"], 7, ["infrastructure", "apps"], At));

        Assert.Equal(Severity.Info, content.Severity);
        Assert.Equal("POWER-ON STARTED: cluster cluster1", content.Title);
        Assert.Contains("2 host(s), then 7 VM(s)", content.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void A_power_on_missing_a_host_is_critical_missing_only_vms_a_warning_complete_info()
    {
        var hostMissing = Map(new PowerRestoreCompleted(Guid.NewGuid(), "cluster1", ["host esx-02: not powered on: credentials rejected"], ["vm-power-on vm-1: NotRestored"], false, At, At.AddMinutes(4)));
        var vmMissing = Map(new PowerRestoreCompleted(Guid.NewGuid(), "cluster1", [], ["vm-power-on vm-1: Failed"], false, At, At.AddMinutes(4)));
        var complete = Map(new PowerRestoreCompleted(Guid.NewGuid(), "cluster1", [], [], false, At, At.AddMinutes(4)));
        var interrupted = Map(new PowerRestoreCompleted(Guid.NewGuid(), "cluster1", ["host esx-03: not restored"], [], true, At, At.AddMinutes(1)));

        Assert.Equal(Severity.Critical, hostMissing.Severity);
        Assert.Contains(hostMissing.Facts, f => f.Value == "host esx-02: not powered on: credentials rejected");
        Assert.Equal(Severity.Warning, vmMissing.Severity);
        Assert.Equal(Severity.Info, complete.Severity);
        Assert.Equal(Severity.Warning, interrupted.Severity);
        Assert.Contains("INTERRUPTED", interrupted.Title, StringComparison.Ordinal);
    }
}
