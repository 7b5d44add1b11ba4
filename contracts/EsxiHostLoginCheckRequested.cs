namespace PowerEvents.Contracts;

/// <summary>
/// Command to the vCenter actuator (plan preview, preflight): can the host's own API (<c>https://&lt;esxi&gt;/sdk</c>) be logged
/// in to with the configured credentials? Answered to the caller when sent as a request, otherwise published.
/// </summary>
/// <param name="RunId">The run (<see cref="Guid.Empty"/> for a preview).</param>
/// <param name="Cluster">The vCenter cluster (to ask vCenter about lockdown mode when the login is refused).</param>
/// <param name="Host">The host's name as vCenter knows it (the key of <c>VCenter:Hosts</c>).</param>
public sealed record EsxiHostLoginCheckRequested(
    Guid RunId,
    string Cluster,
    string Host);
