namespace PowerEvents.Contracts;

/// <summary>The BMC actuator's answer to one <see cref="PowerOnRequested"/>.</summary>
/// <param name="RunId">The run the request belonged to.</param>
/// <param name="Cluster">The cluster, as in the request.</param>
/// <param name="Host">The host, as in the request.</param>
/// <param name="Outcome">Powered on, already on, Wake-on-LAN sent, or failed.</param>
/// <param name="Reason">What happened, in words an operator can act on (for a failure: why, naming the host and BMC; never a secret).</param>
/// <param name="Method">How the host was addressed: <c>redfish</c>, <c>wake-on-lan</c>, or <c>none</c>.</param>
/// <param name="CompletedAt">When the actuator finished with the request.</param>
public sealed record HostPowerOnCompleted(
    Guid RunId,
    string Cluster,
    string Host,
    PowerOnOutcome Outcome,
    string Reason,
    string Method,
    DateTimeOffset CompletedAt);
