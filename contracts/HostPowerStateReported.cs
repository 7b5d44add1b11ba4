namespace PowerEvents.Contracts;

/// <summary>The BMC actuator's answer to one <see cref="PowerStateRequested"/>.</summary>
/// <param name="RunId">The run or check the request belonged to.</param>
/// <param name="Cluster">The cluster, as in the request.</param>
/// <param name="Host">The host, as in the request.</param>
/// <param name="Reachable">True when the BMC answered with the configured credentials.</param>
/// <param name="PowerState">The Redfish <c>PowerState</c> (<c>On</c>, <c>Off</c>, <c>PoweringOn</c>, <c>PoweringOff</c>…), or <c>Unknown</c>.</param>
/// <param name="Reason">Why the state is unknown when it is; empty otherwise.</param>
/// <param name="ReportedAt">When the BMC was read.</param>
public sealed record HostPowerStateReported(
    Guid RunId,
    string Cluster,
    string Host,
    bool Reachable,
    string PowerState,
    string Reason,
    DateTimeOffset ReportedAt);
