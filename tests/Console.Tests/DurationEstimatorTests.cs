using PowerEvents.Console.ReadModel;
using PowerEvents.Console.Readiness;
using Xunit;

namespace PowerEvents.Console.Tests;

/// <summary>Estimates from the timestamps of a run's outcome events.</summary>
public sealed class DurationEstimatorTests
{
    static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-12-01T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
    static readonly DefaultDurations Defaults = new();

    /// <summary>Two VMs down in 60 s, two hosts in maintenance by 90 s, off by 150/170 s; power-on: BMC 200/240 s, exit 250/260 s, VMs 290/300 s.</summary>
    static RunView Run(DateTimeOffset start, bool dryRun = false, bool restored = true, double scale = 1)
    {
        StepView S(double seconds, string stage, string target) => new(start.AddSeconds(seconds * scale), stage, target, "Done", "");
        var restore = start.AddSeconds(1000 * scale);
        StepView R(double seconds, string stage, string target) => new(restore.AddSeconds(seconds * scale), stage, target, "Done", "");
        return new RunView(Guid.NewGuid(), "c1", "room", dryRun, "", start, start.AddSeconds(170 * scale), [],
            restored ? restore : null, restored ? restore.AddSeconds(300 * scale) : null, [], false,
            [S(40, "vm-shutdown", "db-1"), S(60, "vm-shutdown", "web-1"), S(80, "host-maintenance", "esx-1"), S(90, "host-maintenance", "esx-2"),
             S(150, "host-shutdown", "esx-1"), S(170, "host-shutdown", "esx-2"),
             .. restored ? new[] { R(200, "host-power-on", "esx-1"), R(240, "host-power-on", "esx-2"), R(250, "host-exit-maintenance", "esx-1"), R(260, "host-exit-maintenance", "esx-2"),
                R(290, "vm-power-on", "db-1"), R(300, "vm-power-on", "web-1") } : []]);
    }

    [Fact]
    public void Each_stage_is_measured_from_the_previous_stages_last_outcome()
    {
        var stages = DurationEstimator.Measure(Run(T0));
        Assert.Equal(60, stages["vm-shutdown"].Stage);
        Assert.Equal(30, stages["host-maintenance"].Stage);
        Assert.Equal(80, stages["host-shutdown"].Stage);
        Assert.Equal(75, stages["host-shutdown"].PerItem); // esx-1 70 s, esx-2 80 s after its own maintenance outcome
        Assert.Equal(240, stages["host-power-on"].Stage);
        Assert.Equal(220, stages["host-power-on"].PerItem);
        Assert.Equal(20, stages["host-exit-maintenance"].Stage);
        Assert.Equal(40, stages["vm-power-on"].Stage);
    }

    [Fact]
    public void A_cluster_without_runs_gets_the_default_model_and_says_so()
    {
        var estimate = DurationEstimator.Estimate([], 10, 3, Defaults);
        Assert.Equal(Defaults.VmGuestShutdown + Defaults.HostMaintenance + Defaults.HostShutdown, estimate.Shutdown);
        Assert.Equal(Defaults.BmcBoot + Defaults.HostExitMaintenance + Defaults.VmPowerOn, estimate.PowerOn);
        Assert.StartsWith("default model", estimate.Basis, StringComparison.Ordinal);
        Assert.All(estimate.Kinds, k => Assert.Equal("default", k.Basis));
    }

    [Fact]
    public void Drills_say_nothing_about_durations()
    {
        var estimate = DurationEstimator.Estimate([Run(T0, dryRun: true)], 2, 2, Defaults);
        Assert.StartsWith("default model", estimate.Basis, StringComparison.Ordinal);
    }

    [Fact]
    public void The_estimate_is_the_median_of_the_last_runs_with_the_basis_shown()
    {
        var estimate = DurationEstimator.Estimate([Run(T0), Run(T0.AddDays(1), scale: 2), Run(T0.AddDays(2), scale: 10)], 2, 2, Defaults);
        Assert.Equal(TimeSpan.FromSeconds(170 * 2), estimate.Shutdown);
        Assert.Equal(TimeSpan.FromSeconds(300 * 2), estimate.PowerOn);
        Assert.Contains("median of the last 3 run(s)", estimate.Basis, StringComparison.Ordinal);
        Assert.All(estimate.Kinds, k => Assert.Equal(("history", 3), (k.Basis, k.Samples)));
    }

    [Fact]
    public void A_shutdown_never_powered_on_again_measures_the_shutdown_only()
    {
        var estimate = DurationEstimator.Estimate([Run(T0, restored: false)], 2, 2, Defaults);
        Assert.Equal(TimeSpan.FromSeconds(170), estimate.Shutdown);
        Assert.Equal(Defaults.BmcBoot + Defaults.HostExitMaintenance + Defaults.VmPowerOn, estimate.PowerOn);
        Assert.Contains("default model for BMC boot", estimate.Basis, StringComparison.Ordinal);
    }

    [Fact]
    public void The_shutdown_counts_as_measured_only_when_every_shutdown_stage_was_measured()
    {
        Assert.False(DurationEstimator.ShutdownMeasured(DurationEstimator.Estimate([], 2, 2, Defaults).Kinds));
        Assert.False(DurationEstimator.ShutdownMeasured(DurationEstimator.Estimate([Run(T0, dryRun: true)], 2, 2, Defaults).Kinds));
        // The power-on never measured does not matter to the shutdown.
        Assert.True(DurationEstimator.ShutdownMeasured(DurationEstimator.Estimate([Run(T0, restored: false)], 2, 2, Defaults).Kinds));
    }

    [Fact]
    public void A_measured_shutdown_estimate_that_moves_by_a_minute_is_published_again_a_default_one_is_not()
    {
        IReadOnlyList<PowerEvents.Contracts.ReadinessFinding> findings = [];
        Assert.Equal(ClusterReadiness.Signature("ready", findings, null), ClusterReadiness.Signature("ready", findings, null));
        Assert.Equal(ClusterReadiness.Signature("ready", findings, TimeSpan.FromSeconds(170)), ClusterReadiness.Signature("ready", findings, TimeSpan.FromSeconds(175)));
        Assert.NotEqual(ClusterReadiness.Signature("ready", findings, TimeSpan.FromSeconds(170)), ClusterReadiness.Signature("ready", findings, TimeSpan.FromSeconds(250)));
        Assert.NotEqual(ClusterReadiness.Signature("ready", findings, null), ClusterReadiness.Signature("ready", findings, TimeSpan.FromSeconds(170)));
    }

    [Fact]
    public void A_cluster_grown_since_its_last_run_scales_the_estimate_up_never_down()
    {
        var grown = DurationEstimator.Estimate([Run(T0)], vms: 4, hosts: 2, Defaults);
        Assert.Equal(120, grown.Kinds.Single(k => k.Kind == "vm-shutdown").StageSeconds);
        Assert.Equal(30, grown.Kinds.Single(k => k.Kind == "host-maintenance").StageSeconds);
        var shrunk = DurationEstimator.Estimate([Run(T0)], vms: 1, hosts: 1, Defaults);
        Assert.Equal(60, shrunk.Kinds.Single(k => k.Kind == "vm-shutdown").StageSeconds);
    }

    [Fact]
    public void With_vCenter_on_the_cluster_its_VM_and_host_count_to_their_kinds_and_the_host_stages_keep_their_time()
    {
        // Tenant VMs by 60 s, esx-1 into maintenance by 80 s and off by 150 s, then vcsa off at 200 s, esx-2 (its host) at 260 s.
        StepView S(double seconds, string stage, string target) => new(T0.AddSeconds(seconds), stage, target, "Done", "");
        var run = new RunView(Guid.NewGuid(), "c1", "room", false, "", T0, T0.AddSeconds(260), [], null, null, [], false,
            [S(40, "vm-shutdown", "db-1"), S(60, "vm-shutdown", "web-1"), S(80, "host-maintenance", "esx-1"), S(150, "host-shutdown", "esx-1"),
             S(200, "vm-shutdown", "vcsa"), S(260, "host-shutdown", "esx-2")]);

        var stages = DurationEstimator.Measure(run);

        Assert.Equal(60 + 50, stages["vm-shutdown"].Stage);
        Assert.Equal(20, stages["host-maintenance"].Stage);
        Assert.Equal(70 + 60, stages["host-shutdown"].Stage);
        Assert.Equal(260, stages.Values.Sum(s => s.Stage));
        Assert.Equal(3, stages["vm-shutdown"].Items);
    }
}
