using System.ComponentModel.DataAnnotations;

namespace PowerEvents.Console;

/// <summary>Configuration section <c>Console</c>.</summary>
public sealed class ConsoleOptions
{
    public const string Section = "Console";

    /// <summary>The first operator account, created when no account exists yet.</summary>
    [Required]
    public string AdminUser { get; set; } = "admin";

    /// <summary>From <c>Console__AdminPassword</c> or a file named by <c>Console__AdminPassword_FILE</c>; only read while no account exists.</summary>
    public string AdminPassword { get; set; } = "";

    /// <summary>The queue the power saga takes operator commands from.</summary>
    [Required]
    public string SagaCommandQueue { get; set; } = "alarm-evaluator-power-commands";

    /// <summary>The seed's standby time (待機時間): the allowed lag of a power action, and no second power action within it.</summary>
    public TimeSpan StandbyTime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>As the saga's: a cluster stays off at least this long unless an operator overrides it with a reason.</summary>
    public TimeSpan MinimumOffTime { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>A sensor without a reading for this long is shown stale.</summary>
    public TimeSpan SensorStaleAfter { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long temperatures are kept for the chart.</summary>
    public TimeSpan HistoryLength { get; set; } = TimeSpan.FromHours(24);

    [Range(1, 100)]
    public int MaxFailedLogins { get; set; } = 5;

    public TimeSpan LockoutDuration { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Session cookie lifetime (sliding).</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(8);

    /// <summary>
    /// <c>true</c> (default): cookies carry the Secure flag always (browsers accept it on https and on http://localhost).
    /// <c>false</c>: only when the request came over HTTPS — for a console reached by plain http on a private network.
    /// </summary>
    public bool SecureCookies { get; set; } = true;

    /// <summary>How often scheduled power windows are checked.</summary>
    public TimeSpan ScheduleTick { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>IANA time zone of the scheduled power windows (default: the machine's).</summary>
    public string TimeZone { get; set; } = "";

    /// <summary>Zones each cluster's alarm comes from, where known beforehand (otherwise learned from the runs).</summary>
    public List<ClusterZones> Clusters { get; set; } = [];

    /// <summary>Thresholds drawn on the zone charts until an alarm event tells the evaluator's own.</summary>
    public List<ZoneThresholds> Zones { get; set; } = [];

    /// <summary>How long the plan preview waits for the AlarmEvaluator's answer (it reads a fresh inventory within its
    /// <c>InventoryDeadline</c>, 2 min by default, and checks the ESXi login of vCenter's host within as long again).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:30:00")]
    public TimeSpan PlanPreviewTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The readiness grade and estimates (<c>Console:Readiness</c>).</summary>
    public ReadinessOptions Readiness { get; set; } = new();
}

public sealed class ReadinessOptions
{
    /// <summary>How often every cluster is graded (and a changed grade published).</summary>
    [Range(typeof(TimeSpan), "00:00:00.200", "01:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Nothing is published before the console has run this long: at a start of the whole stack, every service's
    /// first preflight results arrive within it, and a grade taken before them would be a false alarm.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan SettleTime { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>A cluster observation or a passing check older than this no longer counts as current (three preflight intervals by default).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromMinutes(45);

    /// <summary>What the estimate assumes for a kind of step no completed run has measured.</summary>
    public Readiness.DefaultDurations DefaultDurations { get; set; } = new();
}

public sealed class ClusterZones
{
    [Required]
    public string Name { get; set; } = "";
    public List<string> Zones { get; set; } = [];
}

public sealed class ZoneThresholds
{
    [Required]
    public string Name { get; set; } = "";
    public double? HighCelsius { get; set; }
    public double? LowCelsius { get; set; }

    /// <summary>The sensors of the zone as the AlarmEvaluator configures them (a reading's own zone is only its source's label).</summary>
    public List<string> Sensors { get; set; } = [];
}
