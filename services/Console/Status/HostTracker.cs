namespace PowerEvents.Console.Status;

/// <summary>
/// One host's inputs to the status model over time: the desired status and the last two heartbeats. The events on the
/// bus are turned into heartbeats by the read model (BMC PowerState, vCenter's connection, the saga's steps).
/// </summary>
public sealed class HostTracker
{
    public DesiredPower Desired { get; private set; } = DesiredPower.On;
    public DateTimeOffset DesiredChangedAt { get; private set; }
    public Heartbeat Previous { get; private set; } = Heartbeat.None;
    public Heartbeat Current { get; private set; } = Heartbeat.None;
    public DateTimeOffset? HeartbeatAt { get; private set; }
    public ActualStatus? LastTransitionStatus { get; private set; }

    /// <summary>A host first seen (inventory) is taken as settled: on and wanted on, or stopped normally and wanted off.</summary>
    public static HostTracker FirstSeen(bool poweredOn, DateTimeOffset at)
    {
        var tracker = new HostTracker { DesiredChangedAt = at, HeartbeatAt = at };
        if (poweredOn)
        {
            tracker.Desired = DesiredPower.On;
            tracker.Current = Heartbeat.On;
            tracker.Previous = Heartbeat.On;
        }
        else
        {
            tracker.Desired = DesiredPower.Off;
            tracker.Previous = Heartbeat.Stopping;
        }
        return tracker;
    }

    public void SetDesired(DesiredPower desired, DateTimeOffset at)
    {
        if (desired == Desired)
            return;
        Desired = desired;
        DesiredChangedAt = at;
        LastTransitionStatus = null;
    }

    /// <summary>
    /// A heartbeat: the last two are kept. Silence after silence is one absence, not two reports (the seed's
    /// "None が連続で報告されることはない"), so it does not shift. ManuallyON turns the desired status ON, as the seed asks.
    /// </summary>
    public ActualStatus Report(Heartbeat heartbeat, DateTimeOffset at, TimeSpan standby)
    {
        if (!(heartbeat == Heartbeat.None && Current == Heartbeat.None))
        {
            Previous = Current;
            Current = heartbeat;
        }
        HeartbeatAt = at;
        var decision = HostStatusModel.Evaluate(Desired, Previous, Current, at - DesiredChangedAt, standby);
        LastTransitionStatus = decision.Actual;
        if (decision.Desired != Desired)
        {
            Desired = decision.Desired;
            DesiredChangedAt = at;
        }
        return decision.Actual;
    }

    /// <summary>The status now: ManuallyON stays shown until the next heartbeat; time-dependent rows are re-evaluated.</summary>
    public StatusDecision StatusAt(DateTimeOffset now, TimeSpan standby)
    {
        if (LastTransitionStatus == ActualStatus.ManuallyOn)
            return new(ActualStatus.ManuallyOn, Desired);
        var changedAfterHeartbeat = HeartbeatAt is null || DesiredChangedAt > HeartbeatAt;
        return HostStatusModel.Evaluate(Desired, Previous, Current, now - DesiredChangedAt, standby, changedAfterHeartbeat);
    }
}
