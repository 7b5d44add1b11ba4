namespace PowerEvents.Contracts;

/// <summary>Outcome of a <see cref="VsanResyncCheckRequested"/>.</summary>
/// <param name="ObjectsToSync">Objects still resyncing at the end (<c>totalObjectsToSync</c>).</param>
/// <param name="BytesToSync">Bytes still to resync (<c>totalBytesToSync</c>).</param>
/// <param name="EtaSeconds">vSAN's estimate of the time left (<c>totalRecoveryETA</c>).</param>
public sealed record VsanResyncChecked(
    Guid RunId,
    string Cluster,
    VsanResyncOutcome Outcome,
    long ObjectsToSync,
    long BytesToSync,
    long EtaSeconds,
    VCenterFault? Fault,
    DateTimeOffset CompletedAt);
