using System.Collections.Concurrent;
using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using PowerEvents.Contracts;
using PowerEvents.SensorPoller.Meraki;
using PowerEvents.SensorPoller.Mqtt;
using PowerEvents.SensorPoller.Polling;
using PowerEvents.Testing;
using PowerEvents.Tools.MerakiSimulator;
using Xunit;
using Fault = PowerEvents.Tools.MerakiSimulator.Fault;

namespace PowerEvents.SensorPoller.Tests;

/// <summary>
/// Meraki MT readings pushed over MQTT (as an MR/MV gateway publishes them) through the real RabbitMQ with its MQTT
/// plugin, in this fixture's own virtual host (<c>vhost:user</c>): the same validation as polled readings, side by side
/// with cloud polling for one zone (issue 14 point 6).
/// </summary>
public sealed class MqttSourceTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>, IAsyncLifetime
{
    const string Key = "mqtt-test-key";
    const string Network = "N_MQTT";
    RunningSimulator _sim = null!;
    readonly ConcurrentQueue<object> _published = new();

    string MqttUser => $"{rabbit.VirtualHost}:{RabbitMqFixture.Username}";
    Uri Broker => new($"mqtt://127.0.0.1:{TestServers.MqttPort}");
    static Uri TlsBroker => new($"mqtts://127.0.0.1:{TestServers.MqttsPort}");

    /// <summary>SHA-256 of a PEM certificate test-servers.sh generated, as an operator writes it (colons, lower case).</summary>
    static string Fingerprint(string pemFile)
    {
        if (!File.Exists(pemFile))
            throw TestServers.NotRunning("rabbitmq", $"mqtts://127.0.0.1:{TestServers.MqttsPort} (no {pemFile})");
        using var certificate = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(pemFile);
        return string.Join(':', Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(certificate.RawData)).Chunk(2).Select(c => new string(c))).ToLowerInvariant();
    }

    public async Task InitializeAsync()
    {
        _sim = await RunningSimulator.StartAsync([Key], [
            $"--Simulator:Mqtt:Url={Broker}", $"--Simulator:Mqtt:Username={MqttUser}", $"--Simulator:Mqtt:Password={RabbitMqFixture.Password}",
        ]);
        _sim.World.AddOrganization("1", "Org");
        _sim.World.AddNetwork(Network, "1", "Server room", 35);
        _sim.World.SetSensor("Q3CA-MQTT-0001", Network, 31.5, DateTimeOffset.UtcNow.AddSeconds(-5), null, "a4:b1:c2:d3:e4:f5");
    }

    public async Task DisposeAsync() => await _sim.DisposeAsync();

    MqttSourceOptions Options(Action<MqttSourceOptions>? configure = null)
    {
        var options = new MqttSourceOptions
        {
            Name = "mqtt-local", BrokerUrl = Broker, AllowInsecureHttp = true, Username = MqttUser, Password = RabbitMqFixture.Password,
            NetworkIds = [Network], SensorIds = { ["a4b1c2d3e4f5"] = "Q3CA-MQTT-0001" },
            Interval = TimeSpan.FromSeconds(1), RetryBaseDelay = TimeSpan.FromMilliseconds(100), RequestTimeout = TimeSpan.FromSeconds(5),
        };
        configure?.Invoke(options);
        return options;
    }

    (MqttSource Source, Task Running, CancellationTokenSource Stop) Start(MqttSourceOptions options, CancellationTokenSource? stop = null)
    {
        stop ??= new CancellationTokenSource();
        var source = new MqttSource(options, (m, _) => { _published.Enqueue(m); return Task.CompletedTask; }, TimeProvider.System, NullLogger.Instance);
        return (source, source.RunAsync(stop.Token), stop);
    }

    IEnumerable<T> Published<T>() => _published.OfType<T>();

    /// <summary>Publishes (as the gateway) until the source has a reading: the subscription is in place from then on.</summary>
    async Task PublishUntilReceivedAsync(Func<bool> received)
    {
        var deadline = Stopwatch.StartNew();
        while (!received())
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(30))
                throw new TimeoutException("no MQTT reading arrived within 30 s (is the rabbitmq_mqtt listener up? scripts/test-servers.sh)");
            await _sim.Mqtt.PublishAsync(CancellationToken.None);
            await Task.Delay(200);
        }
    }

    async Task PublishRawAsync(string topic, string payload)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", TestServers.MqttPort)
            .WithCredentials(MqttUser, RabbitMqFixture.Password).WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V311).Build());
        await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload)
            .WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce).Build());
        await client.DisconnectAsync();
    }

    static async Task Until(Func<bool> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(30))
                throw new TimeoutException($"waited 30 s for {what}");
            await Task.Delay(25);
        }
    }

    [Fact]
    public async Task A_gateways_mt_reading_becomes_a_sample_of_the_mapped_sensor_once()
    {
        var (source, running, stop) = Start(Options());
        try
        {
            await PublishUntilReceivedAsync(() => Published<TemperatureSampled>().Any());
            // The gateway repeats the same reading: the same timestamp is the same reading.
            await _sim.Mqtt.PublishAsync(CancellationToken.None);
            await _sim.Mqtt.PublishAsync(CancellationToken.None);

            var sample = Assert.Single(Published<TemperatureSampled>());
            Assert.Equal(("mqtt-local", "Q3CA-MQTT-0001", Network, 31.5), (sample.Source, sample.SensorId, sample.Zone, sample.Celsius));
            Assert.True(DateTimeOffset.UtcNow - sample.SampledAt < TimeSpan.FromSeconds(60));
            Assert.True(source.Healthy);
        }
        finally
        {
            await stop.CancelAsync();
            await running;
        }
    }

    [Fact]
    public async Task Bad_messages_never_become_readings_and_make_the_source_unhealthy_until_the_sensor_reports_well()
    {
        var (source, running, stop) = Start(Options());
        try
        {
            await PublishUntilReceivedAsync(() => Published<TemperatureSampled>().Any());
            var topic = $"meraki/v1/mt/{Network}/ble/a4:b1:c2:d3:e4:f5/temperature";
            var now = DateTimeOffset.UtcNow;

            await PublishRawAsync(topic, $$"""{"ts":"{{now:O}}","celsius":95.0,"fahrenheit":95.0}"""); // wrong unit
            await Until(() => Published<SourceHealthChanged>().Any(), "the source reported unhealthy");
            var failed = Assert.Single(Published<SourceHealthChanged>());
            Assert.False(failed.Healthy);
            Assert.Contains("wrong unit", Assert.Single(failed.Problems), StringComparison.Ordinal);

            await PublishRawAsync(topic, $$"""{"ts":"{{now.AddHours(-3):O}}","celsius":20.0,"fahrenheit":68.0}"""); // stale
            await PublishRawAsync(topic, """{"ts":"not a time","celsius":20.0}""");
            await PublishRawAsync(topic, """{"celsius":""");
            await PublishRawAsync(topic, $$"""{"ts":"{{now.AddSeconds(1):O}}","celsius":29.0,"fahrenheit":84.2}""");
            await Until(() => Published<SourceHealthChanged>().Count() == 2, "the source recovered");

            Assert.Equal([31.5, 29.0], Published<TemperatureSampled>().Select(s => s.Celsius));
            Assert.True(Published<SourceHealthChanged>().Last().Healthy);
            Assert.True(source.Healthy);
        }
        finally
        {
            await stop.CancelAsync();
            await running;
        }
    }

    [Fact]
    public async Task A_dropped_broker_connection_is_reported_and_the_source_reconnects_on_its_own()
    {
        var (source, running, stop) = Start(Options());
        try
        {
            await PublishUntilReceivedAsync(() => Published<TemperatureSampled>().Any());

            // The broker drops the poller's connection (as at a broker restart): closed through the management API.
            using var management = new HttpClient { BaseAddress = rabbit.ManagementApi };
            management.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes($"{RabbitMqFixture.Username}:{RabbitMqFixture.Password}")));
            // Every MQTT connection of this test's virtual host: the poller's and the gateway's (which reconnects when it
            // next publishes). The management API lists a connection once its statistics are collected (every 5 s), so
            // the list is awaited until it holds the poller's (by its client id), not merely any.
            var mqttConnections = new List<string>();
            await Until(() =>
            {
                using var connections = System.Text.Json.JsonDocument.Parse(management.GetStringAsync($"vhosts/{Uri.EscapeDataString(rabbit.VirtualHost)}/connections").Result);
                var mqtt = connections.RootElement.EnumerateArray()
                    .Where(c => c.TryGetProperty("protocol", out var protocol) && protocol.GetString()?.Contains("MQTT", StringComparison.OrdinalIgnoreCase) == true).ToList();
                mqttConnections = mqtt.Select(c => c.GetProperty("name").GetString()!).ToList();
                return mqtt.Any(c => c.GetRawText().Contains("powerevents-sensorpoller-mqtt-local", StringComparison.Ordinal));
            }, "the poller's MQTT connection listed by the management API");
            foreach (var name in mqttConnections)
                (await management.DeleteAsync($"connections/{Uri.EscapeDataString(name)}")).EnsureSuccessStatusCode();

            await Until(() => Published<SourceHealthChanged>().Count() >= 2, "the loss and the reconnection reported");
            Assert.Equal([false, true], Published<SourceHealthChanged>().Take(2).Select(h => h.Healthy));
            Assert.Contains("connection to mqtt://127.0.0.1", Published<SourceHealthChanged>().First().Problems.Single(), StringComparison.Ordinal);

            _sim.World.SetSensor("Q3CA-MQTT-0001", Network, 33.0, DateTimeOffset.UtcNow, null, "a4:b1:c2:d3:e4:f5");
            await PublishUntilReceivedAsync(() => Published<TemperatureSampled>().Any(s => s.Celsius == 33.0));
            Assert.True(source.Healthy);
        }
        finally
        {
            await stop.CancelAsync();
            await running;
        }
    }

    [Fact]
    public async Task Wrong_credentials_are_reported_as_the_sources_failure_and_never_logged()
    {
        var (_, running, stop) = Start(Options(o => o.Password = "not-the-password"));
        try
        {
            await Until(() => Published<SourceHealthChanged>().Any(), "the failure reported");
            var failed = Published<SourceHealthChanged>().First();
            Assert.False(failed.Healthy);
            Assert.Contains($"cannot connect to mqtt://127.0.0.1:{TestServers.MqttPort}", failed.Problems.Single(), StringComparison.Ordinal);
            Assert.DoesNotContain("not-the-password", failed.Problems.Single(), StringComparison.Ordinal);
        }
        finally
        {
            await stop.CancelAsync();
            await running;
        }
    }

    [Fact]
    public async Task Cloud_polling_and_mqtt_feed_the_same_sensor_and_mqtt_keeps_sensing_when_the_cloud_is_down()
    {
        var meraki = new MerakiSourceOptions
        {
            Name = "meraki-cloud", BaseUrl = _sim.ApiBase, ApiKey = Key, OrganizationId = "1", AllowInsecureHttp = true,
            MaxRetries = 0, Interval = TimeSpan.FromMilliseconds(300),
        };
        var cloud = new SourceLoop(new MerakiSource(meraki, new MerakiClient(ResilientHttp.CreateClient(meraki, NullLogger.Instance), meraki), TimeProvider.System),
            (m, _) => { _published.Enqueue(m); return Task.CompletedTask; }, TimeProvider.System, NullLogger.Instance);
        var (_, running, stop) = Start(Options());
        var polling = cloud.RunAsync(stop.Token);
        try
        {
            await PublishUntilReceivedAsync(() => Published<TemperatureSampled>().Any(s => s.Source == "mqtt-local"));
            await Until(() => Published<TemperatureSampled>().Any(s => s.Source == "meraki-cloud"), "a cloud reading");
            // Both name the sensor by its serial: one sensor of the zone, whichever path its reading took.
            Assert.Equal(["Q3CA-MQTT-0001"], Published<TemperatureSampled>().Select(s => s.SensorId).Distinct());

            // The cloud goes away; the gateway keeps publishing new readings locally.
            _sim.World.AddFault(new Fault { Kind = "status", Status = 503, Remaining = -1 });
            await Until(() => Published<SourceHealthChanged>().Any(h => h.Source == "meraki-cloud" && !h.Healthy), "the cloud reported down");
            _sim.World.SetSensor("Q3CA-MQTT-0001", Network, 37.0, DateTimeOffset.UtcNow, null, "a4:b1:c2:d3:e4:f5");
            await PublishUntilReceivedAsync(() => Published<TemperatureSampled>().Any(s => s.Celsius == 37.0));

            var hot = Published<TemperatureSampled>().Single(s => s.Celsius == 37.0);
            Assert.Equal(("mqtt-local", "Q3CA-MQTT-0001"), (hot.Source, hot.SensorId));
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(running, polling);
        }
    }

    [Fact]
    public async Task The_poller_host_reads_an_mqtt_source_configured_like_any_other_and_publishes_to_the_bus()
    {
        var received = new ConcurrentQueue<TemperatureSampled>();
        var bus = await StartBusAsync(received);
        var poller = SensorPollerHost.Build([
            .. rabbit.HostArgs, "--Urls=http://127.0.0.1:0",
            "--SensorPoller:Mqtt:0:Name=mqtt-site", $"--SensorPoller:Mqtt:0:BrokerUrl={Broker}", "--SensorPoller:Mqtt:0:AllowInsecureHttp=true",
            $"--SensorPoller:Mqtt:0:Username={MqttUser}", $"--SensorPoller:Mqtt:0:Password={RabbitMqFixture.Password}",
            $"--SensorPoller:Mqtt:0:NetworkIds:0={Network}", "--SensorPoller:Mqtt:0:SensorIds:a4b1c2d3e4f5=Q3CA-MQTT-0001",
            "--SensorPoller:Mqtt:0:Zone=server-room",
        ]);
        try
        {
            await poller.StartAsync();
            await PublishUntilReceivedAsync(() => !received.IsEmpty);
            var sample = received.First();
            Assert.Equal(("mqtt-site", "Q3CA-MQTT-0001", "server-room", 31.5), (sample.Source, sample.SensorId, sample.Zone, sample.Celsius));
        }
        finally
        {
            await poller.StopAsync();
            await poller.DisposeAsync();
            await bus.StopAsync();
        }
    }

    /// <summary>A bus client in this fixture's virtual host collecting the samples the poller publishes.</summary>
    async Task<IBusControl> StartBusAsync(ConcurrentQueue<TemperatureSampled> received)
    {
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host("127.0.0.1", (ushort)rabbit.Port, rabbit.VirtualHost, h => { h.Username(RabbitMqFixture.Username); h.Password(RabbitMqFixture.Password); });
            cfg.ReceiveEndpoint($"test-mqtt-samples-{Guid.NewGuid():N}", e =>
            {
                e.AutoDelete = true;
                e.Durable = false;
                e.Handler<TemperatureSampled>(c => { received.Enqueue(c.Message); return Task.CompletedTask; });
            });
        });
        await bus.StartAsync();
        return bus;
    }

    [Fact]
    public async Task Over_tls_with_the_brokers_certificate_pinned_a_reading_arrives()
    {
        var (source, running, stop) = Start(Options(o =>
        {
            o.BrokerUrl = TlsBroker;
            o.AllowInsecureHttp = false;
            o.CertificateFingerprint = Fingerprint(TestServers.MqttServerCertificateFile);
        }));
        try
        {
            // The gateway publishes on the plain listener; the broker routes it to the poller's TLS session.
            await PublishUntilReceivedAsync(() => Published<TemperatureSampled>().Any());
            var sample = Published<TemperatureSampled>().First();
            Assert.Equal(("mqtt-local", "Q3CA-MQTT-0001", 31.5), (sample.Source, sample.SensorId, sample.Celsius));
            Assert.True(source.Healthy);
            Assert.Empty(Published<SourceHealthChanged>());
        }
        finally
        {
            await stop.CancelAsync();
            await running;
        }
    }

    [Theory]
    // Pinned to another certificate (the test CA's): refused although nothing else is wrong with the broker's.
    [InlineData(true, "is not the pinned one")]
    // Not pinned: the certificate must chain to a trusted root, and the throwaway self-signed test CA is trusted by nothing.
    [InlineData(false, "is not trusted (RemoteCertificateChainErrors)")]
    public async Task A_tls_broker_whose_certificate_is_refused_is_reported_with_the_reason_and_gives_no_reading(bool wrongPin, string reason)
    {
        var serverFingerprint = Fingerprint(TestServers.MqttServerCertificateFile);
        using var stop = new CancellationTokenSource();
        var (refused, refusedRunning, _) = Start(Options(o =>
        {
            o.BrokerUrl = TlsBroker;
            o.AllowInsecureHttp = false;
            o.CertificateFingerprint = wrongPin ? Fingerprint(TestServers.TestCaFile) : null;
        }), stop);
        // The same subscription without TLS: proves the gateway's readings were there to be had.
        var (_, controlRunning, _) = Start(Options(o => o.Name = "mqtt-control"), stop);
        try
        {
            await Until(() => Published<SourceHealthChanged>().Any(h => h.Source == "mqtt-local"), "the refusal reported");
            var failed = Published<SourceHealthChanged>().First(h => h.Source == "mqtt-local");
            Assert.False(failed.Healthy);
            var problem = Assert.Single(failed.Problems);
            Assert.Contains($"cannot connect to mqtts://127.0.0.1:{TestServers.MqttsPort}: TLS: the server's certificate", problem, StringComparison.Ordinal);
            Assert.Contains(reason, problem, StringComparison.Ordinal);
            if (wrongPin)
                Assert.Contains(serverFingerprint.Replace(":", "", StringComparison.Ordinal).ToUpperInvariant(), problem, StringComparison.Ordinal);

            await PublishUntilReceivedAsync(() => Published<TemperatureSampled>().Any(s => s.Source == "mqtt-control"));
            Assert.DoesNotContain(Published<TemperatureSampled>(), s => s.Source == "mqtt-local");
            Assert.False(refused.Healthy);
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(refusedRunning, controlRunning);
        }
    }

    [Fact]
    public async Task The_poller_process_takes_the_brokers_password_from_a_secret_file_and_reads_over_pinned_tls()
    {
        const string decoy = "plain-password-overridden-by-the-file";
        var secret = Path.GetTempFileName();
        await File.WriteAllTextAsync(secret, RabbitMqFixture.Password + "\n");
        var received = new ConcurrentQueue<TemperatureSampled>();
        var bus = await StartBusAsync(received);
        try
        {
            var environment = rabbit.Environment.ToDictionary(e => e.Key, e => (string?)e.Value);
            environment["SensorPoller__Mqtt__0__Name"] = "mqtt-tls";
            environment["SensorPoller__Mqtt__0__BrokerUrl"] = TlsBroker.ToString();
            environment["SensorPoller__Mqtt__0__CertificateFingerprint"] = Fingerprint(TestServers.MqttServerCertificateFile);
            environment["SensorPoller__Mqtt__0__Username"] = MqttUser;
            environment["SensorPoller__Mqtt__0__Password"] = decoy;
            environment["SensorPoller__Mqtt__0__Password_FILE"] = secret;
            environment["SensorPoller__Mqtt__0__NetworkIds__0"] = Network;
            environment["SensorPoller__Mqtt__0__SensorIds__a4b1c2d3e4f5"] = "Q3CA-MQTT-0001";
            await using var process = ServiceProcess.Start("SensorPoller", environment);

            await PublishUntilReceivedAsync(() => !received.IsEmpty);
            var sample = received.First();
            Assert.Equal(("mqtt-tls", "Q3CA-MQTT-0001", 31.5), (sample.Source, sample.SensorId, sample.Celsius));
            await process.TerminateAsync(TimeSpan.FromSeconds(30));
            Assert.Contains(process.Output, line => line.Contains($"connected to mqtts://127.0.0.1:{TestServers.MqttsPort}", StringComparison.Ordinal));
            // Connected with the file's password (the plain variable's would be refused), and logged neither.
            Assert.DoesNotContain(process.Output, line => line.Contains(decoy, StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(secret);
            await bus.StopAsync();
        }
    }

    [Theory]
    [InlineData("meraki/v1/mt/N_1/ble/a4:b1:c2:d3:e4:f5/temperature", """{"ts":"2026-12-02T15:00:00Z","celsius":22.5,"fahrenheit":72.5}""", "Q3CA-0001", null)]
    [InlineData("meraki/v1/mt/N_1/ble/00:11:22:33:44:55/temperature", """{"ts":1796223600,"celsius":22.5}""", "00:11:22:33:44:55", null)]
    [InlineData("meraki/v1/mt/N_1/ble/a4:b1:c2:d3:e4:f5/temperature", """{"ts":"2026-12-02T15:00:00Z","celsius":"hot"}""", null, "without celsius")]
    [InlineData("meraki/v1/mt/N_1/ble/a4:b1:c2:d3:e4:f5/temperature", """{"ts":"2026-12-02T15:00:00Z","celsius":250}""", null, "outside")]
    [InlineData("meraki/v1/mt/N_1/ble/a4:b1:c2:d3:e4:f5/temperature", """{"ts":"2026-12-02T17:00:00Z","celsius":20}""", null, "ahead of the poller")]
    [InlineData("meraki/v1/mt/N_1/other/a4:b1:c2:d3:e4:f5/temperature", """{}""", null, "unexpected topic")]
    public void Messages_are_checked_as_polled_readings_are(string topic, string payload, string? sensor, string? problem)
    {
        var options = Options(o => o.SensorIds = new(StringComparer.OrdinalIgnoreCase) { ["A4B1C2D3E4F5"] = "Q3CA-0001" });
        var (sample, _, rejected) = MqttSource.Parse(options, topic, payload, new DateTimeOffset(2026, 12, 2, 15, 0, 30, TimeSpan.Zero));

        Assert.Equal(sensor, sample?.SensorId);
        if (problem is null)
            Assert.Null(rejected);
        else
            Assert.Contains(problem, rejected!.Description, StringComparison.Ordinal);
    }
}
