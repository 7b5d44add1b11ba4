using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
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

    /// <summary>Names of the queues in this fixture's virtual host (as the management UI shows them).</summary>
    public async Task<IReadOnlyList<string>> QueueNamesAsync()
    {
        var queues = await _management.GetFromJsonAsync<List<QueueInfo>>($"queues/{VirtualHost}") ?? [];
        return queues.Select(q => q.Name).ToList();
    }

    public async Task DisposeAsync()
    {
        try
        {
            await _management.DeleteAsync($"vhosts/{VirtualHost}");
        }
        finally
        {
            _management.Dispose();
        }
    }

    sealed record QueueInfo(string Name);
}
