using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Xunit;

namespace PowerEvents.Testing;

/// <summary>
/// The real RabbitMQ test server, with a virtual host of its own for this fixture's lifetime so that
/// concurrent test runs and leftovers from earlier runs never share queues.
/// </summary>
public sealed class RabbitMqFixture : IAsyncLifetime
{
    public const string Username = "guest";
    public const string Password = "guest";

    readonly HttpClient _management = new()
    {
        BaseAddress = new Uri($"http://127.0.0.1:{TestServers.RabbitMqManagementPort}/api/"),
        Timeout = TimeSpan.FromSeconds(10),
    };

    public string VirtualHost { get; } = $"pe-test-{Guid.NewGuid():N}";
    public int Port => TestServers.RabbitMqPort;
    public Uri ManagementApi => _management.BaseAddress!;

    /// <summary>Configuration for a service host, as command-line arguments.</summary>
    public IEnumerable<string> HostArgs =>
    [
        "--RabbitMq:Host=127.0.0.1",
        $"--RabbitMq:Port={Port}",
        $"--RabbitMq:VirtualHost={VirtualHost}",
        $"--RabbitMq:Username={Username}",
        $"--RabbitMq:Password={Password}",
    ];

    /// <summary>Configuration for a service process, as environment variables.</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>
    {
        ["RabbitMq__Host"] = "127.0.0.1",
        ["RabbitMq__Port"] = Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["RabbitMq__VirtualHost"] = VirtualHost,
        ["RabbitMq__Username"] = Username,
        ["RabbitMq__Password"] = Password,
    };

    public async Task InitializeAsync()
    {
        _management.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.ASCII.GetBytes($"{Username}:{Password}")));
        try
        {
            (await _management.PutAsync($"vhosts/{VirtualHost}", null)).EnsureSuccessStatusCode();
        }
        catch (HttpRequestException ex)
        {
            throw TestServers.NotRunning("rabbitmq", $"127.0.0.1:{TestServers.RabbitMqManagementPort} (management API)", ex);
        }

        (await _management.PutAsJsonAsync($"permissions/{VirtualHost}/{Username}",
            new { configure = ".*", write = ".*", read = ".*" })).EnsureSuccessStatusCode();
    }

    readonly List<string> _accounts = [];

    /// <summary>
    /// A broker account of this fixture's own with the permissions <c>deploy/rabbitmq/users.json</c> gives
    /// <paramref name="account"/> (e.g. <c>alarm-evaluator</c>) on this virtual host: the deployment's least-privilege
    /// matrix, under a name unique to the fixture (accounts are broker-wide). Deleted with the fixture.
    /// </summary>
    public async Task<BrokerAccount> AddAccountAsync(string account)
    {
        using var spec = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(TestServers.RepositoryRoot, "deploy", "rabbitmq", "users.json")));
        var patterns = spec.RootElement.GetProperty("patterns").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        var rights = spec.RootElement.GetProperty("users").GetProperty(account);
        string Expand(string key) => patterns.Aggregate(rights.GetProperty(key).GetString()!, (r, p) => r.Replace("{" + p.Key + "}", p.Value, StringComparison.Ordinal));

        var created = new BrokerAccount($"{VirtualHost}-{account}", Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)));
        _accounts.Add(created.Username);
        (await _management.PutAsJsonAsync($"users/{created.Username}", new
        {
            password = created.Password,
            tags = rights.TryGetProperty("tags", out var tags) ? tags.GetString() : "",
        })).EnsureSuccessStatusCode();
        (await _management.PutAsJsonAsync($"permissions/{VirtualHost}/{created.Username}",
            new { configure = Expand("configure"), write = Expand("write"), read = Expand("read") })).EnsureSuccessStatusCode();
        return created;
    }

    /// <summary>Configuration for a service host connecting as <paramref name="account"/>, as command-line arguments.</summary>
    public IEnumerable<string> HostArgsFor(BrokerAccount account) =>
    [
        "--RabbitMq:Host=127.0.0.1",
        $"--RabbitMq:Port={Port}",
        $"--RabbitMq:VirtualHost={VirtualHost}",
        $"--RabbitMq:Username={account.Username}",
        $"--RabbitMq:Password={account.Password}",
    ];

    /// <summary>Names of the queues in this fixture's virtual host (as the management UI shows them).</summary>
    public async Task<IReadOnlyList<string>> QueueNamesAsync()
    {
        var queues = await _management.GetFromJsonAsync<List<QueueInfo>>($"queues/{VirtualHost}") ?? [];
        return queues.Select(q => q.Name).ToList();
    }

    /// <summary>Each queue in this fixture's virtual host with its consumer count and messages ready and unacknowledged.</summary>
    public async Task<IReadOnlyList<(string Name, int Consumers, int Ready, int Unacked)>> QueuesAsync() =>
        ManagementQueues.Parse(await _management.GetStringAsync($"queues/{VirtualHost}?columns=name,consumers,messages_ready,messages_unacknowledged"));

    /// <summary>The names the clients gave their connections to this fixture's virtual host (e.g. <c>vcenter-actuator-consumer-check</c>).</summary>
    public async Task<IReadOnlyList<string>> ClientConnectionNamesAsync()
    {
        using var connections = JsonDocument.Parse(await _management.GetStringAsync($"vhosts/{VirtualHost}/connections"));
        return connections.RootElement.EnumerateArray()
            .Select(c => c.TryGetProperty("client_properties", out var p) && p.TryGetProperty("connection_name", out var n) ? n.GetString() : null)
            .OfType<string>().ToList();
    }

    /// <summary>Deletes a queue of this fixture's virtual host, as an operator could by mistake.</summary>
    public async Task DeleteQueueAsync(string queue) =>
        (await _management.DeleteAsync($"queues/{VirtualHost}/{Uri.EscapeDataString(queue)}")).EnsureSuccessStatusCode();

    /// <summary>Replaces <paramref name="account"/>'s permissions on this fixture's virtual host.</summary>
    public async Task SetPermissionsAsync(BrokerAccount account, string configure, string write, string read) =>
        (await _management.PutAsJsonAsync($"permissions/{VirtualHost}/{account.Username}", new { configure, write, read })).EnsureSuccessStatusCode();

    public async Task DisposeAsync()
    {
        try
        {
            foreach (var account in _accounts)
                await _management.DeleteAsync($"users/{account}");
            await _management.DeleteAsync($"vhosts/{VirtualHost}");
        }
        finally
        {
            _management.Dispose();
        }
    }

    sealed record QueueInfo(string Name);
}

/// <summary>A broker account made by <see cref="RabbitMqFixture.AddAccountAsync"/>.</summary>
public sealed record BrokerAccount(string Username, string Password)
{
    public override string ToString() => Username;
}
