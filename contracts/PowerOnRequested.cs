namespace PowerEvents.Contracts;

/// <summary>Command to the BMC actuator: power this host on through its BMC (or Wake-on-LAN).</summary>
/// <param name="RunId">The shutdown/power-on run this step belongs to.</param>
/// <param name="Cluster">The vCenter cluster the host belongs to.</param>
/// <param name="Host">The host's name as vCenter knows it; the BMC is looked up by it.</param>
public sealed record PowerOnRequested(
    Guid RunId,
    string Cluster,
    string Host);
