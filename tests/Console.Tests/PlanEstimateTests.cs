using PowerEvents.Console.ReadModel;
using PowerEvents.Console.Readiness;
using Xunit;

namespace PowerEvents.Console.Tests;

/// <summary>The console's estimate laid on the saga's plan, stage by stage (<see cref="PlanEstimate"/>).</summary>
public sealed class PlanEstimateTests
{
    static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-12-01T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A real run of the typical cluster: 3 VMs (vcsa last) and 2 hosts; its power-on not measured.</summary>
    static RunView MeasuredShutdown()
    {
        StepView S(double seconds, string stage, string target) => new(T0.AddSeconds(seconds), stage, target, "Done", "");
        return new RunView(Guid.NewGuid(), "cluster-p", "room-p", false, "", T0, T0.AddSeconds(100), [], null, null, [], false,
            [S(30, "vm-shutdown", "app-p1"), S(40, "vm-shutdown", "app-p2"), S(50, "host-maintenance", "esx-p1"), S(70, "host-shutdown", "esx-p1"),
             S(90, "vm-shutdown", "vcsa"), S(100, "host-shutdown", "esx-p2")]);
    }

    [Fact]
    public void Each_kind_gives_its_measured_figure_to_its_first_stage_and_the_totals_add_up()
    {
        var plan = Plans.Typical("cluster-p", "room-p");
        var view = PlanEstimate.Apply(plan, DurationEstimator.Estimate([MeasuredShutdown()], kind => PlanEstimate.StepsOf(plan, kind), new DefaultDurations()));

        Assert.Equal((3, 1, 2, 2), (PlanEstimate.StepsOf(plan, "vm-shutdown"), PlanEstimate.StepsOf(plan, "host-maintenance"),
            PlanEstimate.StepsOf(plan, "host-shutdown"), PlanEstimate.StepsOf(plan, "host-power-on")));
        var shutdown = view.Stages.Where(s => s.Direction == "shutdown").ToList();
        Assert.Equal([1, 2, 3, 4, 5, 6], shutdown.Select(s => s.Order));
        // Guest shutdowns: 40 s to app-p2, then 20 s from esx-p1's shutdown to vcsa's, for all three VMs as measured.
        Assert.Equal(60, shutdown[0].EstimateSeconds);
        Assert.Equal("measured: median of 1 run(s)", shutdown[0].EstimateBasis);
        Assert.Null(shutdown[1].EstimateSeconds);
        Assert.StartsWith("no estimate", shutdown[1].EstimateBasis, StringComparison.Ordinal);
        // One host through vCenter into maintenance, as measured: not scaled to the cluster's two hosts (vCenter's is finished through ESXi).
        Assert.Equal(10, shutdown[2].EstimateSeconds);
        Assert.Null(shutdown[4].EstimateSeconds);
        Assert.Equal("counted in stage 1 (tier apps)", shutdown[4].EstimateBasis);
        Assert.Equal("counted in stage 4 (hosts powered off)", shutdown[5].EstimateBasis);
        Assert.Equal(shutdown.Sum(s => s.EstimateSeconds ?? 0), view.EstimatedShutdownSeconds);
        Assert.Equal(60 + 10 + 30, view.EstimatedShutdownSeconds);
        Assert.StartsWith("measured: median of the last 1 run(s)", view.EstimateBasis, StringComparison.Ordinal);

        var powerOn = view.Stages.Where(s => s.Direction == "power-on").ToList();
        Assert.Equal(TimeSpan.FromMinutes(10).TotalSeconds, powerOn[0].EstimateSeconds);
        Assert.StartsWith("default model", powerOn[0].EstimateBasis, StringComparison.Ordinal);
        Assert.Null(powerOn[1].EstimateSeconds); // vCenter's start: not timed by the console
        Assert.Null(powerOn[4].EstimateSeconds); // the settings put back: not timed either
        Assert.Equal(TimeSpan.FromMinutes(10 + 1 + 3).TotalSeconds, view.EstimatedPowerOnSeconds);
        Assert.Equal(12 * 60, shutdown[0].DeadlineSeconds);
    }

    [Fact]
    public void Without_history_every_estimated_stage_says_default_model()
    {
        var plan = Plans.Typical("cluster-p", "room-p");
        var view = PlanEstimate.Apply(plan, DurationEstimator.Estimate([], 3, 2, new DefaultDurations()));

        Assert.All(view.Stages.Where(s => s.EstimateSeconds is not null), s => Assert.StartsWith("default model", s.EstimateBasis, StringComparison.Ordinal));
        Assert.Equal(TimeSpan.FromMinutes(5 + 2 + 3).TotalSeconds, view.EstimatedShutdownSeconds);
        Assert.StartsWith("default model", view.EstimateBasis, StringComparison.Ordinal);
        Assert.Equal(("vcsa", "esx-p2"), (view.VCenter!.Vm, view.VCenter.Host));
        Assert.Equal(2, view.Changes.Count);
        Assert.Equal(2, view.Restores.Count);
    }
}
