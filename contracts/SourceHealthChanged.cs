namespace PowerEvents.Contracts;

/// <summary>
/// A sensor source started failing (<paramref name="Healthy"/> false) or recovered (true). Published on the
/// change only; a source that keeps failing is not re-announced on every poll.
/// </summary>
/// <param name="Source">Configured name of the source.</param>
/// <param name="Healthy">False: the source failed or delivered data that was rejected. True: it recovered.</param>
/// <param name="Problems">What is wrong, one line per problem (empty when healthy).</param>
/// <param name="ChangedAt">When the poller noticed the change.</param>
public sealed record SourceHealthChanged(
    string Source,
    bool Healthy,
    IReadOnlyList<string> Problems,
    DateTimeOffset ChangedAt);
