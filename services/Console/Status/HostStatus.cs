namespace PowerEvents.Console.Status;

/// <summary>The power status the system wants a host in (the seed's 電源ステータス).</summary>
public enum DesiredPower { On, Off }

/// <summary>What a host's heartbeat says (the seed's ハートビートステータス); here from the BMC's PowerState and vCenter's connection.</summary>
public enum Heartbeat { None, On, Stopping }

/// <summary>The seed's アクチュアルステータス.</summary>
public enum ActualStatus { On, Off, Starting, StartupDelayed, BeforeStopping, Stopping, ShutdownDelayed, ManuallyOn, Crashed, Unknown }

/// <summary>One evaluation: the actual status, and whether the desired status must change with it (ManuallyON sets it ON).</summary>
public sealed record StatusDecision(ActualStatus Actual, DesiredPower Desired)
{
    /// <summary>Crashed and Unknown need a person (the seed's footer notice).</summary>
    public bool NeedsAttention => Actual is ActualStatus.Crashed or ActualStatus.Unknown
        or ActualStatus.StartupDelayed or ActualStatus.ShutdownDelayed;
}

/// <summary>
/// The seed's status table as a pure function. <paramref name="sinceDesiredChanged"/> is compared with the standby time
/// (待機時間, default 5 min) for the rows that depend on it. <paramref name="desiredChangedAfterHeartbeat"/>: the
/// desired status was set after the current heartbeat arrived — the only way to be Starting/StartupDelayed (desired ON,
/// no heartbeat yet), which the table itself (built on heartbeat transitions) does not list.
/// </summary>
public static class HostStatusModel
{
    public static readonly TimeSpan DefaultStandby = TimeSpan.FromMinutes(5);

    public static StatusDecision Evaluate(
        DesiredPower desired, Heartbeat previous, Heartbeat current,
        TimeSpan sinceDesiredChanged, TimeSpan standby, bool desiredChangedAfterHeartbeat = false)
    {
        var withinStandby = sinceDesiredChanged < standby;
        if (desired == DesiredPower.On && current == Heartbeat.None && desiredChangedAfterHeartbeat)
            return new(withinStandby ? ActualStatus.Starting : ActualStatus.StartupDelayed, desired);

        var actual = (desired, previous, current) switch
        {
            (DesiredPower.On, Heartbeat.On, Heartbeat.On) => ActualStatus.On,
            (DesiredPower.On, Heartbeat.On, Heartbeat.None) => ActualStatus.Crashed,
            (DesiredPower.On, Heartbeat.None, Heartbeat.On) => ActualStatus.On,
            (DesiredPower.Off, Heartbeat.On, Heartbeat.On) => ActualStatus.BeforeStopping,
            // The table lists Stopping for this row; the definitions make any Stopping past the standby time ShutdownDelayed.
            (DesiredPower.Off, Heartbeat.On, Heartbeat.Stopping) => withinStandby ? ActualStatus.Stopping : ActualStatus.ShutdownDelayed,
            (DesiredPower.Off, Heartbeat.On, Heartbeat.None) => ActualStatus.Crashed,
            (DesiredPower.Off, Heartbeat.Stopping, Heartbeat.On) => ActualStatus.ManuallyOn,
            (DesiredPower.Off, Heartbeat.Stopping, Heartbeat.Stopping) => withinStandby ? ActualStatus.Stopping : ActualStatus.ShutdownDelayed,
            (DesiredPower.Off, Heartbeat.Stopping, Heartbeat.None) => ActualStatus.Off,
            (DesiredPower.Off, Heartbeat.None, Heartbeat.On) => ActualStatus.ManuallyOn,
            _ => ActualStatus.Unknown,
        };
        // 管理者が明示的に電源を入れる意思があったと解釈し、自動的に電源ステータスを ON に変更する
        return new(actual, actual == ActualStatus.ManuallyOn ? DesiredPower.On : desired);
    }

    /// <summary>How the UI names a status (ManuallyON is shown as ON with a mark, per the seed: 表記上は ON).</summary>
    public static string Label(ActualStatus status) => status switch
    {
        ActualStatus.On => "ON",
        ActualStatus.Off => "OFF",
        ActualStatus.ManuallyOn => "ManuallyON",
        _ => status.ToString(),
    };
}
