using Microsoft.Extensions.Options;
using PowerEvents.AlarmEvaluator.Power;
using PowerEvents.AlarmEvaluator.Zones;

namespace PowerEvents.AlarmEvaluator;

/// <summary>
/// A protected cluster whose <c>Zone</c> names no configured zone would never see an alarm from this service: a typo
/// that leaves a cluster unprotected. It stops the service at start, naming the key, unless the cluster declares
/// that its zone's alarms come from elsewhere on the bus: <c>Power:Clusters:N:ExternalZone=true</c>.
/// </summary>
public sealed class ClusterZoneValidator(IOptions<AlarmEvaluatorOptions> zones, IConfiguration configuration) : IValidateOptions<PowerOptions>
{
    public const string ExternalZoneKey = "ExternalZone";

    public ValidateOptionsResult Validate(string? name, PowerOptions options)
    {
        var known = zones.Value.Zones.Select(z => z.Name).ToHashSet(StringComparer.Ordinal);
        var failures = new List<string>();
        for (var i = 0; i < options.Clusters.Count; i++)
        {
            var zone = options.Clusters[i].Zone;
            var key = $"{PowerOptions.Section}:Clusters:{i}";
            // Read beside the bound options: the flag concerns only this check.
            if (string.IsNullOrEmpty(zone) || known.Contains(zone) || configuration.GetValue<bool>($"{key}:{ExternalZoneKey}"))
                continue;

            var configured = known.Count == 0 ? "none is configured" : "configured: " + string.Join(", ", known.Order(StringComparer.Ordinal));
            failures.Add($"{key}:Zone: '{zone}' is not a zone of AlarmEvaluator:Zones ({configured}); correct it, " +
                $"or set {key}:{ExternalZoneKey}=true if this zone's alarms come from another publisher.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
