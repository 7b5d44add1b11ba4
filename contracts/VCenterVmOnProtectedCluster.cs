namespace PowerEvents.Contracts;

/// <summary>
/// vCenter's own VM runs on the cluster being shut down: it goes last, and after it vCenter cannot carry out the
/// host steps. Full handling of this case is a later issue; operators must know now.
/// </summary>
/// <param name="RunId">The run (<see cref="Guid.Empty"/> for a plan preview).</param>
/// <param name="Cluster">The vCenter cluster.</param>
/// <param name="VmName">The vCenter VM.</param>
/// <param name="Host">The host it runs on.</param>
/// <param name="DetectedAt">When the inventory showed it.</param>
public sealed record VCenterVmOnProtectedCluster(
    Guid RunId,
    string Cluster,
    string VmName,
    string Host,
    DateTimeOffset DetectedAt);
