using System.Collections;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace PowerEvents.Hosting;

/// <summary>
/// Refuses configuration whose list items did not all bind. The configuration binder silently drops a
/// list item it cannot convert (e.g. <c>Zones:0:HoldTime=five minutes</c> makes zone 0 disappear), which
/// for a protection system means a zone or a source that is quietly not there. Registered for every
/// options type by <see cref="OptionsRegistration.AddValidatedOptions{T}"/>.
/// </summary>
public sealed class ListBindingValidator<T>(IConfiguration configuration, string section) : IValidateOptions<T>
    where T : class
{
    public ValidateOptionsResult Validate(string? name, T options)
    {
        var failures = new List<string>();
        Check(options, configuration.GetSection(section), failures, depth: 0);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    static void Check(object instance, IConfigurationSection section, List<string> failures, int depth)
    {
        if (depth > 8)
            return;
        foreach (var property in instance.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length > 0 || !property.CanWrite || property.PropertyType == typeof(string)
                || property.GetValue(instance) is not IList list)
                continue;

            var configured = section.GetSection(property.Name).GetChildren().ToList();
            var elementType = property.PropertyType.IsGenericType ? property.PropertyType.GetGenericArguments()[0] : typeof(object);
            // Fewer items than configured: some were dropped. (More can be a list's defaults plus the configured ones.)
            if (configured.Count > list.Count)
            {
                var before = failures.Count;
                foreach (var child in configured)
                {
                    try
                    {
                        if (child.Get(elementType, o => o.ErrorOnUnknownConfiguration = false) is null && child.Value is null && !child.GetChildren().Any())
                            continue;
                    }
                    catch (InvalidOperationException ex)
                    {
                        failures.Add($"{child.Path}: {ex.Message}");
                    }
                }
                if (failures.Count == before)
                    failures.Add($"{section.Path}:{property.Name}: {configured.Count} item(s) configured but {list.Count} could be read.");
                continue;
            }

            if (configured.Count != list.Count)
                continue;

            for (var i = 0; i < list.Count; i++)
                if (list[i] is { } item && item.GetType() is { IsClass: true } type && type != typeof(string))
                    Check(item, configured[i], failures, depth + 1);
        }
    }
}
