using System.Text.Json;
using MQTTnet;
using MQTTnet.Protocol;
using PowerEvents.Contracts;
using PowerEvents.SensorPoller.Http;
using PowerEvents.SensorPoller.Polling;

namespace PowerEvents.SensorPoller.Mqtt;

/// <summary>
/// Meraki MT readings pushed by the site's MR/MV gateways to a local MQTT broker
/// (<c>meraki/v1/mt/{networkId}/ble/{sensorMac}/temperature</c>, payload <c>{"ts":…,"celsius":…,"fahrenheit":…}</c>):
/// each becomes a <see cref="TemperatureSampled"/> after the same checks as a polled reading. Keeps sensing when the
/// Meraki cloud or the internet link is down. Reconnects on its own; a lost broker is reported as the source's failure.
/// </summary>
public sealed class MqttSource(MqttSourceOptions options, Func<object, CancellationToken, Task> publish, TimeProvider clock, ILogger logger)
{
    const string ConnectionProblem = "poll:connection";
    readonly SourceHealth _health = new(options.Name, logger);
    readonly Dictionary<string, SourceProblem> _problems = new(StringComparer.Ordinal);
    readonly Dictionary<string, DateTimeOffset> _lastPublished = new(StringComparer.Ordinal);
    readonly SemaphoreSlim _gate = new(1, 1);
    string? _certificateProblem;

    public bool Healthy => _health.Healthy;

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        var broker = options.BrokerUrl;
        logger.LogInformation("{Source}: subscribing to {Topics} on {Broker}", options.Name, string.Join(", ", Topics()), CredentialScope.Origin(broker));
        using var client = new MqttClientFactory().CreateMqttClient();
        client.ApplicationMessageReceivedAsync += e => OnMessageAsync(e.ApplicationMessage.Topic, e.ApplicationMessage.ConvertPayloadToString(), stoppingToken);
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Task OnDisconnected(MqttClientDisconnectedEventArgs e)
            {
                lost.TrySetResult();
                return Task.CompletedTask;
            }
            client.DisconnectedAsync += OnDisconnected;
            try
            {
                using (var attempt = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
                {
                    attempt.CancelAfter(options.RequestTimeout);
                    _certificateProblem = null;
                    await client.ConnectAsync(ClientOptions(), attempt.Token);
                    var subscribe = new MqttClientSubscribeOptionsBuilder();
                    foreach (var topic in Topics())
                        subscribe.WithTopicFilter(topic, MqttQualityOfServiceLevel.AtLeastOnce);
                    var granted = await client.SubscribeAsync(subscribe.Build(), attempt.Token);
                    if (granted.Items.FirstOrDefault(i => (int)i.ResultCode > 2) is { } refused)
                        throw new InvalidOperationException($"subscription to {refused.TopicFilter.Topic} refused: {refused.ResultCode}");
                }
                failures = 0;
                logger.LogInformation("{Source}: connected to {Broker}", options.Name, CredentialScope.Origin(broker));
                await UpdateHealthAsync(ConnectionProblem, null, stoppingToken);
                await lost.Task.WaitAsync(stoppingToken);
                await UpdateHealthAsync(ConnectionProblem, $"connection to {CredentialScope.Origin(broker)} lost", stoppingToken);
            }
            catch (Exception) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                failures++;
                var reason = _certificateProblem is { } certificate ? $"TLS: {certificate}" : ex.GetBaseException().Message;
                await UpdateHealthAsync(ConnectionProblem, $"cannot connect to {CredentialScope.Origin(broker)}: {reason}", stoppingToken);
            }
            finally
            {
                client.DisconnectedAsync -= OnDisconnected;
            }

            // Quick first retries, then at most one Interval apart: back within one interval of the broker returning.
            var wait = TimeSpan.FromTicks(Math.Min(options.Interval.Ticks, options.RetryBaseDelay.Ticks * (1L << Math.Min(failures, 20))));
            try
            {
                await Task.Delay(wait, clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        if (client.IsConnected)
            await client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), CancellationToken.None);
        logger.LogInformation("{Source}: stopped", options.Name);
    }

    IEnumerable<string> Topics()
    {
        var prefix = options.TopicPrefix.TrimEnd('/');
        return (options.NetworkIds.Count == 0 ? ["+"] : options.NetworkIds).Select(network => $"{prefix}/{network}/ble/+/temperature");
    }

    MqttClientOptions ClientOptions()
    {
        var broker = options.BrokerUrl;
        var tls = broker.Scheme == "mqtts";
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(broker.Host, broker.IsDefaultPort || broker.Port < 0 ? (tls ? 8883 : 1883) : broker.Port)
            .WithClientId(options.ClientId ?? $"powerevents-sensorpoller-{options.Name}")
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V311)
            .WithCleanSession(true)
            .WithTimeout(options.RequestTimeout)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(15));
        if (!string.IsNullOrEmpty(options.Username))
            builder.WithCredentials(options.Username, options.Password);
        if (tls)
            builder.WithTlsOptions(o =>
            {
                o.UseTls().WithTargetHost(broker.Host);
                // The broker's own self-signed certificate when pinned (only that one is accepted), else the trusted roots.
                o.WithCertificateValidationHandler(args =>
                {
                    // Kept for the failure report: the TLS exception itself only says "rejected by the callback".
                    _certificateProblem = options.CertificateProblem(args.Certificate, args.SslPolicyErrors);
                    return _certificateProblem is null;
                });
            });
        return builder.Build();
    }

    async Task OnMessageAsync(string topic, string payload, CancellationToken cancellationToken)
    {
        var receivedAt = clock.GetUtcNow();
        var (sample, key, problem) = Parse(options, topic, payload, receivedAt);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (sample is not null && !(_lastPublished.TryGetValue(sample.SensorId, out var last) && sample.SampledAt <= last))
            {
                try
                {
                    await publish(sample, cancellationToken);
                    _lastPublished[sample.SensorId] = sample.SampledAt;
                    PollerMetrics.Published(options.Name, 1);
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                {
                    // The broker of the bus, not this source, failed; the sensor's next report is the next chance.
                    logger.LogError(ex, "{Source}: publishing {Sensor}'s reading failed", options.Name, sample.SensorId);
                }
            }
            await UpdateHealthLockedAsync(key, problem?.Description, cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>One MQTT message: a sample, or the problem of the sensor it came from (key: the sensor's problem slot).</summary>
    public static (TemperatureSampled? Sample, string Key, SourceProblem? Problem) Parse(MqttSourceOptions options, string topic, string payload, DateTimeOffset receivedAt)
    {
        // {prefix}/{networkId}/ble/{mac}/temperature
        var rest = topic.StartsWith(options.TopicPrefix.TrimEnd('/') + "/", StringComparison.Ordinal) ? topic[(options.TopicPrefix.TrimEnd('/').Length + 1)..] : "";
        var parts = rest.Split('/');
        if (parts.Length != 4 || parts[1] != "ble" || parts[3] != "temperature" || parts[0].Length == 0 || parts[2].Length == 0)
            return (null, "topic", new SourceProblem("topic", $"unexpected topic {topic}"));
        var (network, mac) = (parts[0], parts[2]);
        var sensor = options.SensorIds.TryGetValue(MqttSourceOptions.MacKey(mac), out var id) ? id : mac;
        var key = $"{sensor}:mqtt";
        SourceProblem Problem(string what) => new(key, $"sensor {sensor}: {what}");

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(payload);
        }
        catch (JsonException ex)
        {
            return (null, key, Problem($"malformed JSON on {topic}: {ex.Message}"));
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("ts", out var tsElement) || !HttpJsonSource.TryParseTimestamp(tsElement, out var ts))
                return (null, key, Problem("message without a valid ts"));
            if (!root.TryGetProperty("celsius", out var celsiusElement) || celsiusElement.ValueKind != JsonValueKind.Number)
                return (null, key, Problem("message without celsius"));
            var celsius = celsiusElement.GetDouble();
            double? fahrenheit = root.TryGetProperty("fahrenheit", out var f) && f.ValueKind == JsonValueKind.Number ? f.GetDouble() : null;
            if ((ReadingRules.CheckUnits(sensor, celsius, fahrenheit) ?? ReadingRules.Check(options, sensor, celsius, ts, receivedAt)) is { } problem)
                return (null, key, new SourceProblem(key, problem.Description));
            var zone = options.Zone.Length > 0 ? options.Zone : network;
            return (new TemperatureSampled(options.Name, sensor, zone, celsius, ts, receivedAt), key, null);
        }
    }

    async Task UpdateHealthAsync(string key, string? problem, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await UpdateHealthLockedAsync(key, problem, cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>A problem slot (the connection, or one sensor) is set or cleared; the health follows all slots.</summary>
    async Task UpdateHealthLockedAsync(string key, string? problem, CancellationToken cancellationToken)
    {
        if (problem is null)
            _problems.Remove(key);
        else
            _problems[key] = new SourceProblem(key, problem);
        if (_health.Update(_problems.Values.ToList(), clock.GetUtcNow()) is { } change)
        {
            try
            {
                await publish(change, cancellationToken);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                logger.LogError(ex, "{Source}: publishing the health change failed", options.Name);
            }
        }
    }
}
