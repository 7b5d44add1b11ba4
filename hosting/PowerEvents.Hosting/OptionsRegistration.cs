using System.Collections;
using System.ComponentModel.DataAnnotations;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace PowerEvents.Hosting;

public static class OptionsRegistration
{
    /// <summary>
    /// Binds <typeparamref name="T"/> to a configuration section and validates it when the host starts,
    /// so a bad value stops the service with a message that names the full configuration key — also a
    /// list item the binder could not read and would otherwise have dropped silently.
    /// </summary>
    public static OptionsBuilder<T> AddValidatedOptions<T>(this IServiceCollection services, string section)
        where T : class
    {
        services.AddSingleton<IValidateOptions<T>>(new KeyedOptionsValidator<T>(section));
        services.AddSingleton<IValidateOptions<T>>(sp => new ListBindingValidator<T>(sp.GetRequiredService<Microsoft.Extensions.Configuration.IConfiguration>(), section));
        return services.AddOptions<T>()
            .BindConfiguration(section, o => o.ErrorOnUnknownConfiguration = false)
            .ValidateOnStart();
    }

    /// <summary>
    /// As <see cref="AddValidatedOptions{T}(IServiceCollection, string)"/>, validated by a source-generated
    /// <c>[OptionsValidator]</c> (no reflection) instead. Only for flat options: the generated validator reports a
    /// nested member by its own name, without the path (<c>Zones:0:…</c>) an operator needs, and does not enter dictionaries.
    /// </summary>
    public static OptionsBuilder<T> AddValidatedOptions<T, TValidator>(this IServiceCollection services, string section)
        where T : class
        where TValidator : class, IValidateOptions<T>, new()
    {
        services.AddSingleton<IValidateOptions<T>>(new SectionKeyedValidator<T>(new TValidator(), section));
        services.AddSingleton<IValidateOptions<T>>(sp => new ListBindingValidator<T>(sp.GetRequiredService<Microsoft.Extensions.Configuration.IConfiguration>(), section));
        return services.AddOptions<T>()
            .BindConfiguration(section, o => o.ErrorOnUnknownConfiguration = false)
            .ValidateOnStart();
    }
}

/// <summary>Reports a generated validator's <c>Member: message</c> failures as <c>Section:Member: message</c>, the configuration key.</summary>
public sealed class SectionKeyedValidator<T>(IValidateOptions<T> generated, string section) : IValidateOptions<T>
    where T : class
{
    public ValidateOptionsResult Validate(string? name, T options)
    {
        // The section as the name: default messages then read "The field RabbitMq.Port must be …".
        var result = generated.Validate(section, options);
        return result.Failed
            ? ValidateOptionsResult.Fail(result.Failures!.Select(f => $"{section}:{f}"))
            : result;
    }
}

/// <summary>
/// Data-annotation validation (recursive into nested options and lists) whose failures are reported
/// as <c>Section:Property[:index]: message</c>, the form an operator can search the configuration for.
/// </summary>
public sealed class KeyedOptionsValidator<T>(string section) : IValidateOptions<T>
    where T : class
{
    public ValidateOptionsResult Validate(string? name, T options)
    {
        var failures = new List<string>();
        ValidateObject(options, section, failures, depth: 0);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    public static IReadOnlyList<string> Validate(object options, string keyPrefix)
    {
        var failures = new List<string>();
        ValidateObject(options, keyPrefix, failures, depth: 0);
        return failures;
    }

    static void ValidateObject(object instance, string prefix, List<string> failures, int depth)
    {
        if (depth > 8)
            return;

        var results = new List<ValidationResult>();
        Validator.TryValidateObject(instance, new ValidationContext(instance), results, validateAllProperties: true);
        foreach (var result in results)
        {
            var members = result.MemberNames.Any() ? result.MemberNames : [""];
            foreach (var member in members)
            {
                var key = member.Length == 0 ? prefix : $"{prefix}:{member}";
                failures.Add($"{key}: {result.ErrorMessage}");
            }
        }

        foreach (var property in instance.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length > 0 || IsLeaf(property.PropertyType))
                continue;

            var value = property.GetValue(instance);
            var key = $"{prefix}:{property.Name}";
            switch (value)
            {
                case null:
                    break;
                case IDictionary dictionary:
                    foreach (DictionaryEntry entry in dictionary)
                        if (entry.Value is not null && !IsLeaf(entry.Value.GetType()))
                            ValidateObject(entry.Value, $"{key}:{entry.Key}", failures, depth + 1);
                    break;
                case IEnumerable items:
                    var index = 0;
                    foreach (var item in items)
                    {
                        if (item is not null && !IsLeaf(item.GetType()))
                            ValidateObject(item, $"{key}:{index}", failures, depth + 1);
                        index++;
                    }
                    break;
                default:
                    ValidateObject(value, key, failures, depth + 1);
                    break;
            }
        }
    }

    static bool IsLeaf(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal)
            || type == typeof(TimeSpan) || type == typeof(DateTimeOffset) || type == typeof(DateTime)
            || type == typeof(Guid) || type == typeof(Uri);
    }
}

// Source-generated validators (no reflection) for the flat options every service binds.
[OptionsValidator] public sealed partial class RabbitMqOptionsValidator : IValidateOptions<RabbitMqOptions>;
[OptionsValidator] public sealed partial class PostgresOptionsValidator : IValidateOptions<PostgresOptions>;
[OptionsValidator] public sealed partial class OperatorApiOptionsValidator : IValidateOptions<OperatorApiOptions>;
[OptionsValidator] public sealed partial class MetricsOptionsValidator : IValidateOptions<MetricsOptions>;
[OptionsValidator] public sealed partial class PreflightOptionsValidator : IValidateOptions<PreflightOptions>;
