namespace PowerEvents.Contracts;

/// <summary>What a run may change on a cluster, as it was when the inventory was read.</summary>
/// <param name="ClusterId">The cluster's managed object id (e.g. <c>domain-c7</c>); the vCLS setting's key is built from it.</param>
/// <param name="HaDrs">HA and DRS.</param>
/// <param name="VsanEnabled"><c>configurationEx.vsanConfigInfo.enabled</c>: maintenance mode uses <c>noAction</c>, resync is checked.</param>
/// <param name="HasVcls">vCLS VMs run in the cluster (retreat mode is needed before the host steps; none with embedded vCLS).</param>
/// <param name="VclsEnabledSetting">vCenter's advanced setting <c>config.vcls.clusters.&lt;ClusterId&gt;.enabled</c> as it
/// was; null when it did not exist (vCenter's default: vCLS on).</param>
/// <param name="VCenterApiVersion">vCenter's <c>about.apiVersion</c> (e.g. <c>7.0.3.0</c>): whether it offers vSAN's cluster
/// power API (vSAN 7.0 U3+); null from an actuator that did not report it.</param>
public sealed record ClusterSettings(
    string ClusterId,
    ClusterHaDrsSettings HaDrs,
    bool VsanEnabled,
    bool HasVcls,
    string? VclsEnabledSetting,
    string? VCenterApiVersion = null);
