using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Prometheus;

namespace PowerEvents.Hosting;

/// <summary>Where a service serves its Prometheus metrics (configuration section <c>Metrics</c>; docs/deploy.md, "Metrics").</summary>
public sealed class MetricsOptions
{
    public const string Section = "Metrics";

    /// <summary><c>/metrics</c> on the service's own port, behind the operator guard (<c>OperatorApi:Token</c>, else loopback only).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>A second, unauthenticated listener for <c>/metrics</c> only (e.g. on a network only Prometheus reaches); unset: none.</summary>
    [Range(1, 65535)]
    public int? Port { get; set; }

    /// <summary>The address that listener binds: <c>+</c> (every interface, the default) or one address such as <c>10.0.0.5</c>.</summary>
    [Required]
    public string Host { get; set; } = "+";
}

/// <summary>
/// One metrics mechanism for every service: prometheus-net. The services' own series are prometheus-net collectors
/// (<see cref="Prometheus.Metrics"/>); MassTransit's meters, ASP.NET Core's and HttpClient's are bridged from .NET
/// Meters. No label may carry a secret: URLs, tokens and credentials never become labels.
/// </summary>
public static class PrometheusMetrics
{
    /// <summary>The .NET Meters bridged: the bus's own (consume/send/publish counts and durations, faults), HTTP in and out.</summary>
    public static readonly IReadOnlySet<string> BridgedMeters = new HashSet<string>(StringComparer.Ordinal)
    {
        "MassTransit", "Microsoft.AspNetCore.Hosting", "System.Net.Http",
    };

    static readonly object Gate = new();
    static IDisposable? _adapter;

    /// <summary>Starts the bridge from .NET Meters once per process, before the bus records anything (prometheus-net would start it only at the first scrape and lose what came before).</summary>
    public static void StartMeterBridge()
    {
        lock (Gate)
        {
            if (_adapter is not null)
                return;
            // Process metrics (CPU, memory, start time) stay; EventCounters and the all-meters default adapter go.
            Prometheus.Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions
            {
                SuppressEventCounters = true,
                SuppressMeters = true,
                SuppressDebugMetrics = true,
            });
            _adapter = MeterAdapter.StartListening(new MeterAdapterOptions
            {
                InstrumentFilterPredicate = instrument => BridgedMeters.Contains(instrument.Meter.Name),
                // The bridge drops a series that has not changed for this long; a quiet bus is still worth a line a day.
                MetricsExpireAfter = TimeSpan.FromDays(1),
            });
        }
    }

    internal static void Add(WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<MetricsOptions, MetricsOptionsValidator>(MetricsOptions.Section);
        StartMeterBridge();
        var options = builder.Configuration.GetSection(MetricsOptions.Section).Get<MetricsOptions>() ?? new MetricsOptions();
        if (options is { Enabled: true, Port: { } port and > 0 and <= 65535 })
            builder.Services.AddMetricServer(o =>
            {
                o.Port = (ushort)port;
                o.Hostname = options.Host;
            });
    }

    internal static void Map(WebApplication app)
    {
        if (!app.Services.GetRequiredService<IOptions<MetricsOptions>>().Value.Enabled)
            return;
        // Guarded here too: a service with its own authentication (the Console) removes the guard from its other endpoints.
        var access = app.Services.GetRequiredService<OperatorAccess>();
        app.UseWhen(context => context.Request.Path.StartsWithSegments(Path), branch => branch.Use(access.InvokeAsync));
        app.MapMetrics(Path);
    }

    const string Path = "/metrics";
}
