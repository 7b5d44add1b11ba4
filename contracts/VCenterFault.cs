namespace PowerEvents.Contracts;

/// <summary>A fault vCenter reported (or the transport failure that stood for one) when a step gave up.</summary>
/// <param name="Name">The vSphere fault type, e.g. <c>ToolsUnavailable</c>, <c>InvalidState</c>, <c>NotAuthenticated</c>; for transport failures <c>Unreachable</c> or <c>Timeout</c>.</param>
/// <param name="Message">vCenter's localized message, or the transport error.</param>
public sealed record VCenterFault(
    string Name,
    string Message);
