using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PowerEvents.IloActuator;
using PowerEvents.RedfishSimulator;

namespace IloActuator.Tests;

/// <summary>Starts simulated BMCs (real HTTP/TLS servers on loopback) and wires the actuator's client to them.</summary>
public static class Bmcs
{
    public const string Username = "Administrator";
    public const string Password = "s3cret-Pa55word!";

    public static Task<BmcServer> StartAsync(Action<SimulatedBmcOptions>? configure = null)
    {
        var options = new SimulatedBmcOptions
        {
            Name = "sim",
            Username = Username,
            Password = Password,
            BootDelay = TimeSpan.FromMilliseconds(300),
        };
        configure?.Invoke(options);
        return BmcServer.StartAsync(options);
    }

    /// <summary>Short timeouts so failures show in about a second.</summary>
    public static BmcOptions FastOptions(params BmcHostOptions[] hosts) => new()
    {
        RequestTimeout = TimeSpan.FromSeconds(1),
        PowerOnTimeout = TimeSpan.FromSeconds(5),
        PollInterval = TimeSpan.FromMilliseconds(100),
        RetryAttempts = 2,
        RetryBaseDelay = TimeSpan.FromMilliseconds(50),
        Hosts = [.. hosts],
    };

    /// <summary>A host entry for a simulator, its certificate pinned unless told otherwise.</summary>
    public static BmcHostOptions Host(string name, BmcServer server, Action<BmcHostOptions>? configure = null)
    {
        var host = new BmcHostOptions
        {
            Name = name,
            Url = server.BaseUrl,
            Username = Username,
            Password = Password,
            CertificateFingerprint = server.Fingerprint,
            AllowInsecureHttp = server.Fingerprint is null,
        };
        configure?.Invoke(host);
        return host;
    }

    /// <summary>The actuator's own classes, built as the host builds them, with their log lines captured.</summary>
    public sealed class Actuator : IDisposable
    {
        readonly BmcHttpClients _clients;

        public Actuator(BmcOptions options)
        {
            var wrapped = Options.Create(options);
            Logs = new CapturingLoggerProvider();
            LoggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.AddProvider(Logs).SetMinimumLevel(LogLevel.Trace));
            _clients = new BmcHttpClients(wrapped);
            Redfish = new RedfishClient(_clients, wrapped, LoggerFactory.CreateLogger<RedfishClient>());
            Service = new BmcPowerService(wrapped, Redfish, new WakeOnLanSender(LoggerFactory.CreateLogger<WakeOnLanSender>()),
                LoggerFactory.CreateLogger<BmcPowerService>());
        }

        public CapturingLoggerProvider Logs { get; }
        public ILoggerFactory LoggerFactory { get; }
        public RedfishClient Redfish { get; }
        public BmcPowerService Service { get; }

        public void Dispose()
        {
            _clients.Dispose();
            LoggerFactory.Dispose();
        }
    }
}

/// <summary>Keeps every formatted log line (with its properties) so tests can check what an operator would read.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => new Logger(_lines);

    public void Dispose()
    {
    }

    sealed class Logger(ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var properties = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(' ', pairs.Select(p => $"{p.Key}={p.Value}")) : "";
            lines.Enqueue($"{logLevel}: {formatter(state, exception)} | {properties} {exception}");
        }
    }
}

public static class Outcomes
{
    /// <summary>Asserts the outcome and shows the reason when it differs.</summary>
    public static void Expect(PowerEvents.Contracts.PowerOnOutcome expected, PowerOnResult result) =>
        Xunit.Assert.True(result.Outcome == expected, $"expected {expected}, got {result.Outcome}: {result.Reason}");
}
