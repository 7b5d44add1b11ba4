namespace PowerEvents.Contracts;

/// <summary>A cluster's HA and DRS settings, as read before a run changed them (what a restore puts back).</summary>
/// <param name="HaEnabled"><c>configurationEx.dasConfig.enabled</c>.</param>
/// <param name="AdmissionControlEnabled"><c>configurationEx.dasConfig.admissionControlEnabled</c>.</param>
/// <param name="DrsEnabled"><c>configurationEx.drsConfig.enabled</c>.</param>
/// <param name="DrsBehavior"><c>configurationEx.drsConfig.defaultVmBehavior</c>: manual, partiallyAutomated, fullyAutomated
/// (empty when vCenter does not say).</param>
public sealed record ClusterHaDrsSettings(
    bool HaEnabled,
    bool AdmissionControlEnabled,
    bool DrsEnabled,
    string DrsBehavior);
