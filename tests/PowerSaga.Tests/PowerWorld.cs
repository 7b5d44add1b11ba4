using System.Globalization;
using System.Net.Http.Json;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Npgsql;
using PowerEvents.AlarmEvaluator;
using PowerEvents.AlarmEvaluator.Power;
using PowerEvents.Contracts;
using PowerEvents.IloActuator;
using PowerEvents.RedfishSimulator;
using PowerEvents.Testing;
using PowerEvents.VCenterActuator;
using Xunit;

namespace PowerEvents.PowerSaga.Tests;

/// <summary>Whole-run tests share the machine's two cores with vcsim, RabbitMQ and PostgreSQL: run them one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PowerIntegrationCollection
{
    public const string Name = "power-integration";
}

/// <summary>
/// One test's world: its own vcsim, RabbitMQ virtual host and PostgreSQL database; the AlarmEvaluator (with the saga)
/// and the VCenterActuator configured against them, in this process or as their own processes.
/// </summary>
sealed class PowerWorld : IAsyncDisposable
{
    public const string Cluster = "cluster1";
    public const string Zone = "room-a";
    static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    readonly List<IAsyncDisposable> _owned = [];

    PowerWorld(VcsimProcess vcsim, RabbitMqFixture rabbit, PostgresFixture postgres)
    {
        Vcsim = vcsim;
        Rabbit = rabbit;
        Postgres = postgres;
    }

    public VcsimProcess Vcsim { get; }
    public RabbitMqFixture Rabbit { get; }
    public PostgresFixture Postgres { get; }

    /// <summary>Saga settings (keys below <c>Power</c>); tests change them before starting the evaluator.</summary>
    public Dictionary<string, string> Power { get; } = new()
    {
        ["DeadlinePollInterval"] = "00:00:00.200",
        ["StepRetries"] = "1",
        ["Clusters:0:Name"] = Cluster,
        ["Clusters:0:Zone"] = Zone,
        ["Clusters:0:ExternalZone"] = "true", // these tests publish the zone's alarms themselves
        ["Clusters:0:DefaultTier"] = "apps",
        ["Clusters:0:Tiers:0:Name"] = "apps",
        ["Clusters:0:Tiers:0:VmNamePatterns:0"] = "-00[34]$",
        ["Clusters:0:Tiers:1:Name"] = "databases",
        ["Clusters:0:Tiers:1:VmNamePatterns:0"] = "-002$",
        ["Clusters:0:InfrastructureVmPatterns:0"] = "-001$",
        ["Clusters:0:MaxParallelPerTier"] = "8",
        ["Clusters:0:GuestShutdownTimeout"] = "00:00:05",
        ["Clusters:0:TierDeadline"] = "00:00:30",
        ["Clusters:0:MaintenanceDeadline"] = "00:00:30",
        ["Clusters:0:HostShutdownDeadline"] = "00:00:30",
        ["Clusters:0:InventoryDeadline"] = "00:00:15",
    };

    /// <summary>Other AlarmEvaluator settings (full keys, e.g. the sensing zones).</summary>
    public Dictionary<string, string> Evaluator { get; } = [];

    /// <summary>The tiers the default configuration makes of vcsim's <c>vm-HH-NNN</c> names, in shutdown order.</summary>
    public static readonly string[][] TierSuffixes = [["-003", "-004"], ["-002"], ["-001"]];

    public static int TierOf(string vmName) => Array.FindIndex(TierSuffixes, t => t.Any(vmName.EndsWith));

    public static async Task<PowerWorld> StartAsync(IEnumerable<string> vcsimArguments)
    {
        var rabbit = new RabbitMqFixture();
        var postgres = new PostgresFixture();
        await rabbit.InitializeAsync();
        await postgres.InitializeAsync();
        var vcsim = await VcsimProcess.StartAsync(["-control", "127.0.0.1:0", .. vcsimArguments]);
        return new PowerWorld(vcsim, rabbit, postgres);
    }

    /// <summary>Other VCenterActuator settings (full keys), e.g. the ESXi hosts' own APIs.</summary>
    public Dictionary<string, string> Actuator { get; } = [];

    /// <summary>
    /// Each host's own API (vcsim's <c>-esxi-base-port</c>) as <c>VCenter:Hosts:&lt;name&gt;</c>, pinned to vcsim's certificate;
    /// a host in <paramref name="passwords"/> gets that password instead of the right one.
    /// </summary>
    public async Task UseEsxiHostsAsync(IReadOnlyDictionary<string, string>? passwords = null)
    {
        foreach (var host in (await StateAsync()).Hosts)
        {
            var prefix = $"VCenter:Hosts:{host.Name}:";
            Actuator[prefix + "Url"] = host.EsxiUrl ?? throw new InvalidOperationException("vcsim runs without -esxi-base-port");
            Actuator[prefix + "Username"] = EsxiUsername;
            Actuator[prefix + "Password"] = passwords?.GetValueOrDefault(host.Name) ?? EsxiPassword;
            Actuator[prefix + "CertificateFingerprint"] = Vcsim.Fingerprint;
        }
    }

    public const string EsxiUsername = "root";
    public const string EsxiPassword = "esxpass";

    Dictionary<string, string> ActuatorSettings() => new(Actuator)
    {
        ["VCenter:Url"] = Vcsim.Url.ToString(),
        ["VCenter:Username"] = VcsimProcess.Username,
        ["VCenter:Password"] = VcsimProcess.Password,
        ["VCenter:CertificateFingerprint"] = Vcsim.Fingerprint,
        ["VCenter:PollInterval"] = "00:00:00.100",
        ["VCenter:MaintenanceTimeout"] = "00:00:20",
        ["VCenter:HostShutdownTimeout"] = "00:00:20",
        ["VCenter:Retry:BaseDelay"] = "00:00:00.050",
        ["VCenter:Retry:MaxDelay"] = "00:00:00.500",
    };

    public async Task<WebApplication> StartEvaluatorInProcessAsync()
    {
        var app = AlarmEvaluatorHost.Build([.. Rabbit.HostArgs, .. Postgres.HostArgs, "--Urls=http://127.0.0.1:0",
            .. Power.Select(p => $"--Power:{p.Key}={p.Value}"), .. Evaluator.Select(p => $"--{p.Key}={p.Value}")]);
        await app.StartAsync();
        _owned.Add(app);
        await WaitUntilReadyAsync(app);
        EvaluatorApp = app;
        return app;
    }

    /// <summary>The in-process AlarmEvaluator, once started.</summary>
    public WebApplication? EvaluatorApp { get; private set; }

    public async Task<WebApplication> StartActuatorInProcessAsync()
    {
        var app = VCenterActuatorHost.Build([.. Rabbit.HostArgs, "--Urls=http://127.0.0.1:0", .. ActuatorSettings().Select(p => $"--{p.Key}={p.Value}")]);
        await app.StartAsync();
        _owned.Add(app);
        await WaitUntilReadyAsync(app);
        return app;
    }

    public ServiceProcess StartEvaluatorProcess()
    {
        var environment = Environment(Postgres.Environment);
        foreach (var (key, value) in Power)
            environment["Power__" + key.Replace(":", "__", StringComparison.Ordinal)] = value;
        return ServiceProcess.Start("AlarmEvaluator", environment);
    }

    public ServiceProcess StartActuatorProcess()
    {
        var environment = Environment(new Dictionary<string, string>());
        foreach (var (key, value) in ActuatorSettings())
            environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        return ServiceProcess.Start("VCenterActuator", environment);
    }

    Dictionary<string, string?> Environment(IReadOnlyDictionary<string, string> extra)
    {
        var environment = new Dictionary<string, string?>();
        foreach (var (key, value) in Rabbit.Environment)
            environment[key] = value;
        foreach (var (key, value) in extra)
            environment[key] = value;
        return environment;
    }

    static Task WaitUntilReadyAsync(WebApplication app) => InProcessHost.WaitUntilReadyAsync(app, TimeSpan.FromSeconds(60));

    public const string BmcUsername = "pe-ilo";
    public const string BmcPassword = "pe-ilo-secret";

    /// <summary>The Redfish BMC simulators, one per vcsim host (by vCenter host name), started by <see cref="StartBmcsAsync"/>.</summary>
    public Dictionary<string, BmcServer> Bmcs { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The password the IloActuator is configured with per host; a host not listed gets the right one.</summary>
    public Dictionary<string, string> BmcPasswords { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Short power-on settings: the minimum off time, reconnect poll and deadlines of a test.</summary>
    public void UseFastPowerOn(TimeSpan minimumOffTime)
    {
        Power["Clusters:0:MinimumOffTime"] = minimumOffTime.ToString("c", CultureInfo.InvariantCulture);
        Power["Clusters:0:ReconnectPollInterval"] = "00:00:00.200";
        Power["Clusters:0:HostPowerOnDeadline"] = "00:00:30";
        Power["Clusters:0:HostReconnectDeadline"] = "00:00:30";
        Power["Clusters:0:ExitMaintenanceDeadline"] = "00:00:20";
        Power["Clusters:0:PowerOnTierDeadline"] = "00:00:20";
    }

    /// <summary>One HTTPS Redfish BMC simulator per vcsim host, each telling vcsim when its server reaches On; running (as the hosts are).</summary>
    public async Task StartBmcsAsync(TimeSpan bootDelay)
    {
        foreach (var host in (await StateAsync()).Hosts)
        {
            var server = await BmcServer.StartAsync(new SimulatedBmcOptions
            {
                Name = host.Name, Username = BmcUsername, Password = BmcPassword, InitialPowerState = "On", BootDelay = bootDelay,
                VcsimControlUrl = Vcsim.ControlUrl, VcsimHost = host.Name,
            });
            Bmcs[host.Name] = server;
            _owned.Add(server);
        }
    }

    /// <summary>A real BMC reports Off once its server shut down; the simulators learn it from vcsim's state.</summary>
    public async Task BmcsFollowHostsOffAsync()
    {
        foreach (var host in (await StateAsync()).Hosts.Where(h => h.PowerState != "poweredOn"))
            Bmcs[host.Name].Bmc.SetPowerState("Off");
    }

    public async Task<WebApplication> StartIloActuatorInProcessAsync()
    {
        var settings = new List<string>
        {
            "--Bmc:RequestTimeout=00:00:02", "--Bmc:PowerOnTimeout=00:00:15", "--Bmc:PollInterval=00:00:00.100",
            "--Bmc:RetryAttempts=1", "--Bmc:RetryBaseDelay=00:00:00.100",
        };
        var index = 0;
        foreach (var (name, server) in Bmcs)
        {
            settings.AddRange([
                $"--Bmc:Hosts:{index}:Name={name}", $"--Bmc:Hosts:{index}:Url={server.BaseUrl}",
                $"--Bmc:Hosts:{index}:Username={BmcUsername}", $"--Bmc:Hosts:{index}:Password={BmcPasswords.GetValueOrDefault(name, BmcPassword)}",
                $"--Bmc:Hosts:{index}:CertificateFingerprint={server.Fingerprint}",
            ]);
            index++;
        }
        var app = IloActuatorHost.Build([.. Rabbit.HostArgs, "--Urls=http://127.0.0.1:0", .. settings]);
        await app.StartAsync();
        _owned.Add(app);
        await WaitUntilReadyAsync(app);
        return app;
    }

    /// <summary>Powers a VM off before any alarm (the operator's own doing): the power-on must leave it off. Its id comes from the plan preview.</summary>
    public async Task PowerOffVmBeforehandAsync(string vmName)
    {
        var evaluator = EvaluatorApp ?? throw new InvalidOperationException("start the evaluator first");
        var plan = await Http.GetFromJsonAsync<PlanPreviewResult>(new Uri(new Uri(evaluator.Urls.First()), $"/power/plan/{Cluster}"))
            ?? throw new InvalidOperationException("no plan");
        var vm = plan.Tiers.SelectMany(t => t.Vms).Single(v => v.Name == vmName);
        await PublishAsync(new VmShutdownRequested(Guid.NewGuid(), Cluster, vm.Id, vm.Name, TimeSpan.Zero));
        await Eventually(async () => (await StateAsync()).Vms.Single(v => v.Name == vmName).PowerState == "poweredOff",
            TimeSpan.FromSeconds(20), $"{vmName} off beforehand");
    }

    public Task ClearAlarmAsync() =>
        PublishAsync(new AlarmCleared(Guid.NewGuid(), Zone, DateTimeOffset.UtcNow, 30.0, []));

    /// <summary>Publishes an <see cref="AlarmRaised"/> for the zone, as the sensing side would.</summary>
    public Task RaiseAlarmAsync() =>
        PublishAsync(new AlarmRaised(Guid.NewGuid(), Zone, DateTimeOffset.UtcNow, 35.0, [new SensorReading("sensor-1", 41.5, DateTimeOffset.UtcNow)]));

    public async Task PublishAsync<T>(T message)
        where T : class
    {
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg => cfg.Host("127.0.0.1", (ushort)Rabbit.Port, Rabbit.VirtualHost, h =>
        {
            h.Username(RabbitMqFixture.Username);
            h.Password(RabbitMqFixture.Password);
        }));
        await bus.StartAsync();
        try
        {
            await bus.Publish(message);
        }
        finally
        {
            await bus.StopAsync();
        }
    }

    public sealed record SagaRow(string CurrentState, Guid? RunId, int Step, string? Run)
    {
        /// <summary>The stage of its plan a running shutdown or power-on is at (the header's <c>phase</c>).</summary>
        public string? Phase => Run is null ? null
            : System.Text.Json.JsonDocument.Parse(Run).RootElement.TryGetProperty("phase", out var phase) && phase.ValueKind == System.Text.Json.JsonValueKind.String
                ? phase.GetString() : null;
    }

    public async Task<SagaRow?> SagaAsync()
    {
        await using var connection = new NpgsqlConnection(Postgres.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT to_regclass('power_saga') IS NOT NULL", connection);
        if (!(bool)(await command.ExecuteScalarAsync())!)
            return null;
        await using var select = new NpgsqlCommand("SELECT current_state, run_id, step, run::text FROM power_saga", connection);
        await using var reader = await select.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
            return null;
        return new SagaRow(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetGuid(1), reader.GetInt32(2), reader.IsDBNull(3) ? null : reader.GetString(3));
    }

    /// <summary>How many steps of <paramref name="kind"/> the run has (its rows in <c>power_step</c>).</summary>
    public async Task<long> StepCountAsync(Guid runId, string kind) =>
        (long)(await StepQueryAsync("SELECT count(*) FROM power_step WHERE run_id = $1 AND kind = $2", runId, kind))[0][0];

    /// <summary>How many steps of <paramref name="kind"/> in <paramref name="stage"/> have <paramref name="status"/>.</summary>
    public async Task<long> StepCountAsync(Guid runId, string kind, int stage, string status) =>
        (long)(await StepQueryAsync("SELECT count(*) FROM power_step WHERE run_id = $1 AND kind = $2 AND stage = $3 AND status = $4", runId, kind, stage, status))[0][0];

    /// <summary>A step's status and attempts, found by the VM's name.</summary>
    public async Task<(string Status, int Attempts)?> StepStatusAsync(Guid runId, string kind, string name) =>
        (await StepQueryAsync("SELECT status, attempts FROM power_step WHERE run_id = $1 AND kind = $2 AND name = $3", runId, kind, name))
            .Select(r => ((string)r[0], (int)r[1])).Cast<(string, int)?>().FirstOrDefault();

    /// <summary>A step's target (the VM's id), found by the VM's name.</summary>
    public async Task<string> StepTargetAsync(Guid runId, string kind, string name) =>
        (string)(await StepQueryAsync("SELECT target FROM power_step WHERE run_id = $1 AND kind = $2 AND name = $3", runId, kind, name))[0][0];

    async Task<List<object[]>> StepQueryAsync(string sql, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(Postgres.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<object[]>();
        while (await reader.ReadAsync())
        {
            var row = new object[reader.FieldCount];
            reader.GetValues(row);
            rows.Add(row);
        }
        return rows;
    }

    public sealed record HistoryRow(string Step, string Target, string Outcome, string Detail);

    public async Task<IReadOnlyList<HistoryRow>> HistoryAsync(Guid runId)
    {
        await using var connection = new NpgsqlConnection(Postgres.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT step, target, outcome, detail FROM power_run_history WHERE run_id = $1 ORDER BY id", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = runId });
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<HistoryRow>();
        while (await reader.ReadAsync())
            rows.Add(new HistoryRow(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3)));
        return rows;
    }

    public async Task<SagaRow> WaitForStateAsync(string state, TimeSpan timeout)
    {
        SagaRow? row = null;
        await Eventually(async () => (row = await SagaAsync())?.CurrentState == state, timeout, $"saga in state {state} (last: {row?.CurrentState ?? "none"})");
        return row!;
    }

    public async Task<SagaRow> WaitForAsync(Func<SagaRow, bool> condition, TimeSpan timeout, string what)
    {
        SagaRow? row = null;
        await Eventually(async () => (row = await SagaAsync()) is { } r && condition(r), timeout, $"{what} (last: {row?.CurrentState ?? "none"})");
        return row!;
    }

    public Task<VcsimState> StateAsync() => VcsimState.ReadAsync(Vcsim);

    public static async Task Eventually(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Not true after {timeout}: {what}");
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
            await owned.DisposeAsync();
        await Vcsim.DisposeAsync();
        await Postgres.DisposeAsync();
        await Rabbit.DisposeAsync();
    }

    public void Own(IAsyncDisposable disposable) => _owned.Add(disposable);
}

/// <summary>vcsim's control endpoint (<c>GET /state</c>): what the simulated vCenter did, with its journal of transitions.</summary>
sealed record VcsimState(bool VcenterReachable, List<VcsimState.Host> Hosts, List<VcsimState.Vm> Vms, List<VcsimState.Entry> Journal,
    List<VcsimState.Cluster>? Clusters = null)
{
    /// <summary>A cluster's settings (with the real-cluster flags).</summary>
    public sealed record Cluster(string Name, string Moref, bool HaEnabled, bool AdmissionControl, bool DrsEnabled, string DrsBehavior, bool Vsan, bool VclsEnabled);

    static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    public static async Task<VcsimState> ReadAsync(VcsimProcess vcsim) =>
        await Http.GetFromJsonAsync<VcsimState>(new Uri(vcsim.ControlUrl!, "/state")) ?? throw new InvalidOperationException("empty /state");

    public sealed record Host(string Name, string PowerState, string ConnectionState, bool InMaintenance, string? EsxiUrl = null);

    public sealed record Vm(string Name, string Host, string PowerState, string GuestState, bool ToolsRunning, bool Vcls = false);

    public sealed record Entry(int Seq, string Time, string Kind, string Name, string Event, string? From, string To, string? Cause)
    {
        public DateTimeOffset At => DateTimeOffset.Parse(Time, CultureInfo.InvariantCulture);
    }
}
