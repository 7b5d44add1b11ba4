using Microsoft.Extensions.Options;
using PowerEvents.Hosting;
using PowerEvents.SensorPoller.Http;
using PowerEvents.SensorPoller.Meraki;

namespace PowerEvents.SensorPoller.Polling;

/// <summary>
/// Preflight of every polled source, with its own client (same TLS pinning, credential scope and retries as the poll):
/// Meraki: <c>GET /organizations/{id}</c>, which fails on a revoked key or an organization the key may not see;
/// a generic source: one request, parsed but not published. MQTT brokers are not probed: their connection is
/// permanent and already reports its health (<c>SourceHealthChanged</c>).
/// </summary>
public sealed class SourcePreflight(IOptions<SensorPollerOptions> options, TimeProvider clock, ILoggerFactory loggers) : IPreflightCheck
{
    public const string Kind = "sensor-source";

    public IEnumerable<PreflightProbe> Probes() =>
        options.Value.Meraki.Select(m => new PreflightProbe(Kind, m.Name, token => MerakiAsync(m, token)))
            .Concat(options.Value.Http.Select(h => new PreflightProbe(Kind, h.Name, token => GenericAsync(h, token))));

    async Task<PreflightOutcome?> MerakiAsync(MerakiSourceOptions meraki, CancellationToken cancellationToken)
    {
        using var http = ResilientHttp.CreateClient(meraki, Logger(meraki.Name));
        try
        {
            var name = await new MerakiClient(http, meraki).GetOrganizationNameAsync(cancellationToken);
            return PreflightOutcome.Passed($"the API key reads organization {meraki.OrganizationId} ({name})");
        }
        catch (Exception ex) when (ex is SourceException or SourceThrottledException or HttpRequestException)
        {
            return PreflightOutcome.Failed($"organization {meraki.OrganizationId}: {Describe(ex)}");
        }
    }

    async Task<PreflightOutcome?> GenericAsync(HttpSourceOptions generic, CancellationToken cancellationToken)
    {
        using var http = ResilientHttp.CreateClient(generic, Logger(generic.Name));
        try
        {
            // Parsed, never published: the poll loop owns what reaches the bus.
            var result = await new HttpJsonSource(generic, http, clock).PollAsync(cancellationToken);
            return result.Messages.Count == 0 && result.Problems.Count > 0
                ? PreflightOutcome.Failed($"answered, but nothing usable: {result.Problems[0].Description}")
                : PreflightOutcome.Passed($"answered {result.Messages.Count} reading(s), {result.Problems.Count} problem(s)");
        }
        catch (Exception ex) when (ex is SourceException or SourceThrottledException or HttpRequestException)
        {
            return PreflightOutcome.Failed(Describe(ex));
        }
    }

    // Source exceptions name the path, never the query or a header; a transport error names host and port only.
    static string Describe(Exception ex) => ex switch
    {
        HttpRequestException { InnerException: System.Security.Authentication.AuthenticationException } => "the TLS certificate was not accepted",
        HttpRequestException http => $"not reachable ({http.HttpRequestError})",
        _ => ex.Message,
    };

    ILogger Logger(string name) => loggers.CreateLogger($"PowerEvents.SensorPoller.Preflight.{name}");
}
