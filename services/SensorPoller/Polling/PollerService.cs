using MassTransit;
using Microsoft.Extensions.Options;
using PowerEvents.SensorPoller.Http;
using PowerEvents.SensorPoller.Meraki;

namespace PowerEvents.SensorPoller.Polling;

/// <summary>Runs one <see cref="SourceLoop"/> per configured source, side by side, until the host stops.</summary>
public sealed class PollerService(
    IOptions<SensorPollerOptions> options,
    IBus bus,
    TimeProvider clock,
    ILoggerFactory loggers) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var logger = loggers.CreateLogger<PollerService>();
        var loops = new List<Task>();
        var clients = new List<HttpClient>();
        try
        {
            foreach (var source in CreateSources(options.Value, clients))
                loops.Add(new SourceLoop(source, (message, token) => bus.Publish(message, message.GetType(), token), clock, loggers.CreateLogger($"PowerEvents.SensorPoller.Source.{source.Options.Name}")).RunAsync(stoppingToken));
            if (loops.Count == 0)
                logger.LogWarning("No sources are configured (SensorPoller:Meraki, SensorPoller:Http); nothing will be polled");
            await Task.WhenAll(loops);
        }
        finally
        {
            foreach (var client in clients)
                client.Dispose();
        }
    }

    IEnumerable<ISensorSource> CreateSources(SensorPollerOptions configured, List<HttpClient> clients)
    {
        foreach (var meraki in configured.Meraki)
        {
            var http = ResilientHttp.CreateClient(meraki, loggers.CreateLogger($"PowerEvents.SensorPoller.Http.{meraki.Name}"));
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
