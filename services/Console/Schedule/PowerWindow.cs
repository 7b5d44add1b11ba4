namespace PowerEvents.Console.Schedule;

/// <summary>A cluster's daily power window (the seed's use case: off at 23:00, on at 07:00 on weekdays), in the console's time zone.</summary>
public sealed record PowerWindow(long Id, string Cluster, IReadOnlySet<DayOfWeek> Days, TimeOnly? OffAt, TimeOnly? OnAt, bool Enabled,
    DateOnly? LastOffOn, DateOnly? LastOnOn);

public enum WindowAction { PowerOff, PowerOn }

public sealed record DueAction(WindowAction Action, DateTime ScheduledFor);

public static class PowerWindowSchedule
{
    /// <summary>A time missed by more than this (the console was down) is not carried out late.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromMinutes(30);

    public static IReadOnlyList<DueAction> Due(PowerWindow window, DateTime localNow)
    {
        var due = new List<DueAction>();
        if (!window.Enabled || !window.Days.Contains(localNow.DayOfWeek))
            return due;
        var today = DateOnly.FromDateTime(localNow);
        Check(window.OffAt, window.LastOffOn, WindowAction.PowerOff);
        Check(window.OnAt, window.LastOnOn, WindowAction.PowerOn);
        return due;

        void Check(TimeOnly? at, DateOnly? lastDone, WindowAction action)
        {
            if (at is not { } time || lastDone == today)
                return;
            var scheduled = today.ToDateTime(time);
            if (localNow >= scheduled && localNow - scheduled <= Grace)
                due.Add(new DueAction(action, scheduled));
        }
    }

    public static IReadOnlySet<DayOfWeek> ParseDays(string days)
    {
        var set = new HashSet<DayOfWeek>();
        foreach (var part in days.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            switch (part.ToLowerInvariant())
            {
                case "weekdays": set.UnionWith([DayOfWeek.Monday, DayOfWeek.Tuesday, DayOfWeek.Wednesday, DayOfWeek.Thursday, DayOfWeek.Friday]); break;
                case "weekend": set.UnionWith([DayOfWeek.Saturday, DayOfWeek.Sunday]); break;
                case "daily": set.UnionWith(Enum.GetValues<DayOfWeek>()); break;
                default:
                    var match = Enum.GetValues<DayOfWeek>().Where(d => d.ToString().StartsWith(part, StringComparison.OrdinalIgnoreCase) && part.Length >= 3).ToList();
                    if (match.Count != 1)
                        throw new FormatException($"'{part}' is not a day (Mon, Tue, … or weekdays, weekend, daily)");
                    set.Add(match[0]);
                    break;
            }
        }
        if (set.Count == 0)
            throw new FormatException("no day given");
        return set;
    }

    public static string FormatDays(IReadOnlySet<DayOfWeek> days) =>
        string.Join(",", Enum.GetValues<DayOfWeek>().Where(days.Contains).Select(d => d.ToString()[..3]));
}
