namespace PowerEvents.Contracts;

/// <summary>Outcome of an <see cref="EsxiHostLoginCheckRequested"/>. Never carries a secret.</summary>
/// <param name="Fault">The fault behind any outcome but Accepted, naming the host.</param>
public sealed record EsxiHostLoginChecked(
    Guid RunId,
    string Cluster,
    string Host,
    EsxiLoginOutcome Outcome,
    VCenterFault? Fault,
    DateTimeOffset CheckedAt);
