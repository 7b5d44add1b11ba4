namespace PowerEvents.Contracts;

/// <summary>
/// vCenter's own VM runs on the cluster being shut down: it goes last, and after it vCenter cannot carry out the
/// host steps. Where the run knows the VM's host it finishes that host through the host's own ESXi API
/// (<paramref name="HostFinishedViaEsxi"/>); otherwise that host stays on.
/// </summary>
/// <param name="RunId">The run (<see cref="Guid.Empty"/> for a plan preview).</param>
/// <param name="Cluster">The vCenter cluster.</param>
/// <param name="VmName">The vCenter VM.</param>
/// <param name="Host">The host it runs on.</param>
/// <param name="DetectedAt">When the inventory showed it.</param>
/// <param name="HostFinishedViaEsxi">The run's plan finishes <paramref name="Host"/> through its own ESXi API once vCenter's VM is
/// off (false: the plan cannot, e.g. the inventory did not name the host; also what a message from before this field reads as).</param>
public sealed record VCenterVmOnProtectedCluster(
    Guid RunId,
    string Cluster,
    string VmName,
    string Host,
    DateTimeOffset DetectedAt,
    bool HostFinishedViaEsxi = false);
