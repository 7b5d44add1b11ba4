using Microsoft.Extensions.Options;
using PowerEvents.AlarmEvaluator.Power;
using PowerEvents.AlarmEvaluator.Zones;
using PowerEvents.Contracts;
using Xunit;

namespace PowerEvents.AlarmEvaluator.Tests;

/// <summary>The measured shutdown estimate per zone that the early warning counts on, from the Console's assessments.</summary>
public sealed class ShutdownEstimatesTests
{
    static readonly TimeSpan Configured = TimeSpan.FromMinutes(15);

    static ShutdownEstimates Estimates() => new(Options.Create(new PowerOptions
    {
        Clusters = [new ClusterOptions { Name = "c1", Zone = "room" }, new ClusterOptions { Name = "c2", Zone = "room" }, new ClusterOptions { Name = "c3", Zone = "lab" }],
    }));

    static ClusterReadinessAssessed Assessed(string cluster, double minutes, bool measured) =>
        new(cluster, "ready", [], TimeSpan.FromMinutes(minutes), TimeSpan.FromMinutes(10), measured ? "measured: …" : "default model: …",
            DateTimeOffset.UnixEpoch, measured);

    [Fact]
    public void Without_measurements_the_configured_estimate_holds()
    {
        var estimates = Estimates();
        Assert.Equal((Configured, false), estimates.For("room", Configured));
        Assert.Equal((Configured, false), estimates.For("a-zone-without-clusters", Configured));
        estimates.Record(Assessed("c3", 2, measured: false));
        Assert.Equal((Configured, false), estimates.For("lab", Configured));
    }

    [Fact]
    public void A_zone_counts_on_its_slowest_cluster_and_an_unmeasured_one_counts_as_configured()
    {
        var estimates = Estimates();
        estimates.Record(Assessed("c1", 4, measured: true));
        Assert.Equal((Configured, false), estimates.For("room", Configured)); // c2 never measured: not assumed faster than configured

        estimates.Record(Assessed("c2", 6, measured: true));
        Assert.Equal((TimeSpan.FromMinutes(6), true), estimates.For("room", Configured));

        estimates.Record(Assessed("c1", 40, measured: true));
        Assert.Equal((TimeSpan.FromMinutes(40), true), estimates.For("room", Configured));
        Assert.Equal((Configured, false), estimates.For("lab", Configured));
    }

    [Fact]
    public void An_assessment_that_is_no_longer_measured_falls_back_to_the_configured_estimate()
    {
        var estimates = Estimates();
        estimates.Record(Assessed("c3", 3, measured: true));
        Assert.Equal((TimeSpan.FromMinutes(3), true), estimates.For("lab", Configured));
        // A measurement equal to the configured figure is still a measurement.
        estimates.Record(Assessed("c3", 15, measured: true));
        Assert.Equal((Configured, true), estimates.For("lab", Configured));
        estimates.Record(Assessed("c3", 3, measured: false));
        Assert.Equal((Configured, false), estimates.For("lab", Configured));
    }
}
