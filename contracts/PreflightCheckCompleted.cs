namespace PowerEvents.Contracts;

/// <summary>
/// One preflight check ran: a read-only proof that something the protection needs on the day still works
/// (a BMC login and power-state read, a sensor source's credentials, a webhook destination's reachability).
/// Published for every run of every check; the Notifier alerts on a change and reminds while it keeps failing.
/// </summary>
/// <param name="Service">The service that ran the check (e.g. <c>ilo-actuator</c>).</param>
/// <param name="Kind">What was checked: <c>bmc</c>, <c>sensor-source</c>, <c>webhook</c>, …</param>
/// <param name="Target">The configured name of what was checked (a host, a source, a destination); never a URL with secrets.</param>
/// <param name="Ok">True when the check passed.</param>
/// <param name="Reason">What was found, one line for an operator (the power state, the failure); never a credential.</param>
/// <param name="CheckedAt">When the check finished.</param>
/// <param name="Clusters">The protected clusters the target serves (a vCenter's clusters, the cluster of an ESXi host), as the
/// checking service is configured; empty when it serves no one cluster in particular (a BMC, a source, a webhook) or is not known.
/// The Notifier keeps failures of these quiet while PowerEvents itself has the cluster powered off.</param>
public sealed record PreflightCheckCompleted(
    string Service,
    string Kind,
    string Target,
    bool Ok,
    string Reason,
    DateTimeOffset CheckedAt,
    IReadOnlyList<string>? Clusters = null);
