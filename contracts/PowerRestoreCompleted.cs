namespace PowerEvents.Contracts;

/// <summary>The power-on of a cluster ended: every host and VM is back, given up on, or the alarm came back.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Cluster">The vCenter cluster.</param>
/// <param name="HostsNotRestored">Hosts not back (<c>host name: why</c>): BMC failed, not connected in time, still in maintenance mode.</param>
/// <param name="VmsNotRestored">VMs that were running before and are not again (<c>vm-power-on name: why</c>).</param>
/// <param name="Interrupted">The alarm rose again: power-on stopped and the shutdown runs again.</param>
/// <param name="StartedAt">When the power-on began.</param>
/// <param name="CompletedAt">When it ended.</param>
public sealed record PowerRestoreCompleted(
    Guid RunId,
    string Cluster,
    IReadOnlyList<string> HostsNotRestored,
    IReadOnlyList<string> VmsNotRestored,
    bool Interrupted,
    DateTimeOffset StartedAt,
    DateTimeOffset CompletedAt);
