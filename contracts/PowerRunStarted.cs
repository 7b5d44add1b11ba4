namespace PowerEvents.Contracts;

/// <summary>A protective shutdown of a cluster began: its inventory is captured and the plan is fixed.</summary>
/// <param name="RunId">The run; every step's command and outcome carries it.</param>
/// <param name="Cluster">The vCenter cluster.</param>
/// <param name="Zone">The zone whose alarm started it.</param>
/// <param name="Tiers">The tier names in shutdown order.</param>
/// <param name="VmsToShutDown">VMs that were powered on and will be shut down (the power-on later restores exactly these).</param>
/// <param name="Hosts">Hosts that will go into maintenance mode and be powered off.</param>
/// <param name="DryRun">A drill: the plan is walked and recorded, nothing is sent to vCenter.</param>
/// <param name="StartedAt">When the plan was fixed.</param>
public sealed record PowerRunStarted(
    Guid RunId,
    string Cluster,
    string Zone,
    IReadOnlyList<string> Tiers,
    int VmsToShutDown,
    int Hosts,
    bool DryRun,
    DateTimeOffset StartedAt);
