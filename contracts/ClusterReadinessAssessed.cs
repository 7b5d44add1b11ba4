namespace PowerEvents.Contracts;

/// <summary>
/// The Console graded a cluster's readiness for a protective shutdown and its power-on, from what the bus told it
/// (the cluster as observed, every preflight result, sensor health, past runs). Published when the grade or its
/// findings change (and again after a Console restart); the Notifier alerts only when the grade changes.
/// </summary>
/// <param name="Cluster">The protected cluster's name as configured.</param>
/// <param name="Grade"><c>ready</c>, <c>degraded</c> or <c>not-ready</c>.</param>
/// <param name="Findings">Why, one entry per finding, worst first; each says what the operator should do.</param>
/// <param name="EstimatedShutdown">How long a shutdown of the cluster is expected to take; null when nothing is known of it.</param>
/// <param name="EstimatedPowerOn">How long its power-on is expected to take; null when nothing is known of it.</param>
/// <param name="EstimateBasis">Where the estimates come from, for people: measured runs (how many, how old) or the default model.</param>
/// <param name="AssessedAt">When the Console graded it.</param>
/// <param name="ShutdownMeasured">Every stage of <paramref name="EstimatedShutdown"/> comes from measured runs (none from the
/// default model): the AlarmEvaluator's early warning then uses it instead of its configured <c>EstimatedShutdown</c>.</param>
public sealed record ClusterReadinessAssessed(
    string Cluster,
    string Grade,
    IReadOnlyList<ReadinessFinding> Findings,
    TimeSpan? EstimatedShutdown,
    TimeSpan? EstimatedPowerOn,
    string EstimateBasis,
    DateTimeOffset AssessedAt,
    bool ShutdownMeasured = false);
