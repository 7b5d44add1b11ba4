namespace PowerEvents.Contracts;

/// <summary>One reason in a <see cref="ClusterReadinessAssessed"/>.</summary>
/// <param name="Check">Which rule found it: <c>vm-tools</c>, <c>host-power-on</c>, <c>vcenter</c>, <c>cluster-settings</c>,
/// <c>lockdown</c>, <c>sensors</c>, <c>preflight</c>, <c>observed</c>, <c>run</c>.</param>
/// <param name="Level"><c>not-ready</c>, <c>degraded</c> or <c>info</c> (what a run will do; no effect on the grade).</param>
/// <param name="Subject">What it is about (a host, a VM list, a zone, a check).</param>
/// <param name="Finding">What was found, one line.</param>
/// <param name="Action">What the operator should do about it (empty for info that needs nothing).</param>
public sealed record ReadinessFinding(
    string Check,
    string Level,
    string Subject,
    string Finding,
    string Action);
