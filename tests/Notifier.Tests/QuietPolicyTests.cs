using PowerEvents.Contracts;
using PowerEvents.Notifier.Preflight;
using PowerEvents.Notifier.Quiet;
using PowerEvents.Notifier.Readiness;
using Xunit;

namespace PowerEvents.Notifier.Tests;

/// <summary>What a cluster powered off by PowerEvents itself explains: expected preflight failures and readiness changes, not alerted.</summary>
public sealed class QuietPolicyTests
{
    static readonly DateTimeOffset T0 = new(2026, 12, 3, 10, 0, 0, TimeSpan.Zero);
    static readonly TimeSpan Remind = TimeSpan.FromHours(24);
    static readonly Guid Run = Guid.NewGuid();

    // The run started at minute 10, shut the cluster down by 20, and its power-on completed at minute 60.
    static readonly ClusterOffWindow Restored = new("cluster1", Run, T0.AddMinutes(10), T0.AddMinutes(20), T0.AddMinutes(60));

    static PreflightCheckCompleted Esxi(bool ok, double minutes, IReadOnlyList<string>? clusters = null) =>
        new("vcenter-actuator", "esxi", "esx-02.pe.test", ok, ok ? "logged in" : "Unreachable: connection refused", T0.AddMinutes(minutes), clusters ?? ["cluster1"]);

    static List<PreflightAlertKind> Decide(IEnumerable<ClusterOffWindow> windows, params PreflightCheckCompleted[] results)
    {
        PreflightCheckState? state = null;
        var alerts = new List<PreflightAlertKind>();
        foreach (var result in results)
        {
            var (next, alert) = PreflightAlertPolicy.Decide(state, result, Remind, QuietPolicy.ExplainedBy(result, windows)?.Cluster);
            state = next;
            alerts.Add(alert);
        }
        return alerts;
    }

    [Fact]
    public void A_failure_while_the_cluster_is_off_by_a_run_and_its_recovery_after_the_power_on_are_not_alerted() =>
        Assert.All(Decide([Restored], Esxi(true, 0), Esxi(false, 15), Esxi(false, 30), Esxi(false, 45), Esxi(true, 75)),
            a => Assert.Equal(PreflightAlertKind.None, a));

    [Fact]
    public void A_failure_that_persists_after_the_power_on_completed_is_alerted_once_then_reminded_as_usual() =>
        Assert.Equal([PreflightAlertKind.None, PreflightAlertKind.None, PreflightAlertKind.Failing, PreflightAlertKind.None, PreflightAlertKind.Recovered],
            Decide([Restored], Esxi(true, 0), Esxi(false, 15), Esxi(false, 75), Esxi(false, 90), Esxi(true, 105)));

    [Fact]
    public void A_failure_outside_the_window_is_alerted_as_before() =>
        Assert.Equal([PreflightAlertKind.Failing, PreflightAlertKind.Recovered, PreflightAlertKind.Failing],
            Decide([Restored], Esxi(false, 5), Esxi(true, 7), Esxi(false, 61)));

    [Fact]
    public void Bmc_sensor_source_and_webhook_failures_are_real_even_while_the_cluster_is_off()
    {
        foreach (var kind in new[] { "bmc", "sensor-source", "webhook" })
            Assert.Null(QuietPolicy.ExplainedBy(new PreflightCheckCompleted("x", kind, "esx-02", false, "refused", T0.AddMinutes(30), ["cluster1"]), [Restored]));
        Assert.NotNull(QuietPolicy.ExplainedBy(new PreflightCheckCompleted("x", "vcenter", "127.0.0.1", false, "503", T0.AddMinutes(30), ["cluster1"]), [Restored]));
    }

    [Fact]
    public void A_check_of_another_cluster_or_one_without_clusters_is_not_explained()
    {
        Assert.Null(QuietPolicy.ExplainedBy(Esxi(false, 30, ["cluster2"]), [Restored]));
        Assert.Null(QuietPolicy.ExplainedBy(Esxi(false, 30) with { Clusters = null }, [Restored]));
    }

    [Fact]
    public void A_run_without_power_on_keeps_the_window_open()
    {
        var off = Restored with { EndedAt = null };
        Assert.All(Decide([off], Esxi(true, 0), Esxi(false, 15), Esxi(false, 60 * 24 * 3)), a => Assert.Equal(PreflightAlertKind.None, a));
    }

    [Fact]
    public void A_failure_alerted_before_the_run_is_not_reminded_during_it_and_its_recovery_is_alerted() =>
        Assert.Equal([PreflightAlertKind.Failing, PreflightAlertKind.None, PreflightAlertKind.Recovered],
            Decide([Restored with { EndedAt = T0.AddDays(3) }], Esxi(false, 5), Esxi(false, 60 * 24 * 2), Esxi(true, 60 * 24 * 4)));

    [Fact]
    public void A_new_run_while_the_cluster_is_still_off_keeps_the_window_start()
    {
        var open = Restored with { EndedAt = null };
        var again = QuietPolicy.Opened(open, "cluster1", Guid.NewGuid(), T0.AddHours(5));
        Assert.Equal(open.Since, again.Since);
        var fresh = QuietPolicy.Opened(Restored, "cluster1", Guid.NewGuid(), T0.AddHours(5));
        Assert.Equal(T0.AddHours(5), fresh.Since);
        Assert.Null(fresh.EndedAt);
    }

    static ClusterReadinessAssessed Assessed(string grade, double minutes) => new("cluster1", grade, [], null, null, "default model", T0.AddMinutes(minutes));

    [Fact]
    public void No_readiness_change_is_alerted_while_the_cluster_is_off_and_after_it_only_a_grade_other_than_before()
    {
        ReadinessState? state = null;
        var alerts = new List<bool>();
        foreach (var (grade, minutes) in new[] { ("ready", 0.0), ("not-ready", 30), ("degraded", 45), ("ready", 70), ("degraded", 80) })
        {
            var assessed = Assessed(grade, minutes);
            (state, var alert) = ReadinessAlertPolicy.Decide(state, assessed, QuietPolicy.OffAt("cluster1", assessed.AssessedAt, [Restored]) is not null);
            alerts.Add(alert);
        }
        Assert.Equal([false, false, false, false, true], alerts);
    }

    [Fact]
    public void A_grade_that_differs_after_the_power_on_from_the_one_before_the_run_is_alerted()
    {
        var (before, _) = ReadinessAlertPolicy.Decide(null, Assessed("ready", 0));
        var (during, quiet) = ReadinessAlertPolicy.Decide(before, Assessed("not-ready", 30), offByRun: true);
        var (_, after) = ReadinessAlertPolicy.Decide(during, Assessed("degraded", 70));
        Assert.False(quiet);
        Assert.True(after);
    }
}
