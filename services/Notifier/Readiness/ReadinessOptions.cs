using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace PowerEvents.Notifier.Readiness;

/// <summary>Configuration section <c>Notifier:Readiness</c>: the daily readiness summary.</summary>
public sealed class ReadinessSummaryOptions : IValidatableObject
{
    public const string Section = "Notifier:Readiness";

    /// <summary>Local time (<c>HH:mm</c>) of the daily summary of every cluster's grade, or <c>off</c>.</summary>
    [Required]
    public string DailySummaryAt { get; set; } = "08:00";

    /// <summary>IANA time zone of <see cref="DailySummaryAt"/>; empty: the machine's.</summary>
    public string TimeZone { get; set; } = "";

    public bool Enabled => !DailySummaryAt.Trim().Equals("off", StringComparison.OrdinalIgnoreCase);

    // Methods, not properties: the options validator walks properties, and these only make sense once validated.
    public TimeOnly SummaryTime() => TimeOnly.ParseExact(DailySummaryAt.Trim(), "HH:mm", CultureInfo.InvariantCulture);

    public TimeZoneInfo SummaryZone() => TimeZone.Length == 0 ? TimeZoneInfo.Local : TimeZoneInfo.FindSystemTimeZoneById(TimeZone);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Enabled && !TimeOnly.TryParseExact(DailySummaryAt?.Trim(), "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
            yield return new ValidationResult($"must be a time HH:mm (e.g. 08:00) or 'off', not '{DailySummaryAt}'.", [nameof(DailySummaryAt)]);
        if (TimeZone.Length > 0 && !TimeZoneInfo.TryFindSystemTimeZoneById(TimeZone, out _))
            yield return new ValidationResult($"'{TimeZone}' is not a known IANA time zone (e.g. Europe/Berlin, Asia/Tokyo).", [nameof(TimeZone)]);
    }
}

/// <summary>When the next daily summary is due, pure. A summary missed by less than an hour (a restart at that time) is still sent.</summary>
public static class DailySchedule
{
    public static readonly TimeSpan Grace = TimeSpan.FromHours(1);

    public static DateTimeOffset NextDue(DateTimeOffset now, TimeOnly at, TimeZoneInfo zone)
    {
        var local = TimeZoneInfo.ConvertTime(now, zone);
        var today = Due(DateOnly.FromDateTime(local.DateTime), at, zone);
        return now <= today + Grace ? today : Due(DateOnly.FromDateTime(local.DateTime).AddDays(1), at, zone);
    }

    /// <summary>The instant of <paramref name="at"/> on <paramref name="day"/> in <paramref name="zone"/> (a time skipped by a DST change moves an hour later).</summary>
    public static DateTimeOffset Due(DateOnly day, TimeOnly at, TimeZoneInfo zone)
    {
        var local = day.ToDateTime(at);
        if (zone.IsInvalidTime(local))
            local = local.AddHours(1);
        return new DateTimeOffset(local, zone.GetUtcOffset(local));
    }
}
