using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using PowerEvents.AlarmEvaluator;
using PowerEvents.Testing;
using Xunit;

namespace PowerEvents.Integration.Tests;

/// <summary>The services' PostgreSQL connections, as a service builds them, against the real server.</summary>
[Collection(RealServersCollection.Name)]
public sealed class PostgresStatementTests(RabbitMqFixture rabbit, PostgresFixture postgres)
{
    [Fact]
    public async Task A_statement_run_again_and_again_on_a_connection_is_prepared_there_once()
    {
        // The evaluator's own data source (not started: only its services are built).
        await using var app = AlarmEvaluatorHost.Build([.. rabbit.HostArgs, .. postgres.HostArgs, "--Urls=http://127.0.0.1:0"]);
        var dataSource = app.Services.GetRequiredService<NpgsqlDataSource>();
        await using var connection = await dataSource.OpenConnectionAsync();
        const string sql = "SELECT count(*) FROM pg_class WHERE relname = $1";
        for (var i = 0; i < 10; i++)
        {
            await using var command = new NpgsqlCommand(sql, connection);
            command.Parameters.Add(new NpgsqlParameter { Value = $"table_{i}" });
            await command.ExecuteScalarAsync();
        }

        // PostgreSQL's own list of the statements prepared in this session.
        await using var prepared = new NpgsqlCommand("SELECT count(*) FROM pg_prepared_statements WHERE statement = $1", connection);
        prepared.Parameters.Add(new NpgsqlParameter { Value = sql });
        Assert.Equal(1L, await prepared.ExecuteScalarAsync());
    }
}
