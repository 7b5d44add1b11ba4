using System.Text.Json;

namespace PowerEvents.Notifier.Alerts;

/// <summary>
/// One event turned into an operator alert: what every format renders. Built by <see cref="AlertConsumer{TEvent}"/>
/// from the event's <see cref="AlertContent"/> plus the envelope (message id, correlation).
/// </summary>
/// <param name="Id">The id of the first bus message that carried this fact (the delivery id receivers see).</param>
/// <param name="Fact">What the alert says, as a key: event type, run (or alarm episode), target and outcome, e.g.
/// <c>HostPoweredOff/&lt;run&gt;/esx-01/off</c>. The same fact replayed under new message ids is alerted once.</param>
/// <param name="EventType">The contract's name, e.g. <c>AlarmRaised</c>.</param>
/// <param name="Details">The event itself as JSON (camelCase), for machines; <paramref name="Facts"/> are for people.</param>
public sealed record Alert(
    Guid Id,
    string Fact,
    string EventType,
    Severity Severity,
    string Title,
    string Summary,
    DateTimeOffset OccurredAt,
    string? Site,
    string? Cluster,
    string? Zone,
    Guid? RunId,
    Guid? CorrelationId,
    IReadOnlyList<AlertFact> Facts,
    JsonElement Details);

/// <summary>A labelled value shown to people (a Slack field, a Teams fact, a Discord embed field).</summary>
public sealed record AlertFact(string Label, string Value);

/// <summary>The part of an alert that depends on the event: what an entry in <see cref="AlertCatalog"/> returns.</summary>
public sealed record AlertContent(Severity Severity, string Title, string Summary, DateTimeOffset OccurredAt)
{
    /// <summary>
    /// Identifies the fact within its event type (run or alarm, target, outcome; never a timestamp the sender
    /// stamps anew on a retry, except for events that have no other identity). A replay (a restarted saga
    /// re-asking a step, an actuator answering "already off") carries the same fact and is not alerted again.
    /// </summary>
    public required string Fact { get; init; }


    public string? Cluster { get; init; }
    public string? Zone { get; init; }
    public Guid? RunId { get; init; }
    public IReadOnlyList<AlertFact> Facts { get; init; } = [];
}
