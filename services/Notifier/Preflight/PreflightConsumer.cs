using System.Globalization;
using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;
using PowerEvents.Contracts;
using PowerEvents.Hosting;
using PowerEvents.Notifier.Alerts;
using PowerEvents.Notifier.Delivery;
using PowerEvents.Notifier.Quiet;

namespace PowerEvents.Notifier.Preflight;

/// <summary>
/// Turns preflight results into alerts on change, with a reminder while a check keeps failing
/// (<see cref="PreflightAlertPolicy"/>). The last state per check lives in <c>notifier.preflight_checks</c>, locked per
/// check for the step; the alert is recorded before the state is saved and its fact is derived from that state, so a
/// redelivered result decides the same alert again and the alert store keeps it once. A vcenter/esxi/standalone failure
/// while one of the target's clusters is off by a PowerEvents run (<c>notifier.cluster_off</c>) is recorded, not alerted.
/// </summary>
public sealed class PreflightConsumer(
    NpgsqlDataSource dataSource,
    AlertRecorder recorder,
    IOptions<PreflightOptions> options,
    ILogger<PreflightConsumer> logger) : IConsumer<PreflightCheckCompleted>
{
    public async Task Consume(ConsumeContext<PreflightCheckCompleted> context)
    {
        var result = context.Message;
        var key = $"{result.Service}/{result.Kind}/{result.Target}";
        var token = context.CancellationToken;
        await PreflightSchema.Migrations.EnsureAppliedAsync(dataSource, token);
        await ClusterOffConsumer.Schema.EnsureAppliedAsync(dataSource, token);

        await using var connection = await dataSource.OpenConnectionAsync(token);
        await using var transaction = await connection.BeginTransactionAsync(token);
        await using (var insert = new NpgsqlCommand("INSERT INTO notifier.preflight_checks (check_key) VALUES ($1) ON CONFLICT DO NOTHING", connection, transaction))
        {
            insert.Parameters.Add(new NpgsqlParameter { Value = key });
            await insert.ExecuteNonQueryAsync(token);
        }

        PreflightCheckState? previous = null;
        await using (var select = new NpgsqlCommand(
            "SELECT ok, since, checked_at, alerted_at, quiet_for FROM notifier.preflight_checks WHERE check_key = $1 FOR UPDATE", connection, transaction))
        {
            select.Parameters.Add(new NpgsqlParameter { Value = key });
            await using var reader = await select.ExecuteReaderAsync(token);
            if (await reader.ReadAsync(token) && !reader.IsDBNull(0))
                previous = new PreflightCheckState(reader.GetBoolean(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetFieldValue<DateTimeOffset>(2),
                    reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3), reader.IsDBNull(4) ? null : reader.GetString(4));
        }

        var windows = await ClusterOffConsumer.ReadAsync(connection, transaction, result.Clusters ?? [], forUpdate: false, token);
        var explained = QuietPolicy.ExplainedBy(result, windows);
        var (next, alert) = PreflightAlertPolicy.Decide(previous, result, options.Value.RemindEvery, explained?.Cluster);
        if (explained is not null && previous is not { Ok: false })
            logger.LogInformation("Preflight {Kind} {Target} fails as expected, not alerted: {Window}", result.Kind, result.Target, explained.Describe());
        if (alert != PreflightAlertKind.None)
            await AlertConsumer<PreflightCheckCompleted>.RecordAsync(context,
                Content(key, result, next, alert, afterRunOf: alert == PreflightAlertKind.Failing ? previous?.QuietFor : null), recorder, logger);

        await using (var update = new NpgsqlCommand(
            "UPDATE notifier.preflight_checks SET ok = $2, since = $3, checked_at = $4, alerted_at = $5, quiet_for = $6 WHERE check_key = $1", connection, transaction))
        {
            update.Parameters.Add(new NpgsqlParameter { Value = key });
            update.Parameters.Add(new NpgsqlParameter { Value = next.Ok });
            update.Parameters.Add(new NpgsqlParameter { Value = next.Since });
            update.Parameters.Add(new NpgsqlParameter { Value = next.CheckedAt });
            update.Parameters.Add(new NpgsqlParameter { Value = (object?)next.AlertedAt ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
            update.Parameters.Add(new NpgsqlParameter { Value = (object?)next.QuietFor ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            await update.ExecuteNonQueryAsync(token);
        }
        if (result.Ok && previous?.QuietFor is { } cluster)
            await CloseWhenUpAsync(connection, transaction, cluster, result.CheckedAt, token);
        await transaction.CommitAsync(token);
    }

    /// <summary>
    /// A run without power-on (or one whose power-on event never came): the cluster counts as up again once every check its
    /// run kept quiet has passed after the shutdown completed; from then on its failures are alerted again.
    /// </summary>
    static async Task CloseWhenUpAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string cluster, DateTimeOffset at, CancellationToken token)
    {
        await using var close = new NpgsqlCommand("""
            UPDATE notifier.cluster_off SET ended_at = $2
            WHERE cluster = $1 AND ended_at IS NULL AND shut_down_at IS NOT NULL AND shut_down_at <= $2 AND restoring_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM notifier.preflight_checks WHERE quiet_for = $1 AND ok = false)
            """, connection, transaction);
        close.Parameters.Add(new NpgsqlParameter { Value = cluster });
        close.Parameters.Add(new NpgsqlParameter { Value = at });
        await close.ExecuteNonQueryAsync(token);
    }

    /// <summary>The alert for a decision; its fact names the check and the moment that identifies this alert.</summary>
    /// <param name="afterRunOf">The failure was kept quiet while this cluster was off by a run, and still fails now that it is back.</param>
    public static AlertContent Content(string key, PreflightCheckCompleted result, PreflightCheckState state, PreflightAlertKind kind, string? afterRunOf = null)
    {
        var what = $"{result.Kind} {result.Target}";
        return kind switch
        {
            PreflightAlertKind.Failing => new AlertContent(Severity.Warning, $"Preflight FAILED: {what}",
                (afterRunOf is null ? "" : $"Still failing now that cluster {afterRunOf} is back from its protective shutdown: ") +
                $"{result.Reason}. {Advice(result.Kind)}", result.CheckedAt)
            {
                Fact = $"{key}/failing/{Stamp(state.Since)}",
                Facts = [new AlertFact("Checked by", result.Service)],
            },
            PreflightAlertKind.StillFailing => new AlertContent(Severity.Warning, $"Preflight still failing: {what}",
                $"Failing since {state.Since.UtcDateTime:yyyy-MM-dd HH:mm} UTC: {result.Reason}. {Advice(result.Kind)}", result.CheckedAt)
            {
                Fact = $"{key}/reminder/{Stamp(state.AlertedAt!.Value)}",
                Facts = [new AlertFact("Checked by", result.Service)],
            },
            _ => new AlertContent(Severity.Info, $"Preflight passes again: {what}", result.Reason, result.CheckedAt)
            {
                Fact = $"{key}/recovered/{Stamp(state.Since)}",
                Facts = [new AlertFact("Checked by", result.Service)],
            },
        };
    }

    static string Advice(string kind) => kind switch
    {
        "bmc" => "Until fixed, this host cannot be powered on again after a shutdown: check the BMC's address, credentials (Bmc:Hosts) and certificate pin (docs/operations.md).",
        "sensor-source" => "Until fixed, the zones this source feeds may go stale and cannot raise an alarm: check its key, organization and address (docs/operations.md).",
        "webhook" => "Until fixed, alerts to this destination may not arrive: check its host, network path and certificate (docs/operations.md).",
        "vcenter" or "standalone" => "Until fixed, a shutdown of the clusters on this platform cannot read their inventory or ask anything of it: check its address, account and certificate pin (VCenter:*, docs/vsphere.md).",
        "esxi" => "Until fixed, this host cannot be finished through its own API when vCenter is down (vCenter's own host, standalone hosts): check its account, certificate pin and lockdown mode (VCenter:Hosts, docs/vsphere.md).",
        _ => "See docs/operations.md.",
    };

    static string Stamp(DateTimeOffset at) => at.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
}

/// <summary>The table of the last state per check: component <c>notifier-preflight</c> of the one migration runner.</summary>
public static class PreflightSchema
{
    public static readonly SchemaMigrations Migrations = new("notifier-preflight",
    [
        // IF NOT EXISTS: a database from before the runner already has the table and adopts it.
        new Migration(1, "last state per preflight check", """
            CREATE SCHEMA IF NOT EXISTS notifier;
            CREATE TABLE IF NOT EXISTS notifier.preflight_checks (
                check_key   text PRIMARY KEY,
                ok          boolean,
                since       timestamptz,
                checked_at  timestamptz,
                alerted_at  timestamptz);
            """),
        new Migration(2, "a failure kept quiet while its cluster was off by a run", """
            ALTER TABLE notifier.preflight_checks ADD COLUMN IF NOT EXISTS quiet_for text;
            """),
    ]);
}
