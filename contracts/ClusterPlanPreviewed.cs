namespace PowerEvents.Contracts;

/// <summary>
/// The answer to <see cref="ClusterPlanPreviewRequested"/>: the plan the saga would run on the cluster now, from a fresh
/// inventory, as ordered stages of both directions, with where vCenter runs and what the run changes and puts back.
/// </summary>
/// <param name="Cluster">The protected cluster's name as configured.</param>
/// <param name="Zone">The zone whose alarm shuts it down.</param>
/// <param name="InventoryCapturedAt">When the inventory the plan is made from was read.</param>
/// <param name="DryRun">The saga is configured to drill only (<c>Power:DryRun</c>): a real alarm would not touch anything.</param>
/// <param name="Stages">The shutdown's stages, then the power-on's, each direction in order.</param>
/// <param name="VCenter">Where vCenter's VM runs and how its host is finished; null when vCenter is not on this cluster.</param>
/// <param name="Changes">What the run changes on the cluster before the host steps.</param>
/// <param name="Restores">How each change is put back after the power-on.</param>
/// <param name="Problems">What would fail during the outage if left as it is (lockdown mode, an ESXi login refused or not configured).</param>
/// <param name="HostsAlreadyOff">Hosts off when the inventory was read (not touched, not powered on).</param>
/// <param name="VmsAlreadyOff">How many VMs were off (not touched, not powered on).</param>
/// <param name="WorstCaseShutdown">The shutdown if every stage ran to its deadline.</param>
public sealed record ClusterPlanPreviewed(
    string Cluster,
    string Zone,
    DateTimeOffset InventoryCapturedAt,
    bool DryRun,
    IReadOnlyList<PlanStage> Stages,
    PlanVCenter? VCenter,
    IReadOnlyList<PlanChange> Changes,
    IReadOnlyList<string> Restores,
    IReadOnlyList<string> Problems,
    IReadOnlyList<string> HostsAlreadyOff,
    int VmsAlreadyOff,
    TimeSpan WorstCaseShutdown);
