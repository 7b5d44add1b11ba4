using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace PowerEvents.Testing;

/// <summary>
/// A RabbitMQ node of the test's own, started and stopped by scripts/test-servers.sh with a state directory and ports
/// of its own, so that a test can take the broker away (a NAS update, a container recreated) without touching the
/// shared test server. Its data survives a stop: durable queues and persistent messages are there after a restart.
/// </summary>
public sealed class PrivateRabbitMq : IAsyncDisposable
{
    readonly string _stateDir;
    readonly Dictionary<string, string> _scriptEnvironment;
    readonly HttpClient _management;

    PrivateRabbitMq(string stateDir, int port, int managementPort, int mqttPort, int mqttsPort)
    {
        _stateDir = stateDir;
        Port = port;
        _scriptEnvironment = new Dictionary<string, string>
        {
            ["PE_STATE_DIR"] = stateDir,
            ["PE_RABBITMQ_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["PE_RABBITMQ_MGMT_PORT"] = managementPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["PE_MQTT_PORT"] = mqttPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["PE_MQTTS_PORT"] = mqttsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        _management = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{managementPort}/api/"), Timeout = TimeSpan.FromSeconds(30) };
        _management.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.ASCII.GetBytes($"{RabbitMqFixture.Username}:{RabbitMqFixture.Password}")));
    }

    public int Port { get; }

    /// <summary>Configuration for a service process, as environment variables (the default virtual host).</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>
    {
        ["RabbitMq__Host"] = "127.0.0.1",
        ["RabbitMq__Port"] = Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["RabbitMq__VirtualHost"] = "/",
        ["RabbitMq__Username"] = RabbitMqFixture.Username,
        ["RabbitMq__Password"] = RabbitMqFixture.Password,
    };

    public static async Task<PrivateRabbitMq> StartAsync()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pe-rabbit-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        // test-servers.sh uses the AMQP port + 2 (distribution) and + 3 (epmd): find a base whose neighbours are free too.
        var port = FreePortRun(4);
        var broker = new PrivateRabbitMq(dir, port, FreePortRun(1), FreePortRun(1), FreePortRun(1));
        await broker.StartServerAsync();
        return broker;
    }

    public Task StartServerAsync() => RunScriptAsync("start");

    public Task StopServerAsync() => RunScriptAsync("stop");

    /// <summary>The names of the queues on the default virtual host.</summary>
    public async Task<IReadOnlyList<string>> QueueNamesAsync()
    {
        using var queues = JsonDocument.Parse(await _management.GetStringAsync("queues/%2F?columns=name"));
        return queues.RootElement.EnumerateArray().Select(q => q.GetProperty("name").GetString()!).ToList();
    }

    /// <summary>Each queue on the default virtual host with its consumer count and messages ready and unacknowledged.</summary>
    public async Task<IReadOnlyList<(string Name, int Consumers, int Ready, int Unacked)>> QueuesAsync() =>
        ManagementQueues.Parse(await _management.GetStringAsync("queues/%2F?columns=name,consumers,messages_ready,messages_unacknowledged"));

    async Task RunScriptAsync(string verb)
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(TestServers.RepositoryRoot, "scripts", "test-servers.sh"));
        info.ArgumentList.Add(verb);
        info.ArgumentList.Add("rabbitmq");
        foreach (var (key, value) in _scriptEnvironment)
            info.Environment[key] = value;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"test-servers.sh {verb} rabbitmq exited with {process.ExitCode}:\n{await stdout}\n{await stderr}");
    }

    static int FreePortRun(int length)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            // Below the kernel's ephemeral range (32768-60999 by default): while the broker is stopped, the services'
            // reconnect attempts to a port in that range can self-connect (source port = destination port on loopback)
            // and hold it, so the restarted broker found its port in use (seen in CI: eaddrinuse on 54840).
            var first = Random.Shared.Next(20000, 32000);
            if (Enumerable.Range(first, length).All(IsFree))
                return first;
        }
        throw new InvalidOperationException($"no run of {length} free TCP ports found");
    }

    static bool IsFree(int port)
    {
        try
        {
            using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopServerAsync();
        }
        finally
        {
            _management.Dispose();
            try
            {
                Directory.Delete(_stateDir, recursive: true);
            }
            catch (IOException)
            {
                // A file still held by a slow-exiting node: the directory is under /tmp and unique to this run.
            }
        }
    }
}
