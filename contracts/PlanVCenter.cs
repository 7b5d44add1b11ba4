namespace PowerEvents.Contracts;

/// <summary>Where vCenter's own VM runs on the protected cluster, and how its host is finished and brought back.</summary>
/// <param name="Vm">vCenter's VM.</param>
/// <param name="Host">The host it runs on.</param>
/// <param name="LockdownMode">That host's lockdown mode as vCenter reports it; null when unknown.</param>
/// <param name="EsxiLogin">The check of the login the run needs on that host (<c>Accepted</c>, <c>NoCredentials</c>, <c>Refused</c>,
/// <c>LockdownMode</c>, <c>Unreachable</c>); null: not checked.</param>
/// <param name="Shutdown">How the shutdown ends with it, one sentence.</param>
/// <param name="PowerOn">How the power-on brings it back, one sentence.</param>
public sealed record PlanVCenter(
    string Vm,
    string Host,
    string? LockdownMode,
    string? EsxiLogin,
    string Shutdown,
    string PowerOn);
