namespace PowerEvents.Contracts;

/// <summary>One stage of a planned shutdown or power-on, in a <see cref="ClusterPlanPreviewed"/>.</summary>
/// <param name="Direction"><c>shutdown</c> or <c>power-on</c>.</param>
/// <param name="Order">1, 2, … within its direction, in the order the run carries the stages out.</param>
/// <param name="Kind">What kind of step it holds, as the run's step events name it: <c>vm-shutdown</c>, <c>cluster-prepare</c>,
/// <c>host-maintenance</c>, <c>host-shutdown</c>, <c>host-power-on</c>, <c>vcenter-start</c>, <c>host-exit-maintenance</c>,
/// <c>vm-power-on</c>, <c>cluster-restore</c>.</param>
/// <param name="Name">The stage in a few words (<c>tier apps</c>, <c>vCLS retreat</c>, <c>esx-02 through its ESXi API</c>).</param>
/// <param name="Does">What it does, one line.</param>
/// <param name="Steps">How many steps (VMs, hosts, settings) it has.</param>
/// <param name="Targets">The steps' targets, at most the first 20 (VM or host names, settings).</param>
/// <param name="Deadline">The stage's deadline as configured; null where it has none of its own.</param>
public sealed record PlanStage(
    string Direction,
    int Order,
    string Kind,
    string Name,
    string Does,
    int Steps,
    IReadOnlyList<string> Targets,
    TimeSpan? Deadline);
