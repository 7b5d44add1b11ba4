namespace PowerEvents.Contracts;

/// <summary>
/// The Notifier finished with one alert for one destination: delivered, or given up after its retries (then kept as a
/// failed delivery). Published for the Console's list of deliveries; never carries the destination's URL or secret.
/// </summary>
/// <param name="Destination">The destination's configured name.</param>
/// <param name="AlertId">The alert's id (the <c>id</c> a generic receiver sees).</param>
/// <param name="EventType">The event the alert came from, e.g. <c>AlarmRaised</c>.</param>
/// <param name="Severity"><c>info</c>, <c>warning</c> or <c>critical</c>.</param>
/// <param name="Title">The alert's title.</param>
/// <param name="Delivered">True when the destination accepted it.</param>
/// <param name="Attempts">HTTP attempts made.</param>
/// <param name="StatusCode">The last HTTP status, if any answer came.</param>
/// <param name="Error">Why it failed (the receiver's answer, cut short); null when delivered.</param>
/// <param name="CompletedAt">When the Notifier finished with it.</param>
public sealed record WebhookDelivered(
    string Destination,
    Guid AlertId,
    string EventType,
    string Severity,
    string Title,
    bool Delivered,
    int Attempts,
    int? StatusCode,
    string? Error,
    DateTimeOffset CompletedAt);
