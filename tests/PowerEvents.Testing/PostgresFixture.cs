using Npgsql;
using Xunit;

namespace PowerEvents.Testing;

/// <summary>The real PostgreSQL test server, with a database of its own for this fixture's lifetime.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    public const string Username = "powerevents";

    public string Database { get; } = $"pe_test_{Guid.NewGuid():N}";
    public int Port => TestServers.PostgresPort;

    public string ConnectionString => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1", Port = Port, Username = Username, Database = Database, Pooling = false,
    }.ConnectionString;

    public IEnumerable<string> HostArgs =>
    [
        "--Postgres:Host=127.0.0.1",
        $"--Postgres:Port={Port}",
        $"--Postgres:Database={Database}",
        $"--Postgres:Username={Username}",
    ];

    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>
    {
        ["Postgres__Host"] = "127.0.0.1",
        ["Postgres__Port"] = Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Postgres__Database"] = Database,
        ["Postgres__Username"] = Username,
    };

    public async Task InitializeAsync()
    {
        try
        {
            await ExecuteOnServerAsync($"CREATE DATABASE \"{Database}\"");
        }
        catch (NpgsqlException ex)
        {
            throw TestServers.NotRunning("postgres", $"127.0.0.1:{Port}", ex);
        }
    }

    public Task DisposeAsync() => ExecuteOnServerAsync($"DROP DATABASE IF EXISTS \"{Database}\" WITH (FORCE)");

    async Task ExecuteOnServerAsync(string sql)
    {
        var server = new NpgsqlConnectionStringBuilder(ConnectionString) { Database = "postgres", Timeout = 5 };
        await using var connection = new NpgsqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
