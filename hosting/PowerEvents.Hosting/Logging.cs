using Microsoft.Extensions.Configuration;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Json;

namespace PowerEvents.Hosting;

public static class Logging
{
    /// <summary>Configuration key choosing the console format: <c>text</c> (default) or <c>json</c>.</summary>
    public const string FormatKey = "Logging:Format";

    const string TextTemplate =
        "[{Timestamp:yyyy-MM-dd HH:mm:ss.fff} {Level:u3}] {SourceContext}: {Message:lj}{CorrelationSuffix}{NewLine}{Exception}";

    /// <summary>
    /// Serilog to the console: readable lines for a container log viewer by default, one JSON object a
    /// line when <c>Logging:Format=json</c>. Levels come from the <c>Serilog</c> section.
    /// </summary>
    public static Serilog.Core.Logger CreateLogger(IConfiguration configuration, string serviceName)
    {
        var format = configuration[FormatKey] ?? "text";
        if (format is not ("text" or "json"))
            throw new InvalidOperationException($"{FormatKey}: must be 'text' or 'json', not '{format}'.");

        var logger = new LoggerConfiguration()
            .MinimumLevel.Information()
            .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
            // A not-ready answer is the endpoint's job to report (docker polls it); logging each one floods the log.
            .MinimumLevel.Override("Microsoft.Extensions.Diagnostics.HealthChecks", LogEventLevel.Fatal)
            .MinimumLevel.Override("System.Net.Http.HttpClient", LogEventLevel.Warning)
            .ReadFrom.Configuration(configuration)
            .Filter.ByExcluding(IsNoise)
            .Enrich.FromLogContext()
            .Enrich.WithProperty("Service", serviceName);

        return format == "json"
            ? logger.WriteTo.Console(new JsonFormatter(renderMessage: true)).CreateLogger()
            : logger.Enrich.With<CorrelationSuffixEnricher>().WriteTo.Console(outputTemplate: TextTemplate, formatProvider: System.Globalization.CultureInfo.InvariantCulture).CreateLogger();
    }

    /// <summary>
    /// Lines that say nothing an operator can act on, next to the one line that does: the host's start-up failure
    /// with its whole stack (ServiceDefaults.RunAsync reports it as one line), and MassTransit's warning that a bus
    /// which never started could not be stopped.
    /// </summary>
    static bool IsNoise(LogEvent logEvent) => logEvent.MessageTemplate.Text switch
    {
        "Hosting failed to start" => logEvent.Properties.TryGetValue("SourceContext", out var source)
            && source is ScalarValue { Value: "Microsoft.Extensions.Hosting.Internal.Host" },
        "Failed to stop bus: {Address} ({Reason})" => logEvent.Properties.TryGetValue("Reason", out var reason)
            && reason is ScalarValue { Value: "Not Started" },
        _ => false,
    };

    /// <summary>Renders " corr=&lt;id&gt;" in text lines only when a correlation id is in scope.</summary>
    sealed class CorrelationSuffixEnricher : Serilog.Core.ILogEventEnricher
    {
        public void Enrich(LogEvent logEvent, Serilog.Core.ILogEventPropertyFactory propertyFactory)
        {
            var suffix = logEvent.Properties.TryGetValue("CorrelationId", out var id) ? $" corr={id}" : "";
            logEvent.AddPropertyIfAbsent(new LogEventProperty("CorrelationSuffix", new ScalarValue(suffix)));
        }
    }
}
