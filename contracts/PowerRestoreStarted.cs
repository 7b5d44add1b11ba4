namespace PowerEvents.Contracts;

/// <summary>The power saga began bringing a cluster back after its alarm cleared and the minimum off time passed.</summary>
/// <param name="RunId">The shutdown run being undone; every power-on step's command and outcome carries it.</param>
/// <param name="Cluster">The vCenter cluster.</param>
/// <param name="Zone">The zone whose alarm had shut it down.</param>
/// <param name="Hosts">Hosts to power on through their BMCs.</param>
/// <param name="VmsToRestore">VMs that were running before the shutdown and will be powered on again (only these).</param>
/// <param name="Tiers">The tier names in power-on order (the shutdown's, reversed).</param>
/// <param name="StartedAt">When the first host power-on was asked.</param>
public sealed record PowerRestoreStarted(
    Guid RunId,
    string Cluster,
    string Zone,
    IReadOnlyList<string> Hosts,
    int VmsToRestore,
    IReadOnlyList<string> Tiers,
    DateTimeOffset StartedAt);
