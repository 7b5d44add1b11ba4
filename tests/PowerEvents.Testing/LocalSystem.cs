using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;

namespace PowerEvents.Testing;

/// <summary>What a <see cref="LocalSystem"/> runs against: the test's broker and database, and its own vcsim (with <c>-control</c>).</summary>
public sealed class LocalSystemOptions
{
    public required IReadOnlyDictionary<string, string> RabbitMq { get; init; }
    public required IReadOnlyDictionary<string, string> Postgres { get; init; }
    public required VcsimProcess Vcsim { get; init; }
    public string Zone { get; init; } = "server-room";
    public string Cluster { get; init; } = "cluster1";

    /// <summary>The cluster's <c>Power:Clusters:0:MinimumOffTime</c>: short, so a test sees the power-on soon after the clear.</summary>
    public TimeSpan MinimumOffTime { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Every service's <c>ConsumerCheck:Grace</c> (looked at every 2 s): short, so that a queue left without its consumer
    /// shows within the test, as a restart of its endpoint in the output. Null: the default (2 min).
    /// </summary>
    public TimeSpan? ConsumerCheckGrace { get; init; }

    /// <summary>More environment for one service (e.g. <c>["AlarmEvaluator"] = { ["Power__DryRun"] = "true" }</c>); wins over the defaults.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> ServiceEnvironment { get; init; } =
        new Dictionary<string, IReadOnlyDictionary<string, string>>();
}

/// <summary>
/// The whole system as separate OS processes, as scripts/run-local.sh runs it, for end-to-end tests: the Meraki
/// simulator (demo inventory), one Redfish BMC per vcsim cluster host (powering the host on in vcsim), the webhook
/// receiver (verifying signatures) and the five services, configured only through environment variables with
/// their secrets as <c>*_FILE</c>. The demo zone's sensors report every second; the zone raises after two readings
/// over one second at or above 35 °C (2 of 3 sensors) and clears below 30 °C the same way.
/// </summary>
public sealed class LocalSystem : IAsyncDisposable
{
    public const string Organization = "549236";
    public const string Network = "N_24329156";
    public static readonly IReadOnlyList<string> Sensors = ["Q3CA-AAAA-0001", "Q3CA-AAAA-0002", "Q3CA-AAAA-0003"];
    public static readonly IReadOnlyList<string> ServiceNames = ["SensorPoller", "AlarmEvaluator", "VCenterActuator", "IloActuator", "Notifier"];

    readonly List<ToolProcess> _tools = [];
    readonly Dictionary<string, ServiceProcess> _services = [];
    readonly string _secrets = Directory.CreateTempSubdirectory("pe-local-system-").FullName;
    readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    readonly HttpClient _bmcHttp;
    Uri _vcsimControl = null!;

    LocalSystem()
    {
        // The BMC simulators' control API on their HTTPS port: their certificates are pinned from the ready lines.
        _bmcHttp = new HttpClient(new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, certificate, _, _) => certificate is not null && Bmcs.Any(b =>
                string.Equals(b.Fingerprint.Replace(":", "", StringComparison.Ordinal), certificate.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256), StringComparison.OrdinalIgnoreCase)),
        }) { Timeout = TimeSpan.FromSeconds(10) };
    }

    public Uri MerakiUrl { get; private set; } = null!;
    public Uri ReceiverUrl { get; private set; } = null!;
    public IReadOnlyList<SimulatedBmc> Bmcs { get; private set; } = [];
    public IReadOnlyDictionary<string, ServiceProcess> Services => _services;

    /// <summary>The secrets handed to the processes: tests check that no output shows them.</summary>
    public IReadOnlyList<string> SecretValues { get; private set; } = [];

    /// <summary>What the services' consumer checks logged (an endpoint restarted, a service stopped): nothing in a normal run.</summary>
    public IReadOnlyList<string> ConsumerCheckLines => _services
        .SelectMany(s => s.Value.Output.Where(l => l.Contains("QueueConsumerCheck", StringComparison.Ordinal)).Select(l => $"{s.Key}: {l}"))
        .ToList();

    /// <summary>Every process's output, for failure messages and secret checks.</summary>
    public string AllOutput => string.Join('\n',
        _tools.Select(t => $"--- {t.Name}\n{t.OutputText}").Concat(_services.Select(s => $"--- {s.Key}\n{s.Value.OutputText}")));

    public sealed record SimulatedBmc(string Host, Uri Url, string Fingerprint);

    public static async Task<LocalSystem> StartAsync(LocalSystemOptions options, TimeSpan? timeout = null)
    {
        var system = new LocalSystem();
        try
        {
            await system.StartCoreAsync(options, timeout ?? TimeSpan.FromSeconds(90));
            return system;
        }
        catch
        {
            await system.DisposeAsync();
            throw;
        }
    }

    async Task StartCoreAsync(LocalSystemOptions options, TimeSpan timeout)
    {
        var merakiKey = Secret("meraki_api_key");
        var bmcPassword = Secret("bmc_password");
        var signingSecret = Secret("webhook_signing_secret");
        SecretValues = [merakiKey, bmcPassword, signingSecret];
        var clock = Stopwatch.StartNew();
        TimeSpan Left() => timeout - clock.Elapsed;

        MerakiUrl = new Uri($"http://127.0.0.1:{ServiceProcess.FreeTcpPort()}/");
        var meraki = Track(ToolProcess.Start("MerakiSimulator", ["--urls", MerakiUrl.ToString().TrimEnd('/'), "--Simulator:Demo=true"],
            new Dictionary<string, string> { ["Simulator__ApiKeys__0"] = merakiKey }));
        ReceiverUrl = new Uri($"http://127.0.0.1:{ServiceProcess.FreeTcpPort()}/");
        var receiver = Track(ToolProcess.Start("WebhookReceiver", ["--urls", ReceiverUrl.ToString().TrimEnd('/')],
            new Dictionary<string, string> { ["Receiver__SigningSecret"] = signingSecret }));

        var control = options.Vcsim.ControlUrl ?? throw new InvalidOperationException("Start vcsim with -control 127.0.0.1:0 for a LocalSystem.");
        _vcsimControl = control;
        using var vcsimState = JsonDocument.Parse(await _http.GetStringAsync(new Uri(control, "state")));
        var hosts = vcsimState.RootElement.GetProperty("hosts").EnumerateArray()
            .Where(h => h.GetProperty("cluster").GetString() == options.Cluster).Select(h => h.GetProperty("name").GetString()!).ToList();
        if (hosts.Count == 0)
            throw new InvalidOperationException($"vcsim has no host in cluster {options.Cluster}");
        var bmcArgs = new List<string>();
        for (var i = 0; i < hosts.Count; i++)
            bmcArgs.AddRange([$"--Bmcs:{i}:Name={hosts[i]}", $"--Bmcs:{i}:VcsimHost={hosts[i]}", $"--Bmcs:{i}:Port=0",
                $"--Bmcs:{i}:Username=powerevents", $"--Bmcs:{i}:VcsimControlUrl={control}", $"--Bmcs:{i}:BootDelay=00:00:01",
                // The hosts run: so do their servers. After a shutdown through vCenter see BmcsFollowHostsOffAsync.
                $"--Bmcs:{i}:InitialPowerState=On"]);
        // The password through the environment, not the command line (visible in ps).
        var bmcs = Track(ToolProcess.Start("RedfishSimulator", bmcArgs,
            Enumerable.Range(0, hosts.Count).ToDictionary(i => $"REDFISH_SIM_Bmcs__{i}__Password", _ => bmcPassword)));

        await meraki.WaitUntilAnswersAsync(new Uri(MerakiUrl, "_sim/requests"), Left());
        await receiver.WaitUntilAnswersAsync(new Uri(ReceiverUrl, "health"), Left());
        var ready = await bmcs.WaitForLinesAsync(l => l.StartsWith("REDFISH_READY ", StringComparison.Ordinal), hosts.Count, Left());
        Bmcs = ready.Select(line =>
        {
            var fields = line.Split(' ').Select(f => f.Split('=', 2)).Where(f => f.Length == 2).ToDictionary(f => f[0], f => f[1]);
            return new SimulatedBmc(fields["name"], new Uri(fields["url"]), fields["fingerprint"]);
        }).ToList();

        await SetZoneCelsiusAsync(24);

        foreach (var service in ServiceNames)
        {
            var environment = new Dictionary<string, string?>(options.RabbitMq.Select(p => KeyValuePair.Create(p.Key, (string?)p.Value)));
            foreach (var (key, value) in options.Postgres)
                environment[key] = value;
            foreach (var (key, value) in Defaults(service, options))
                environment[key] = value;
            if (options.ConsumerCheckGrace is { } grace)
            {
                environment["ConsumerCheck__Grace"] = grace.ToString("c", System.Globalization.CultureInfo.InvariantCulture);
                environment["ConsumerCheck__Interval"] = "00:00:02";
            }
            if (options.ServiceEnvironment.TryGetValue(service, out var extra))
                foreach (var (key, value) in extra)
                    environment[key] = value;
            _services[service] = ServiceProcess.Start(service, environment);
        }
        foreach (var service in _services.Values)
            await service.WaitUntilReadyAsync(Left());
    }

    IEnumerable<KeyValuePair<string, string>> Defaults(string service, LocalSystemOptions options)
    {
        var settings = service switch
        {
            "SensorPoller" => new Dictionary<string, string>
            {
                ["SensorPoller__Meraki__0__Name"] = "meraki-sim",
                ["SensorPoller__Meraki__0__BaseUrl"] = new Uri(MerakiUrl, "api/v1/").ToString(),
                ["SensorPoller__Meraki__0__OrganizationId"] = Organization,
                ["SensorPoller__Meraki__0__NetworkIds__0"] = Network,
                ["SensorPoller__Meraki__0__Interval"] = "00:00:01",
                ["SensorPoller__Meraki__0__AllowInsecureHttp"] = "true", // the simulator speaks plain http
                ["SensorPoller__Meraki__0__ApiKey_FILE"] = Path.Combine(_secrets, "meraki_api_key"),
            },
            "AlarmEvaluator" => new Dictionary<string, string>
            {
                ["AlarmEvaluator__Zones__0__Name"] = options.Zone,
                ["AlarmEvaluator__Zones__0__Quorum"] = "2",
                ["AlarmEvaluator__Zones__0__ConsecutiveSamples"] = "2",
                ["AlarmEvaluator__Zones__0__HoldTime"] = "00:00:01",
                ["AlarmEvaluator__Zones__0__StaleAfter"] = "00:00:30",
                ["AlarmEvaluator__StaleCheckInterval"] = "00:00:01",
                ["AlarmEvaluator__OutboxInterval"] = "00:00:01",
                ["Power__Clusters__0__Name"] = options.Cluster,
                ["Power__Clusters__0__Zone"] = options.Zone,
                ["Power__Clusters__0__MinimumOffTime"] = options.MinimumOffTime.ToString("c", System.Globalization.CultureInfo.InvariantCulture),
                ["Power__Clusters__0__ReconnectPollInterval"] = "00:00:00.500",
            },
            "VCenterActuator" => new Dictionary<string, string>
            {
                ["VCenter__Url"] = options.Vcsim.Url.ToString(),
                ["VCenter__Username"] = VcsimProcess.Username,
                ["VCenter__Password"] = VcsimProcess.Password,
                ["VCenter__CertificateFingerprint"] = options.Vcsim.Fingerprint,
                ["VCenter__PollInterval"] = "00:00:00.200",
            },
            "IloActuator" => Bmcs.SelectMany((bmc, i) => new Dictionary<string, string>
            {
                [$"Bmc__Hosts__{i}__Name"] = bmc.Host,
                [$"Bmc__Hosts__{i}__Url"] = bmc.Url.ToString(),
                [$"Bmc__Hosts__{i}__Username"] = "powerevents",
                [$"Bmc__Hosts__{i}__Password_FILE"] = Path.Combine(_secrets, "bmc_password"),
                [$"Bmc__Hosts__{i}__CertificateFingerprint"] = bmc.Fingerprint,
                [$"Bmc__Hosts__{i}__SystemId"] = "1",
            }).Append(KeyValuePair.Create("Bmc__PollInterval", "00:00:00.500")).ToDictionary(),
            "Notifier" => new Dictionary<string, string>
            {
                ["Notifier__Site"] = "local-system-test",
                ["Notifier__Destinations__0__Name"] = "receiver",
                ["Notifier__Destinations__0__Format"] = "generic",
                ["Notifier__Destinations__0__Url"] = new Uri(ReceiverUrl, "hooks/powerevents").ToString(),
                ["Notifier__Destinations__0__AllowHttp"] = "true",
                ["Notifier__Destinations__0__SigningSecret_FILE"] = Path.Combine(_secrets, "webhook_signing_secret"),
                ["Notifier__Delivery__PollInterval"] = "00:00:01",
            },
            _ => throw new ArgumentOutOfRangeException(nameof(service), service, null),
        };
        if (service == "AlarmEvaluator")
            for (var i = 0; i < Sensors.Count; i++)
                settings[$"AlarmEvaluator__Zones__0__Sensors__{i}"] = Sensors[i];
        return settings;
    }

    /// <summary>Every sensor of the demo zone reads <paramref name="celsius"/> from now on, a new reading every second.</summary>
    public async Task SetZoneCelsiusAsync(double celsius)
    {
        foreach (var serial in Sensors)
        {
            using var response = await _http.PutAsJsonAsync(new Uri(MerakiUrl, $"_sim/sensors/{serial}"),
                new { networkId = Network, celsius, reportEverySeconds = 1 });
            response.EnsureSuccessStatusCode();
        }
    }

    /// <summary>
    /// A real BMC reports Off once its server shut down (ESXi shut down through vCenter); the simulators do not see
    /// that, so they are told: every BMC whose host vcsim shows powered off now reports Off. Returns those hosts.
    /// </summary>
    public async Task<IReadOnlyList<string>> BmcsFollowHostsOffAsync()
    {
        using var state = JsonDocument.Parse(await _http.GetStringAsync(new Uri(_vcsimControl, "state")));
        var off = state.RootElement.GetProperty("hosts").EnumerateArray()
            .Where(h => h.GetProperty("powerState").GetString() != "poweredOn").Select(h => h.GetProperty("name").GetString()!).ToHashSet();
        var followed = new List<string>();
        foreach (var bmc in Bmcs.Where(b => off.Contains(b.Host)))
        {
            using var response = await _bmcHttp.PostAsJsonAsync(new Uri(bmc.Url, "control/power"), new { state = "Off" });
            response.EnsureSuccessStatusCode();
            followed.Add(bmc.Host);
        }
        return followed;
    }

    /// <summary>What the receiver got so far, in order: each call's generic payload and the receiver's signature verdict.</summary>
    public async Task<IReadOnlyList<ReceivedWebhook>> ReceivedWebhooksAsync()
    {
        using var calls = JsonDocument.Parse(await _http.GetStringAsync(new Uri(ReceiverUrl, "control/received")));
        return calls.RootElement.EnumerateArray().Select(call => new ReceivedWebhook(
            JsonDocument.Parse(call.GetProperty("body").GetString()!).RootElement.Clone(),
            call.GetProperty("signature").GetString(),
            call.GetProperty("status").GetInt32())).ToList();
    }

    public sealed record ReceivedWebhook(JsonElement Payload, string? Signature, int Status)
    {
        public string EventType => Payload.GetProperty("eventType").GetString()!;
    }

    /// <summary>Polls the receiver until a webhook of <paramref name="eventType"/> arrived.</summary>
    public async Task<ReceivedWebhook> WaitForWebhookAsync(string eventType, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (_services.Values.Any(s => s.HasExited))
                throw new InvalidOperationException($"A service exited:\n{AllOutput}");
            if ((await ReceivedWebhooksAsync()).FirstOrDefault(w => w.EventType == eventType) is { } webhook)
                return webhook;
            await Task.Delay(200);
        }
        throw new TimeoutException($"No {eventType} webhook within {timeout}:\n{AllOutput}");
    }

    string Secret(string name)
    {
        var value = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));
        File.WriteAllText(Path.Combine(_secrets, name), value);
        return value;
    }

    ToolProcess Track(ToolProcess tool)
    {
        _tools.Add(tool);
        return tool;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var service in _services.Values)
        {
            if (!service.HasExited)
            {
                try
                {
                    await service.TerminateAsync(TimeSpan.FromSeconds(30));
                }
                catch (OperationCanceledException)
                {
                    // Killed below.
                }
            }
            await service.DisposeAsync();
        }
        foreach (var tool in _tools)
            await tool.DisposeAsync();
        _http.Dispose();
        _bmcHttp.Dispose();
        Directory.Delete(_secrets, recursive: true);
    }
}
