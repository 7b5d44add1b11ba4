using Npgsql;

namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>One step of a run as its row in <c>power_step</c>; identity is (run, kind, target).</summary>
public readonly record struct PowerStepRow(
    Guid RunId, string Kind, string Target, int Stage, int Ord, string Name, string Host, string Folder, bool ToolsRunning, bool IsVCenter,
    StepStatus Status, int Attempts, RunOutcome Outcome, string Detail, bool HardPowerOff, string StageName,
    bool WasPoweredOn = false, bool WasInMaintenance = false, bool ViaEsxi = false, bool Connected = false);

/// <summary>
/// The run's VM and host steps (shutdown and power-on, of the run and of the run before it) live in <c>power_step</c>, one
/// row each, not in the saga's header: a save writes only the rows that changed since they were read (one row per outcome),
/// and the header's size does not grow with the cluster. A host's two steps of a direction (maintenance and shutdown;
/// power-on and maintenance exit) each carry the host's facts (on before, in maintenance before, via its ESXi API,
/// reconnected) and its detail line.
/// </summary>
public static class PowerSteps
{
    public const string VmShutdown = "vm-shutdown";
    public const string VmPowerOn = "vm-power-on";
    public const string HostMaintenance = "host-maintenance";
    public const string HostShutdown = "host-shutdown";
    public const string HostPowerOn = "host-power-on";
    public const string HostExitMaintenance = "host-exit-maintenance";

    /// <summary>The kinds whose rows are hosts' steps (a handful per run: always read with the run).</summary>
    public static readonly string[] HostKinds = [HostMaintenance, HostShutdown, HostPowerOn, HostExitMaintenance];

    /// <summary>The runs whose steps a header carries: the run and the one before it (one level only).</summary>
    public static IEnumerable<PowerRun> Runs(PowerRun? run)
    {
        if (run is null)
            yield break;
        yield return run;
        if (run.PreviousRun is { } previous && previous.RunId != run.RunId)
            yield return previous;
    }

    /// <summary>Every step row of <paramref name="run"/> and the run before it, as they are now in memory.</summary>
    public static Dictionary<(Guid RunId, string Kind, string Target), PowerStepRow> Rows(PowerRun? run)
    {
        var rows = new Dictionary<(Guid, string, string), PowerStepRow>();
        foreach (var r in Runs(run))
        {
            for (var stage = 0; stage < r.Tiers.Count; stage++)
            {
                var vms = r.Tiers[stage].Vms;
                for (var ord = 0; ord < vms.Count; ord++)
                {
                    var v = vms[ord];
                    rows[(r.RunId, VmShutdown, v.Id)] = new PowerStepRow(r.RunId, VmShutdown, v.Id, stage, ord, v.Name, v.Host, v.Folder, v.ToolsRunning,
                        v.IsVCenter, v.Status, v.Attempts, v.Outcome, v.Detail, v.HardPowerOff, r.Tiers[stage].Name);
                }
            }
            for (var stage = 0; stage < r.Restore.Tiers.Count; stage++)
            {
                var vms = r.Restore.Tiers[stage].Vms;
                for (var ord = 0; ord < vms.Count; ord++)
                {
                    var v = vms[ord];
                    rows[(r.RunId, VmPowerOn, v.Id)] = new PowerStepRow(r.RunId, VmPowerOn, v.Id, stage, ord, v.Name, v.Host, "", false,
                        v.IsVCenter, v.Status, v.Attempts, v.Outcome, v.Detail, false, r.Restore.Tiers[stage].Name);
                }
            }
            for (var ord = 0; ord < r.Hosts.Count; ord++)
            {
                var h = r.Hosts[ord];
                PowerStepRow Row(string kind, StepStatus status, int attempts) => new(r.RunId, kind, h.Name, 0, ord, h.Name, h.Name, "", false, false,
                    status, attempts, RunOutcome.None, h.Detail, false, "", h.WasPoweredOn, h.WasInMaintenance, h.ViaEsxi);
                rows[(r.RunId, HostMaintenance, h.Name)] = Row(HostMaintenance, h.Maintenance, h.MaintenanceAttempts);
                rows[(r.RunId, HostShutdown, h.Name)] = Row(HostShutdown, h.Shutdown, h.ShutdownAttempts);
            }
            for (var ord = 0; ord < r.Restore.Hosts.Count; ord++)
            {
                var h = r.Restore.Hosts[ord];
                PowerStepRow Row(string kind, StepStatus status, int attempts) => new(r.RunId, kind, h.Name, 0, ord, h.Name, h.Name, "", false, false,
                    status, attempts, RunOutcome.None, h.Detail, false, "", WasInMaintenance: h.WasInMaintenance, Connected: h.Connected);
                rows[(r.RunId, HostPowerOn, h.Name)] = Row(HostPowerOn, h.PowerOn, h.PowerOnAttempts);
                rows[(r.RunId, HostExitMaintenance, h.Name)] = Row(HostExitMaintenance, h.ExitMaintenance, h.ExitMaintenanceAttempts);
            }
        }
        return rows;
    }

    /// <summary>
    /// Puts rows read from the table back into the header's (VM-less, host-less) tiers and host lists. A header stored before
    /// its VMs or hosts had rows still carries them: those are kept (and move into rows at the next save).
    /// </summary>
    public static void Attach(PowerRun run, IEnumerable<PowerStepRow> rows)
    {
        var runs = Runs(run).ToDictionary(r => r.RunId);
        var withVms = runs.Values.Where(r => r.AllVms.Any() || r.Restore.AllVms.Any()).Select(r => r.RunId).ToHashSet();
        var withHosts = runs.Values.Where(r => r.Hosts.Count > 0 || r.Restore.Hosts.Count > 0).Select(r => r.RunId).ToHashSet();
        foreach (var row in rows.OrderBy(r => r.Stage).ThenBy(r => r.Ord))
        {
            if (!runs.TryGetValue(row.RunId, out var owner))
                continue;
            if (HostKinds.Contains(row.Kind))
            {
                if (!withHosts.Contains(row.RunId))
                    AttachHost(owner, row);
                continue;
            }
            if (withVms.Contains(row.RunId))
                continue;
            if (row.Kind == VmShutdown && row.Stage < owner.Tiers.Count)
                owner.Tiers[row.Stage].Vms.Add(new VmRun
                {
                    Id = row.Target, Name = row.Name, Host = row.Host, Folder = row.Folder, ToolsRunning = row.ToolsRunning, IsVCenter = row.IsVCenter,
                    Status = row.Status, Attempts = row.Attempts, Outcome = row.Outcome, Detail = row.Detail, HardPowerOff = row.HardPowerOff,
                });
            else if (row.Kind == VmPowerOn && row.Stage < owner.Restore.Tiers.Count)
                owner.Restore.Tiers[row.Stage].Vms.Add(new RestoreVm
                {
                    Id = row.Target, Name = row.Name, Host = row.Host, IsVCenter = row.IsVCenter,
                    Status = row.Status, Attempts = row.Attempts, Outcome = row.Outcome, Detail = row.Detail,
                });
        }
    }

    static void AttachHost(PowerRun owner, PowerStepRow row)
    {
        if (row.Kind is HostMaintenance or HostShutdown)
        {
            var host = owner.Hosts.FirstOrDefault(h => h.Name == row.Target);
            if (host is null)
                owner.Hosts.Add(host = new HostRun { Name = row.Target, WasPoweredOn = row.WasPoweredOn, WasInMaintenance = row.WasInMaintenance, ViaEsxi = row.ViaEsxi });
            host.Detail = row.Detail;
            if (row.Kind == HostMaintenance)
                (host.Maintenance, host.MaintenanceAttempts) = (row.Status, row.Attempts);
            else
                (host.Shutdown, host.ShutdownAttempts) = (row.Status, row.Attempts);
            return;
        }
        var restore = owner.Restore.Hosts.FirstOrDefault(h => h.Name == row.Target);
        if (restore is null)
            owner.Restore.Hosts.Add(restore = new RestoreHost { Name = row.Target, WasInMaintenance = row.WasInMaintenance, Connected = row.Connected });
        restore.Detail = row.Detail;
        if (row.Kind == HostPowerOn)
            (restore.PowerOn, restore.PowerOnAttempts) = (row.Status, row.Attempts);
        else
            (restore.ExitMaintenance, restore.ExitMaintenanceAttempts) = (row.Status, row.Attempts);
    }

    /// <summary>
    /// The step rows of <paramref name="runIds"/>; with <paramref name="onlyFailedOf"/>, only that run's rows given up on
    /// or late, its VM shutdowns still to come (the open ones through the partial index <c>power_step_open</c>) and its
    /// hosts' steps — and its VM power-ons when its power-on has no host (then whether it is empty depends on them).
    /// </summary>
    public static async Task<List<PowerStepRow>> ReadAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, IReadOnlyList<Guid> runIds,
        CancellationToken cancellationToken, Guid? onlyFailedOf = null)
    {
        var rows = new List<PowerStepRow>();
        if (runIds.Count == 0)
            return rows;
        const string columns = "SELECT run_id, kind, target, stage, ord, name, host, folder, tools_running, is_vcenter, status, attempts, outcome, detail, hard_power_off, stage_name, " +
                               "was_powered_on, was_in_maintenance, via_esxi, connected FROM power_step ";
        // Two statements, not one with a null test: each has a plan of its own (the open shutdowns through the partial index).
        await using var command = onlyFailedOf is { } only
            ? new NpgsqlCommand(columns + "WHERE run_id = $1 AND kind = 'vm-shutdown' AND status IN ('Pending', 'Requested') " +
                                "UNION ALL " + columns + "WHERE run_id = $1 AND status IN ('Failed', 'Late') " +
                                "UNION ALL " + columns + "WHERE run_id = $1 AND kind = ANY($2) AND status NOT IN ('Failed', 'Late') " +
                                "UNION ALL " + columns + "WHERE run_id = $1 AND kind = 'vm-power-on' AND status NOT IN ('Failed', 'Late') " +
                                "AND NOT EXISTS (SELECT 1 FROM power_step p WHERE p.run_id = $1 AND p.kind = 'host-power-on')", connection, transaction)
            {
                Parameters = { new NpgsqlParameter { Value = only }, new NpgsqlParameter { Value = HostKinds } },
            }
            : new NpgsqlCommand(columns + "WHERE run_id = ANY($1)", connection, transaction)
            {
                Parameters = { new NpgsqlParameter { Value = runIds.ToArray() } },
            };
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            rows.Add(new PowerStepRow(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3), reader.GetInt32(4),
                reader.GetString(5), reader.GetString(6), reader.GetString(7), reader.GetBoolean(8), reader.GetBoolean(9),
                Enum.Parse<StepStatus>(reader.GetString(10)), reader.GetInt32(11), RunOutcomes.Parse(reader.GetString(12)), reader.GetString(13), reader.GetBoolean(14), reader.GetString(15),
                reader.GetBoolean(16), reader.GetBoolean(17), reader.GetBoolean(18), reader.GetBoolean(19)));
        return rows;
    }

    /// <summary>
    /// Writes what changed between <paramref name="read"/> (the rows as loaded) and <paramref name="now"/>: new rows
    /// inserted, changed rows updated, rows no longer part of the run (a run dropped from the header) deleted.
    /// A changed row is written only if it is still as it was read: <see cref="StepOutcomeConsumer"/> records outcomes
    /// on the rows without the saga's lock, and an outcome it recorded meanwhile wins over the saga's older view
    /// (e.g. a tier's deadline marking a step Late that has just gone off). Only a deadline's <c>Late</c> wins over a step
    /// still open (asked or not): a step the consumer claimed in that instant is Late with its stage, not left asked in a
    /// stage the run has left.
    /// </summary>
    public static async Task WriteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, Guid sagaId,
        IReadOnlyDictionary<(Guid RunId, string Kind, string Target), PowerStepRow> read,
        IReadOnlyDictionary<(Guid RunId, string Kind, string Target), PowerStepRow> now, CancellationToken cancellationToken)
    {
        var added = now.Values.Where(r => !read.ContainsKey((r.RunId, r.Kind, r.Target))).ToList();
        var changed = now.Values.Where(r => read.TryGetValue((r.RunId, r.Kind, r.Target), out var before) && before != r)
            .Select(r => (Row: r, Before: read[(r.RunId, r.Kind, r.Target)])).ToList();
        var gone = read.Keys.Where(k => !now.ContainsKey(k)).ToList();

        if (added.Count > 0)
        {
            await using var upsert = new NpgsqlCommand("""
                INSERT INTO power_step (saga_id, run_id, kind, target, stage, ord, name, host, folder, tools_running, is_vcenter,
                                        status, attempts, outcome, detail, hard_power_off, stage_name, was_powered_on, was_in_maintenance, via_esxi, connected)
                SELECT $1, * FROM unnest($2::uuid[], $3::text[], $4::text[], $5::int[], $6::int[], $7::text[], $8::text[], $9::text[],
                                         $10::boolean[], $11::boolean[], $12::text[], $13::int[], $14::text[], $15::text[], $16::boolean[], $17::text[],
                                         $18::boolean[], $19::boolean[], $20::boolean[], $21::boolean[])
                ON CONFLICT (run_id, kind, target) DO UPDATE SET
                    saga_id = excluded.saga_id, stage = excluded.stage, ord = excluded.ord, name = excluded.name, host = excluded.host,
                    folder = excluded.folder, tools_running = excluded.tools_running, is_vcenter = excluded.is_vcenter, status = excluded.status,
                    attempts = excluded.attempts, outcome = excluded.outcome, detail = excluded.detail, hard_power_off = excluded.hard_power_off,
                    stage_name = excluded.stage_name, was_powered_on = excluded.was_powered_on, was_in_maintenance = excluded.was_in_maintenance,
                    via_esxi = excluded.via_esxi, connected = excluded.connected
                """, connection, transaction);
            upsert.Parameters.Add(new NpgsqlParameter { Value = sagaId });
            AddColumns(upsert, added);
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }

        if (changed.Count > 0)
        {
            await using var update = new NpgsqlCommand("""
                UPDATE power_step s SET
                    stage = u.stage, ord = u.ord, name = u.name, host = u.host, folder = u.folder, tools_running = u.tools_running,
                    is_vcenter = u.is_vcenter, status = u.status, attempts = u.attempts, outcome = u.outcome, detail = u.detail,
                    hard_power_off = u.hard_power_off, stage_name = u.stage_name, was_powered_on = u.was_powered_on,
                    was_in_maintenance = u.was_in_maintenance, via_esxi = u.via_esxi, connected = u.connected
                FROM unnest($2::uuid[], $3::text[], $4::text[], $5::int[], $6::int[], $7::text[], $8::text[], $9::text[],
                            $10::boolean[], $11::boolean[], $12::text[], $13::int[], $14::text[], $15::text[], $16::boolean[], $17::text[],
                            $18::boolean[], $19::boolean[], $20::boolean[], $21::boolean[], $22::text[], $23::int[])
                     AS u(run_id, kind, target, stage, ord, name, host, folder, tools_running, is_vcenter, status, attempts, outcome, detail,
                          hard_power_off, stage_name, was_powered_on, was_in_maintenance, via_esxi, connected, read_status, read_attempts)
                WHERE s.saga_id = $1 AND s.run_id = u.run_id AND s.kind = u.kind AND s.target = u.target
                  AND (s.status = u.read_status AND s.attempts = u.read_attempts
                       -- a deadline makes an open step Late even if the consumer has just asked it (claimed it meanwhile)
                       OR (u.status = 'Late' AND s.status IN ('Pending', 'Requested')))
                """, connection, transaction);
            update.Parameters.Add(new NpgsqlParameter { Value = sagaId });
            AddColumns(update, changed.Select(c => c.Row).ToList());
            update.Parameters.Add(new NpgsqlParameter { Value = changed.Select(c => c.Before.Status.ToString()).ToArray() });
            update.Parameters.Add(new NpgsqlParameter { Value = changed.Select(c => c.Before.Attempts).ToArray() });
            await update.ExecuteNonQueryAsync(cancellationToken);
        }

        if (gone.Count > 0)
        {
            await using var delete = new NpgsqlCommand("""
                DELETE FROM power_step s USING unnest($1::uuid[], $2::text[], $3::text[]) AS d(run_id, kind, target)
                WHERE s.run_id = d.run_id AND s.kind = d.kind AND s.target = d.target
                """, connection, transaction);
            delete.Parameters.Add(new NpgsqlParameter { Value = gone.Select(k => k.RunId).ToArray() });
            delete.Parameters.Add(new NpgsqlParameter { Value = gone.Select(k => k.Kind).ToArray() });
            delete.Parameters.Add(new NpgsqlParameter { Value = gone.Select(k => k.Target).ToArray() });
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    static void AddColumns(NpgsqlCommand command, List<PowerStepRow> rows)
    {
        command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.RunId).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Kind).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Target).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Stage).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Ord).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Name).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Host).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Folder).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.ToolsRunning).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.IsVCenter).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Status.ToString()).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Attempts).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Outcome.Text()).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Detail).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.HardPowerOff).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.StageName).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.WasPoweredOn).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.WasInMaintenance).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.ViaEsxi).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Connected).ToArray() });
    }

    /// <summary>A deleted saga takes its steps with it.</summary>
    public static async Task DeleteAllAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, Guid sagaId, CancellationToken cancellationToken)
    {
        await using var delete = new NpgsqlCommand("DELETE FROM power_step WHERE saga_id = $1", connection, transaction);
        delete.Parameters.Add(new NpgsqlParameter { Value = sagaId });
        await delete.ExecuteNonQueryAsync(cancellationToken);
    }
}
