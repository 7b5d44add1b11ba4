namespace PowerEvents.Contracts;

/// <summary>Command to the BMC actuator: read this host's power state from its BMC, changing nothing (preflight, drills).</summary>
/// <param name="RunId">The run or preflight check this read belongs to.</param>
/// <param name="Cluster">The vCenter cluster the host belongs to.</param>
/// <param name="Host">The host's name as vCenter knows it; the BMC is looked up by it.</param>
public sealed record PowerStateRequested(
    Guid RunId,
    string Cluster,
    string Host);
