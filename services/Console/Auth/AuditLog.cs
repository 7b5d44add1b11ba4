using Npgsql;
using PowerEvents.Console.Persistence;

namespace PowerEvents.Console.Auth;

public sealed record AuditEntry(DateTimeOffset At, string User, string Action, string? Cluster, string Reason, string Outcome);

/// <summary>Who did what, when and why: every login, command, token and schedule change, also the refused ones.</summary>
public sealed class AuditLog(NpgsqlDataSource dataSource, ConsoleSchema schema, TimeProvider clock, ILogger<AuditLog> log)
{
    public async Task WriteAsync(string user, string action, string? cluster, string reason, string outcome, CancellationToken cancellationToken)
    {
        await schema.EnsureAsync(cancellationToken);
        await using var command = dataSource.CreateCommand(
            "INSERT INTO console_audit (at, user_name, action, cluster, reason, outcome) VALUES ($1, $2, $3, $4, $5, $6)");
        command.Parameters.Add(new NpgsqlParameter { Value = clock.GetUtcNow() });
        command.Parameters.Add(new NpgsqlParameter { Value = user });
        command.Parameters.Add(new NpgsqlParameter { Value = action });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)cluster ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { Value = reason });
        command.Parameters.Add(new NpgsqlParameter { Value = outcome });
        await command.ExecuteNonQueryAsync(cancellationToken);
        log.LogInformation("Audit: {User} {Action} {Cluster} -> {Outcome} ({Reason})", user, action, cluster ?? "-", outcome, reason);
    }

    public async Task<IReadOnlyList<AuditEntry>> RecentAsync(int limit, CancellationToken cancellationToken)
    {
        await schema.EnsureAsync(cancellationToken);
        await using var command = dataSource.CreateCommand(
            "SELECT at, user_name, action, cluster, reason, outcome FROM console_audit ORDER BY id DESC LIMIT $1");
        command.Parameters.Add(new NpgsqlParameter { Value = limit });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var entries = new List<AuditEntry>();
        while (await reader.ReadAsync(cancellationToken))
            entries.Add(new AuditEntry(reader.GetFieldValue<DateTimeOffset>(0), reader.GetString(1), reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetString(4), reader.GetString(5)));
        return entries;
    }
}
