using MassTransit;
using Microsoft.Extensions.Options;
using PowerEvents.SensorPoller.Http;
using PowerEvents.SensorPoller.Meraki;
using PowerEvents.SensorPoller.Mqtt;

namespace PowerEvents.SensorPoller.Polling;

/// <summary>Runs one <see cref="SourceLoop"/> per polled source and one <see cref="MqttSource"/> per broker, side by side, until the host stops.</summary>
public sealed class PollerService(
    IOptions<SensorPollerOptions> options,
    IBus bus,
    TimeProvider clock,
    ILoggerFactory loggers) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var logger = loggers.CreateLogger<PollerService>();
        var configured = options.Value;
        var loops = new List<Task>();
        var clients = new List<HttpClient>();
        using var paces = new MerakiRateLimits();
        Task Publish(object message, CancellationToken token) => bus.Publish(message, message.GetType(), token);
        try
        {
            foreach (var source in configured.AllSources().Where(s => s.AllowInsecureHttp))
                logger.LogWarning("{Source}: AllowInsecureHttp is set: plain http:// (or mqtt://) is accepted and its credentials cross the network unencrypted", source.Name);
            foreach (var source in CreateSources(configured, clients, paces, clock, loggers))
                loops.Add(new SourceLoop(source, Publish, clock, SourceLogger(source.Options.Name)).RunAsync(stoppingToken));
            foreach (var mqtt in configured.Mqtt)
                loops.Add(new MqttSource(mqtt, Publish, clock, SourceLogger(mqtt.Name)).RunAsync(stoppingToken));
            if (loops.Count == 0)
                logger.LogWarning("No sources are configured (SensorPoller:Meraki, SensorPoller:Http, SensorPoller:Mqtt); nothing will be read");
            await Task.WhenAll(loops);
        }
        finally
        {
            foreach (var client in clients)
                client.Dispose();
        }
    }

    ILogger SourceLogger(string name) => loggers.CreateLogger($"PowerEvents.SensorPoller.Source.{name}");

    /// <summary>The polled sources as the service runs them: Meraki sources paced by their organization's bucket
    /// in <paramref name="paces"/>; the HttpClients created go to <paramref name="clients"/> (the caller disposes them).</summary>
    public static IEnumerable<ISensorSource> CreateSources(SensorPollerOptions configured, List<HttpClient> clients, MerakiRateLimits paces, TimeProvider clock, ILoggerFactory loggers)
    {
        var plan = MerakiRateLimits.Plan(configured.Meraki);
        foreach (var meraki in configured.Meraki)
        {
            var (rate, burst) = plan[meraki.OrganizationId];
            var http = ResilientHttp.CreateClient(meraki, loggers.CreateLogger($"PowerEvents.SensorPoller.Http.{meraki.Name}"),
                pace: paces.For(meraki.OrganizationId, rate, burst));
            clients.Add(http);
            yield return new MerakiSource(meraki, new MerakiClient(http, meraki), clock);
        }
        foreach (var generic in configured.Http)
        {
            var http = ResilientHttp.CreateClient(generic, loggers.CreateLogger($"PowerEvents.SensorPoller.Http.{generic.Name}"));
            clients.Add(http);
            yield return new HttpJsonSource(generic, http, clock);
        }
    }
}
