using System.ComponentModel;
using System.Globalization;
using Microsoft.Extensions.Options;

namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>
/// The configuration binder silently drops a list element it cannot convert (a cluster whose deadline reads
/// "five minutes" would vanish, and its zone go unprotected). This check compares the raw section with what was
/// bound and names every value that does not convert.
/// </summary>
sealed class PowerConfigurationCheck(IConfiguration configuration) : IValidateOptions<PowerOptions>
{
    public ValidateOptionsResult Validate(string? name, PowerOptions options)
    {
        var failures = new List<string>();
        var clusters = configuration.GetSection(PowerOptions.Section).GetSection(nameof(PowerOptions.Clusters)).GetChildren().ToList();
        foreach (var cluster in clusters)
        {
            Check(cluster, typeof(ClusterOptions), failures);
            foreach (var tier in cluster.GetSection(nameof(ClusterOptions.Tiers)).GetChildren())
                Check(tier, typeof(TierOptions), failures);
        }
        if (failures.Count == 0 && clusters.Count != options.Clusters.Count)
            failures.Add($"{PowerOptions.Section}:{nameof(PowerOptions.Clusters)}: {clusters.Count} configured but {options.Clusters.Count} could be read");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    static void Check(IConfigurationSection section, Type type, List<string> failures)
    {
        foreach (var property in type.GetProperties())
        {
            if (property.PropertyType == typeof(string) || !(property.PropertyType.IsValueType))
                continue;
            var value = section[property.Name];
            if (value is null)
                continue;
            var converter = TypeDescriptor.GetConverter(property.PropertyType);
            try
            {
                converter.ConvertFromString(null, CultureInfo.InvariantCulture, value);
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException or NotSupportedException or OverflowException)
            {
                failures.Add($"{section.Path}:{property.Name}: '{value}' is not a valid {property.PropertyType.Name}" +
                    (property.PropertyType == typeof(TimeSpan) ? " (write durations as hh:mm:ss, e.g. 00:05:00)" : ""));
            }
        }
    }
}
