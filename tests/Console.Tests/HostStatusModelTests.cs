using PowerEvents.Console.Status;
using Xunit;
using static PowerEvents.Console.Status.ActualStatus;
using H = PowerEvents.Console.Status.Heartbeat;

namespace PowerEvents.Console.Tests;

/// <summary>The seed's table (各ステータスの関係性), one case per row, in the table's order.</summary>
public sealed class HostStatusModelTests
{
    static readonly TimeSpan Standby = HostStatusModel.DefaultStandby;
    static readonly TimeSpan Within = TimeSpan.FromMinutes(1);
    static readonly TimeSpan After = TimeSpan.FromMinutes(6);

    public static TheoryData<DesiredPower, Heartbeat, Heartbeat, ActualStatus> Table => new()
    {
        { DesiredPower.On, H.On, H.On, ActualStatus.On },
        { DesiredPower.On, H.On, H.Stopping, Unknown },
        { DesiredPower.On, H.On, H.None, Crashed },
        { DesiredPower.On, H.Stopping, H.On, Unknown },
        { DesiredPower.On, H.Stopping, H.Stopping, Unknown },
        { DesiredPower.On, H.Stopping, H.None, Unknown },
        { DesiredPower.On, H.None, H.On, ActualStatus.On },
        { DesiredPower.On, H.None, H.Stopping, Unknown },
        { DesiredPower.On, H.None, H.None, Unknown },
        { DesiredPower.Off, H.On, H.On, BeforeStopping },
        { DesiredPower.Off, H.On, H.Stopping, ActualStatus.Stopping },
        { DesiredPower.Off, H.On, H.None, Crashed },
        { DesiredPower.Off, H.Stopping, H.On, ManuallyOn },
        { DesiredPower.Off, H.Stopping, H.Stopping, ActualStatus.Stopping }, // within the standby time; after it: see below
        { DesiredPower.Off, H.Stopping, H.None, Off },
        { DesiredPower.Off, H.None, H.On, ManuallyOn },
        { DesiredPower.Off, H.None, H.Stopping, Unknown },
        { DesiredPower.Off, H.None, H.None, Unknown },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void Each_row_of_the_seed_table_gives_its_actual_status(DesiredPower desired, Heartbeat previous, Heartbeat current, ActualStatus expected) =>
        Assert.Equal(expected, HostStatusModel.Evaluate(desired, previous, current, Within, Standby).Actual);

    [Theory]
    [InlineData(H.Stopping)]
    [InlineData(H.On)]
    public void Stopping_beyond_the_standby_time_is_ShutdownDelayed(H previous) =>
        Assert.Equal(ShutdownDelayed, HostStatusModel.Evaluate(DesiredPower.Off, previous, H.Stopping, After, Standby).Actual);

    [Theory]
    [InlineData(DesiredPower.Off, H.Stopping, H.On)]
    [InlineData(DesiredPower.Off, H.None, H.On)]
    public void ManuallyON_sets_the_desired_status_ON(DesiredPower desired, Heartbeat previous, Heartbeat current)
    {
        var decision = HostStatusModel.Evaluate(desired, previous, current, Within, Standby);
        Assert.Equal(ManuallyOn, decision.Actual);
        Assert.Equal(DesiredPower.On, decision.Desired);
        Assert.Equal("ManuallyON", HostStatusModel.Label(decision.Actual));
    }

    [Theory]
    [InlineData(Crashed)]
    [InlineData(Unknown)]
    [InlineData(ShutdownDelayed)]
    [InlineData(StartupDelayed)]
    public void Statuses_that_need_a_person_are_flagged(ActualStatus status) =>
        Assert.True(new StatusDecision(status, DesiredPower.On).NeedsAttention);

    [Theory]
    [InlineData(ActualStatus.On)]
    [InlineData(Off)]
    [InlineData(ActualStatus.Stopping)]
    [InlineData(ManuallyOn)]
    public void Normal_statuses_are_not_flagged(ActualStatus status) =>
        Assert.False(new StatusDecision(status, DesiredPower.On).NeedsAttention);

    [Fact]
    public void Desired_ON_without_a_heartbeat_yet_is_Starting_then_StartupDelayed()
    {
        Assert.Equal(Starting, HostStatusModel.Evaluate(DesiredPower.On, H.Stopping, H.None, Within, Standby, desiredChangedAfterHeartbeat: true).Actual);
        Assert.Equal(StartupDelayed, HostStatusModel.Evaluate(DesiredPower.On, H.Stopping, H.None, After, Standby, desiredChangedAfterHeartbeat: true).Actual);
    }

    [Fact]
    public void A_shutdown_and_a_host_switched_on_by_hand_follow_the_table()
    {
        var t0 = DateTimeOffset.Parse("2026-12-02T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        var host = HostTracker.FirstSeen(poweredOn: true, t0);
        Assert.Equal(ActualStatus.On, host.StatusAt(t0, Standby).Actual);

        host.SetDesired(DesiredPower.Off, t0.AddSeconds(1));
        Assert.Equal(BeforeStopping, host.StatusAt(t0.AddSeconds(2), Standby).Actual);
        Assert.Equal(ActualStatus.Stopping, host.Report(H.Stopping, t0.AddSeconds(30), Standby));
        Assert.Equal(ShutdownDelayed, host.StatusAt(t0.AddMinutes(7), Standby).Actual);
        Assert.Equal(Off, host.Report(H.None, t0.AddMinutes(8), Standby));
        // The BMC keeps saying Off: one absence, not a second None report.
        Assert.Equal(Off, host.Report(H.None, t0.AddMinutes(9), Standby));

        Assert.Equal(ManuallyOn, host.Report(H.On, t0.AddMinutes(20), Standby));
        Assert.Equal(DesiredPower.On, host.Desired);
        Assert.Equal(ManuallyOn, host.StatusAt(t0.AddMinutes(21), Standby).Actual);
        Assert.Equal(ActualStatus.On, host.Report(H.On, t0.AddMinutes(22), Standby));
    }

    [Fact]
    public void A_power_on_is_Starting_until_the_host_answers()
    {
        var t0 = DateTimeOffset.Parse("2026-12-02T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        var host = HostTracker.FirstSeen(poweredOn: false, t0);
        Assert.Equal(Off, host.StatusAt(t0, Standby).Actual);

        host.SetDesired(DesiredPower.On, t0.AddMinutes(1));
        Assert.Equal(Starting, host.StatusAt(t0.AddMinutes(2), Standby).Actual);
        Assert.Equal(StartupDelayed, host.StatusAt(t0.AddMinutes(7), Standby).Actual);
        Assert.Equal(ActualStatus.On, host.Report(H.On, t0.AddMinutes(8), Standby));
    }

    [Fact]
    public void A_host_that_goes_silent_while_on_is_Crashed()
    {
        var t0 = DateTimeOffset.Parse("2026-12-02T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        var host = HostTracker.FirstSeen(poweredOn: true, t0);
        Assert.Equal(Crashed, host.Report(H.None, t0.AddMinutes(1), Standby));
        Assert.True(host.StatusAt(t0.AddMinutes(1), Standby).NeedsAttention);
    }
}
