namespace PowerEvents.Contracts;

/// <summary>A change a run makes to the cluster before the host steps (vCLS, HA, DRS, vSAN mode).</summary>
/// <param name="Step">The step that makes it (<c>vcls-retreat</c>, <c>ha-drs-disable</c>, <c>vsan-resync</c>, <c>vsan-maintenance</c>).</param>
/// <param name="Change">What it changes, one line.</param>
public sealed record PlanChange(
    string Step,
    string Change);
