using System.Globalization;
using System.Text.Json.Nodes;
using MQTTnet;

namespace PowerEvents.Tools.MerakiSimulator;

/// <summary>
/// What a site's Meraki MR/MV gateway does with MQTT telemetry enabled: publishes each MT sensor's reading to the
/// local broker on <c>meraki/v1/mt/{networkId}/ble/{sensorMac}/temperature</c> as
/// <c>{"ts":"…","celsius":…,"fahrenheit":…}</c>. Configured with <c>Simulator:Mqtt:Url</c> (mqtt://host:port),
/// <c>Username</c>, <c>Password</c>, <c>TopicPrefix</c>; with <c>PublishEverySeconds</c> it publishes on its own,
/// otherwise on <c>POST /_sim/mqtt/publish</c> (or <see cref="PublishAsync"/>).
/// </summary>
public sealed class MqttGateway(World world, IConfiguration settings) : BackgroundService
{
    readonly SemaphoreSlim _gate = new(1, 1);
    IMqttClient? _client;

    public bool Configured => settings["Url"] is { Length: > 0 };

    string TopicPrefix => (settings["TopicPrefix"] is { Length: > 0 } prefix ? prefix : "meraki/v1/mt").TrimEnd('/');

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Configured || settings.GetValue<double?>("PublishEverySeconds") is not { } every || every <= 0)
            return;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(every), world.Clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await PublishAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // A gateway keeps trying while the broker is away.
                Console.Error.WriteLine($"mqtt gateway: {ex.GetBaseException().Message}");
            }
        }
    }

    /// <summary>Publishes every sensor's newest reading once (QoS 1); returns how many.</summary>
    public async Task<int> PublishAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var client = await ConnectedAsync(cancellationToken);
            var count = 0;
            foreach (var (sensor, ts, celsius) in world.AllReadings())
            {
                var payload = new JsonObject
                {
                    ["ts"] = ts.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
                    ["celsius"] = Math.Round(celsius, 2),
                    ["fahrenheit"] = Math.Round(celsius * 9 / 5 + 32, 2),
                };
                await client.PublishAsync(new MqttApplicationMessageBuilder()
                    .WithTopic($"{TopicPrefix}/{sensor.NetworkId}/ble/{sensor.Mac}/temperature")
                    .WithPayload(payload.ToJsonString())
                    .WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce)
                    .Build(), cancellationToken);
                count++;
            }
            return count;
        }
        finally
        {
            _gate.Release();
        }
    }

    async Task<IMqttClient> ConnectedAsync(CancellationToken cancellationToken)
    {
        if (_client is { IsConnected: true })
            return _client;
        _client?.Dispose();
        var url = new Uri(settings["Url"]!);
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(url.Host, url.Port > 0 ? url.Port : 1883)
            .WithClientId($"meraki-sim-gateway-{Guid.NewGuid():N}")
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V311);
        if (settings["Username"] is { Length: > 0 } user)
            builder.WithCredentials(user, settings["Password"]);
        if (url.Scheme == "mqtts")
            builder.WithTlsOptions(o => o.UseTls().WithTargetHost(url.Host));
        _client = new MqttClientFactory().CreateMqttClient();
        await _client.ConnectAsync(builder.Build(), cancellationToken);
        return _client;
    }

    public override void Dispose()
    {
        _client?.Dispose();
        _gate.Dispose();
        base.Dispose();
    }
}
