using Npgsql;
using PowerEvents.Console.Persistence;

namespace PowerEvents.Console.Schedule;

public sealed class PowerWindowStore(NpgsqlDataSource dataSource, ConsoleSchema schema)
{
    public async Task<IReadOnlyList<PowerWindow>> ListAsync(string? cluster, CancellationToken cancellationToken)
    {
        await schema.EnsureAsync(cancellationToken);
        await using var command = dataSource.CreateCommand(
            "SELECT id, cluster, days, off_at, on_at, enabled, last_off_on, last_on_on FROM console_windows WHERE $1::text IS NULL OR cluster = $1 ORDER BY id");
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)cluster ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var windows = new List<PowerWindow>();
        while (await reader.ReadAsync(cancellationToken))
            windows.Add(new PowerWindow(reader.GetInt64(0), reader.GetString(1), PowerWindowSchedule.ParseDays(reader.GetString(2)),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<TimeOnly>(3), reader.IsDBNull(4) ? null : reader.GetFieldValue<TimeOnly>(4),
                reader.GetBoolean(5), reader.IsDBNull(6) ? null : reader.GetFieldValue<DateOnly>(6), reader.IsDBNull(7) ? null : reader.GetFieldValue<DateOnly>(7)));
        return windows;
    }

    public async Task<long> AddAsync(string cluster, IReadOnlySet<DayOfWeek> days, TimeOnly? offAt, TimeOnly? onAt, string user, CancellationToken cancellationToken)
    {
        await schema.EnsureAsync(cancellationToken);
        await using var command = dataSource.CreateCommand(
            "INSERT INTO console_windows (cluster, days, off_at, on_at, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING id");
        command.Parameters.Add(new NpgsqlParameter { Value = cluster });
        command.Parameters.Add(new NpgsqlParameter { Value = PowerWindowSchedule.FormatDays(days) });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)offAt ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Time });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)onAt ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Time });
        command.Parameters.Add(new NpgsqlParameter { Value = user });
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<bool> DeleteAsync(string cluster, long id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("DELETE FROM console_windows WHERE id = $1 AND cluster = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        command.Parameters.Add(new NpgsqlParameter { Value = cluster });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task MarkDoneAsync(long id, WindowAction action, DateOnly day, CancellationToken cancellationToken)
    {
        var column = action == WindowAction.PowerOff ? "last_off_on" : "last_on_on";
        await using var command = dataSource.CreateCommand($"UPDATE console_windows SET {column} = $2 WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        command.Parameters.Add(new NpgsqlParameter { Value = day });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
