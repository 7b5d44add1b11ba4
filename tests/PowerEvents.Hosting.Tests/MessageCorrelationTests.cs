using PowerEvents.Contracts;
using PowerEvents.Hosting;
using Xunit;

namespace PowerEvents.Hosting.Tests;

public sealed class MessageCorrelationTests
{
    [Fact]
    public void A_run_command_correlates_by_its_RunId()
    {
        var runId = Guid.NewGuid();

        Assert.Equal(runId, MessageCorrelation.Find(new HostShutdownRequested(runId, "cluster-a", "esx-01")));
    }

    [Fact]
    public void An_alarm_correlates_by_its_AlarmId()
    {
        var alarmId = Guid.NewGuid();

        Assert.Equal(alarmId, MessageCorrelation.Find(new AlarmRaised(alarmId, "hall-a", DateTimeOffset.UtcNow, 35, [])));
    }

    [Fact]
    public void A_message_without_a_correlating_property_or_with_an_empty_id_has_none()
    {
        Assert.Null(MessageCorrelation.Find(new TemperatureSampled("s", "x", "z", 20, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow)));
        Assert.Null(MessageCorrelation.Find(new PowerOnRequested(Guid.Empty, "cluster-a", "esx-01")));
    }
}
