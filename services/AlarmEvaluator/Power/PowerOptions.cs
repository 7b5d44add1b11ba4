using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;

namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>The power saga's configuration (section <c>Power</c>): the protected clusters and how they go down.</summary>
public sealed class PowerOptions : IValidatableObject
{
    public const string Section = "Power";

    /// <summary>The protected clusters; one saga instance each.</summary>
    public List<ClusterOptions> Clusters { get; set; } = [];

    /// <summary>A drill: inventory is read and the plan walked and recorded, but no step is sent to vCenter.</summary>
    public bool DryRun { get; set; }

    /// <summary>How often the deadline watchdog looks for steps whose deadline passed.</summary>
    public TimeSpan DeadlinePollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How many times a failed VM or host step is asked again (steps are idempotent) before the saga moves on.</summary>
    [Range(0, 10)]
    public int StepRetries { get; set; } = 1;

    public ClusterOptions? FindCluster(string name) =>
        Clusters.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase));

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (DeadlinePollInterval <= TimeSpan.Zero)
            yield return new ValidationResult("must be positive", [nameof(DeadlinePollInterval)]);
        var duplicate = Clusters.GroupBy(c => c.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            yield return new ValidationResult($"cluster '{duplicate.Key}' is configured twice", [nameof(Clusters)]);
    }
}

/// <summary>One protected vCenter cluster and the zone whose alarm shuts it down.</summary>
public sealed class ClusterOptions : IValidatableObject
{
    /// <summary>The vCenter cluster, as the actuator finds it (<c>cluster1</c> or <c>dc1/cluster1</c>).</summary>
    [Required]
    public string Name { get; set; } = "";

    /// <summary>The sensing zone whose <c>AlarmRaised</c> starts the shutdown.</summary>
    [Required]
    public string Zone { get; set; } = "";

    /// <summary>Shutdown tiers in order. A VM goes into the first tier whose patterns or folders match it.</summary>
    public List<TierOptions> Tiers { get; set; } = [];

    /// <summary>The tier that takes VMs no tier matches; empty: an implicit tier named <c>default</c>, shut down first.</summary>
    public string DefaultTier { get; set; } = "";

    /// <summary>VM name patterns (regular expressions) of infrastructure VMs (DNS, storage, firewalls): shut down after every tier.</summary>
    public List<string> InfrastructureVmPatterns { get; set; } = [];

    /// <summary>Most VM shutdowns in flight at once within a tier.</summary>
    [Range(1, 1000)]
    public int MaxParallelPerTier { get; set; } = 8;

    /// <summary>Passed to the actuator with each VM: after this the guest is powered off hard.</summary>
    public TimeSpan GuestShutdownTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A tier's deadline: when it passes, VMs not yet asked are powered off hard and the next tier starts.</summary>
    public TimeSpan TierDeadline { get; set; } = TimeSpan.FromMinutes(12);

    /// <summary>Deadline for every host to report entering maintenance mode.</summary>
    public TimeSpan MaintenanceDeadline { get; set; } = TimeSpan.FromMinutes(12);

    /// <summary>Deadline for every host to report powered off.</summary>
    public TimeSpan HostShutdownDeadline { get; set; } = TimeSpan.FromMinutes(12);

    /// <summary>Deadline for the inventory answer (asked again up to <c>Power:StepRetries</c> times).</summary>
    public TimeSpan InventoryDeadline { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Power the cluster on again by itself once the alarm has cleared; false leaves it off for an operator.</summary>
    public bool PowerOnAfterClear { get; set; } = true;

    /// <summary>Each stage of cluster-wide steps (vCLS retreat + HA/DRS; vSAN resync check; HA/DRS + vCLS restore) gets this long
    /// (the actuator's own VclsRetreatTimeout and VsanResyncTimeout are shorter).</summary>
    public TimeSpan ClusterStepDeadline { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Finishing vCenter's host through its ESXi API (waiting for its VMs, maintenance, shutdown).</summary>
    public TimeSpan EsxiHostShutdownDeadline { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>vCenter's VM powered on through its host's ESXi API until vCenter answers and sees the hosts (the actuator's VCenterStartTimeout is shorter).</summary>
    public TimeSpan VCenterStartDeadline { get; set; } = TimeSpan.FromMinutes(20);

    /// <summary>vCenter's own VM may be powered off hard when its tier's deadline passes; off: it is left to its guest shutdown.</summary>
    public bool VCenterHardPowerOff { get; set; }

    /// <summary>
    /// On a vSAN cluster, whether the hosts (and vCenter's VM) go down and back through vSAN's cluster power API (vSAN 7.0 U3+,
    /// <see cref="VsanClusterPowerSteps"/>) instead of per-host steps: <c>auto</c> (default: where vCenter offers it and no host
    /// was in maintenance mode before the run, <see cref="VsanClusterPowerSteps.Decide"/>), <c>always</c>/<c>on</c>/<c>true</c>,
    /// <c>never</c>/<c>off</c>/<c>false</c> (the last two of each: the former boolean key's values).
    /// </summary>
    public string UseVsanClusterPowerApi { get; set; } = "auto";

    /// <summary><see cref="UseVsanClusterPowerApi"/> read; <see cref="VsanClusterPowerApiMode.Auto"/> for a value validation refuses.</summary>
    public VsanClusterPowerApiMode VsanClusterPowerApi => ParseVsanClusterPowerApi(UseVsanClusterPowerApi) ?? VsanClusterPowerApiMode.Auto;

    public static VsanClusterPowerApiMode? ParseVsanClusterPowerApi(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        "auto" => VsanClusterPowerApiMode.Auto,
        "always" or "on" or "true" => VsanClusterPowerApiMode.Always,
        "never" or "off" or "false" => VsanClusterPowerApiMode.Never,
        _ => null,
    };

    /// <summary>vSAN's cluster power-off or power-on, whole (longer than the actuator's <c>VCenter:VsanClusterPowerTimeout</c>).</summary>
    public TimeSpan VsanClusterPowerDeadline { get; set; } = TimeSpan.FromMinutes(35);

    /// <summary>Least time between the shutdown's completion and the first host power-on (the zone must stay clear throughout).</summary>
    public TimeSpan MinimumOffTime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Gap between two hosts' power-on requests (inrush current, cooling); zero: all at once.</summary>
    public TimeSpan PowerOnStagger { get; set; } = TimeSpan.Zero;

    /// <summary>Deadline for every BMC to answer its power-on (after the last staggered request); longer than the IloActuator's <c>Bmc:PowerOnTimeout</c>.</summary>
    public TimeSpan HostPowerOnDeadline { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Deadline for vCenter to see every powered-on host connected (ESXi boot plus reconnect).</summary>
    public TimeSpan HostReconnectDeadline { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How often the inventory is read while waiting for hosts to reconnect.</summary>
    public TimeSpan ReconnectPollInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Deadline for every host to leave maintenance mode.</summary>
    public TimeSpan ExitMaintenanceDeadline { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A power-on tier's deadline: VMs without an outcome by then are listed as not restored and the next tier starts.</summary>
    public TimeSpan PowerOnTierDeadline { get; set; } = TimeSpan.FromMinutes(5);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var (name, value) in new[]
                 {
                     (nameof(GuestShutdownTimeout), GuestShutdownTimeout), (nameof(TierDeadline), TierDeadline),
                     (nameof(MaintenanceDeadline), MaintenanceDeadline), (nameof(HostShutdownDeadline), HostShutdownDeadline),
                     (nameof(InventoryDeadline), InventoryDeadline), (nameof(HostPowerOnDeadline), HostPowerOnDeadline),
                     (nameof(HostReconnectDeadline), HostReconnectDeadline), (nameof(ReconnectPollInterval), ReconnectPollInterval),
                     (nameof(ExitMaintenanceDeadline), ExitMaintenanceDeadline), (nameof(PowerOnTierDeadline), PowerOnTierDeadline),
                     (nameof(ClusterStepDeadline), ClusterStepDeadline), (nameof(EsxiHostShutdownDeadline), EsxiHostShutdownDeadline),
                     (nameof(VCenterStartDeadline), VCenterStartDeadline), (nameof(VsanClusterPowerDeadline), VsanClusterPowerDeadline),
                 })
        {
            if (value <= TimeSpan.Zero)
                yield return new ValidationResult("must be positive", [name]);
        }
        if (ParseVsanClusterPowerApi(UseVsanClusterPowerApi) is null)
            yield return new ValidationResult($"'{UseVsanClusterPowerApi}' is not one of auto, always (on, true), never (off, false)", [nameof(UseVsanClusterPowerApi)]);
        if (MinimumOffTime < TimeSpan.Zero)
            yield return new ValidationResult("must not be negative", [nameof(MinimumOffTime)]);
        if (PowerOnStagger < TimeSpan.Zero)
            yield return new ValidationResult("must not be negative", [nameof(PowerOnStagger)]);

        // The actuator forces a VM off after the guest timeout; the tier deadline is the backstop behind it.
        if (TierDeadline <= GuestShutdownTimeout)
            yield return new ValidationResult($"must be longer than GuestShutdownTimeout ({GuestShutdownTimeout})", [nameof(TierDeadline)]);

        if (Tiers.GroupBy(t => t.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1) is { } twice)
            yield return new ValidationResult($"tier '{twice.Key}' is configured twice", [nameof(Tiers)]);

        if (DefaultTier.Length > 0 && !Tiers.Any(t => string.Equals(t.Name, DefaultTier, StringComparison.OrdinalIgnoreCase)))
            yield return new ValidationResult($"names no configured tier ('{DefaultTier}')", [nameof(DefaultTier)]);

        for (var i = 0; i < InfrastructureVmPatterns.Count; i++)
        {
            if (PatternError(InfrastructureVmPatterns[i]) is { } error)
                yield return new ValidationResult(error, [$"{nameof(InfrastructureVmPatterns)}:{i}"]);
        }
    }

    internal static string? PatternError(string pattern)
    {
        try
        {
            _ = new Regex(pattern, RegexOptions.None, TimeSpan.FromSeconds(1));
            return null;
        }
        catch (ArgumentException ex)
        {
            return $"not a regular expression: {ex.Message}";
        }
    }
}

/// <summary>How a vSAN cluster goes down and back (<see cref="ClusterOptions.UseVsanClusterPowerApi"/>).</summary>
public enum VsanClusterPowerApiMode
{
    /// <summary>vSAN's cluster power API where vCenter offers it (API 7.0.3+) and no host was in maintenance mode before the run.</summary>
    Auto,
    /// <summary>vSAN's cluster power API whenever vSAN is on; per-host steps only when vSAN refuses or does not finish.</summary>
    Always,
    /// <summary>Per-host maintenance mode (vSAN <c>noAction</c>) and shutdown, vCenter's host through its own ESXi API.</summary>
    Never,
}

/// <summary>A shutdown tier: VMs matched by name pattern (regular expression) or by folder.</summary>
public sealed class TierOptions : IValidatableObject
{
    [Required]
    public string Name { get; set; } = "";

    /// <summary>Regular expressions over the VM's name (case-insensitive).</summary>
    public List<string> VmNamePatterns { get; set; } = [];

    /// <summary>Folders: a VM whose folder path (<c>dc1/vm/tier-1</c>) is, ends with, or lies below one of these.</summary>
    public List<string> Folders { get; set; } = [];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        for (var i = 0; i < VmNamePatterns.Count; i++)
        {
            if (ClusterOptions.PatternError(VmNamePatterns[i]) is { } error)
                yield return new ValidationResult(error, [$"{nameof(VmNamePatterns)}:{i}"]);
        }
    }
}
