namespace PowerEvents.Contracts;

/// <summary>
/// Command to the vCenter actuator: put the cluster into vCLS retreat mode (<c>config.vcls.clusters.&lt;moref&gt;.enabled =
/// false</c>) and wait until its vCLS VMs are off or gone. Before the host steps.
/// </summary>
/// <param name="RunId">The run this step belongs to.</param>
/// <param name="Cluster">The vCenter cluster.</param>
/// <param name="Timeout">How long to wait for the vCLS VMs to go; null: the actuator's <c>VCenter:VclsRetreatTimeout</c>.</param>
public sealed record VclsRetreatRequested(
    Guid RunId,
    string Cluster,
    TimeSpan? Timeout = null);
