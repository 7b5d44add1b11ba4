using PowerEvents.Console.Commands;
using PowerEvents.Console.Schedule;
using Xunit;

namespace PowerEvents.Console.Tests;

public sealed class PowerWindowScheduleTests
{
    static PowerWindow Weekdays(DateOnly? lastOff = null, DateOnly? lastOn = null) => new(1, "cluster-1", PowerWindowSchedule.ParseDays("weekdays"),
        new TimeOnly(23, 0), new TimeOnly(7, 0), true, lastOff, lastOn);

    // 2026-12-02 is a Wednesday, 2026-12-05 a Saturday.
    [Fact]
    public void The_off_time_is_due_once_on_a_weekday()
    {
        var now = new DateTime(2026, 12, 2, 23, 0, 30);
        Assert.Equal([new DueAction(WindowAction.PowerOff, new DateTime(2026, 12, 2, 23, 0, 0))], PowerWindowSchedule.Due(Weekdays(), now));
        Assert.Empty(PowerWindowSchedule.Due(Weekdays(lastOff: new DateOnly(2026, 12, 2), lastOn: new DateOnly(2026, 12, 2)), now));
    }

    [Fact]
    public void Nothing_is_due_at_the_weekend_or_long_after_the_time() 
    {
        Assert.Empty(PowerWindowSchedule.Due(Weekdays(), new DateTime(2026, 12, 5, 7, 1, 0)));
        Assert.Empty(PowerWindowSchedule.Due(Weekdays(lastOff: new DateOnly(2026, 12, 2)), new DateTime(2026, 12, 2, 9, 0, 0)));
        Assert.Empty(PowerWindowSchedule.Due(Weekdays(), new DateTime(2026, 12, 2, 6, 59, 0)));
    }

    [Fact]
    public void The_on_time_is_due_in_the_morning() =>
        Assert.Equal([new DueAction(WindowAction.PowerOn, new DateTime(2026, 12, 2, 7, 0, 0))],
            PowerWindowSchedule.Due(Weekdays(), new DateTime(2026, 12, 2, 7, 5, 0)));

    [Theory]
    [InlineData("Mon,tue", "Mon,Tue")]
    [InlineData("weekend", "Sun,Sat")]
    [InlineData("daily", "Sun,Mon,Tue,Wed,Thu,Fri,Sat")]
    public void Days_are_read_in_words(string text, string formatted) =>
        Assert.Equal(formatted, PowerWindowSchedule.FormatDays(PowerWindowSchedule.ParseDays(text)));

    [Fact]
    public void A_day_that_is_not_one_is_refused() => Assert.Throws<FormatException>(() => PowerWindowSchedule.ParseDays("Mo,Funday"));

    [Fact]
    public void The_cluster_id_is_the_sagas_name_based_id()
    {
        // AlarmEvaluator's PowerIds.ForCluster("cluster-1") (the saga's correlation id), computed independently (Python uuid, bytes_le).
        Assert.Equal(Guid.Parse(SagaIdOfCluster1), ClusterIds.For("cluster-1"));
        Assert.Equal(ClusterIds.For("CLUSTER-1"), ClusterIds.For("cluster-1"));
    }

    const string SagaIdOfCluster1 = "03bcfc1e-7716-5b8c-a270-571cf32e7f4c";
}
