using Microsoft.EntityFrameworkCore;
using Npgsql;
using PowerEvents.AlarmEvaluator.Power;
using PowerEvents.Contracts;
using PowerEvents.Hosting;
using PowerEvents.Testing;
using Xunit;

namespace PowerEvents.PowerSaga.Tests;

/// <summary>The saga's tables on the real PostgreSQL: idempotent schema, the run as jsonb, optimistic concurrency.</summary>
[Collection(PowerIntegrationCollection.Name)]
public sealed class PersistenceTests : IAsyncLifetime
{
    readonly PostgresFixture _postgres = new();
    NpgsqlDataSource _dataSource = null!;

    public async Task InitializeAsync()
    {
        await _postgres.InitializeAsync();
        _dataSource = NpgsqlDataSource.Create(_postgres.ConnectionString);
        await PowerSchema.Migrations.EnsureAppliedAsync(_dataSource, CancellationToken.None);
        // A restart (a new process: a fresh runner) finds every version recorded and applies nothing.
        Assert.Equal(0, await new SchemaMigrations(PowerSchema.Migrations.Component, PowerSchema.Migrations.Migrations)
            .EnsureAppliedAsync(_dataSource, CancellationToken.None));
    }

    public async Task DisposeAsync()
    {
        await _dataSource.DisposeAsync();
        await _postgres.DisposeAsync();
    }

    PowerDbContext Context() => new(new DbContextOptionsBuilder<PowerDbContext>().UseNpgsql(_dataSource).Options);

    static PowerSagaState NewSaga()
    {
        var runId = Guid.NewGuid();
        var run = ShutdownPlanner.Plan(Inventories.Cluster(), Inventories.Mixed(runId), runId, "room-a", false);
        run.Restore = RestorePlanner.Plan(Inventories.Cluster(), run, new RestoreRun());
        return new PowerSagaState
        {
            CorrelationId = PowerIds.ForCluster("cluster1"), CurrentState = "ShuttingDown", Version = 1, Cluster = "cluster1", RunId = runId,
            Run = run,
        };
    }

    [Fact]
    public async Task The_run_header_is_json_without_vms_each_vm_step_is_a_row_and_a_change_is_saved()
    {
        var added = NewSaga();
        await using (var db = Context())
        {
            db.Sagas.Add(added);
            await db.SaveChangesAsync();
        }

        await using (var connection = await _dataSource.OpenConnectionAsync())
        {
            await using var header = new NpgsqlCommand("SELECT run::text FROM power_saga", connection);
            var json = (string)(await header.ExecuteScalarAsync())!;
            Assert.DoesNotContain("\"vms\"", json, StringComparison.Ordinal);
            Assert.All(added.Run!.AllVms, vm => Assert.DoesNotContain($"\"{vm.Id}\"", json, StringComparison.Ordinal));
            await using var steps = new NpgsqlCommand("SELECT count(*) FROM power_step WHERE run_id = $1 AND kind = 'vm-shutdown'", connection);
            steps.Parameters.Add(new NpgsqlParameter { Value = added.RunId!.Value });
            Assert.Equal(added.Run!.AllVms.Count(), (long)(await steps.ExecuteScalarAsync())!);
            await using var restore = new NpgsqlCommand("SELECT count(*) FROM power_step WHERE run_id = $1 AND kind = 'vm-power-on'", connection);
            restore.Parameters.Add(new NpgsqlParameter { Value = added.RunId!.Value });
            Assert.Equal(added.Run.Restore.AllVms.Count(), (long)(await restore.ExecuteScalarAsync())!);
            Assert.NotEmpty(added.Run.Restore.AllVms);
        }

        await using (var db = Context())
        {
            var saga = await db.Sagas.SingleAsync();
            await db.LoadStepsAsync(saga);
            saga.Run!.Tiers[0].Vms[0].Status = StepStatus.Done;
            saga.Version++;
            await db.SaveChangesAsync();
        }

        await using (var db = Context())
        {
            var saga = await db.Sagas.SingleAsync();
            await db.LoadStepsAsync(saga);
            Assert.Equal(StepStatus.Done, saga.Run!.Tiers[0].Vms[0].Status);
            Assert.Equal(["default", "apps", "databases", "infrastructure", "vcenter"], saga.Run.Tiers.Select(t => t.Name));
        }
    }

    /// <summary>
    /// A host phase's transition reads of the run's VM steps only the failed or late ones and the shutdowns still to come:
    /// not the power-on steps (one per VM, all pending) nor the previous run's; its save leaves the rows it did not read as
    /// they were. With no host to power on, the power-on steps are read (whether the power-on is empty depends on them).
    /// </summary>
    [Fact]
    public async Task A_host_phase_reads_only_failed_late_and_open_shutdown_rows_of_its_run_and_its_save_keeps_the_others()
    {
        var previous = NewSaga().Run!;
        var saga = NewSaga();
        saga.Run!.PreviousRun = previous;
        var vms = saga.Run.AllVms.ToList();
        Assert.True(vms.Count >= 4);
        (vms[0].Status, vms[1].Status, vms[2].Status, vms[3].Status) = (StepStatus.Failed, StepStatus.Late, StepStatus.Requested, StepStatus.Pending);
        foreach (var vm in vms.Skip(4))
            vm.Status = StepStatus.Done;
        saga.Run.Phase = RunPhase.HostShutdown;
        Assert.NotEmpty(saga.Run.Restore.Hosts);
        await using (var db = Context())
        {
            db.Sagas.Add(saga);
            await db.SaveChangesAsync();
        }

        await using (var db = Context())
        {
            var loaded = await db.Sagas.SingleAsync();
            await db.LoadStepsAsync(loaded);
            Assert.Equal(vms.Take(4).Select(v => v.Id).Order(), loaded.Run!.AllVms.Select(v => v.Id).Order());
            Assert.Empty(loaded.Run.Restore.AllVms);
            Assert.Empty(loaded.Run.PreviousRun!.AllVms);
            Assert.Empty(loaded.Run.PreviousRun.Restore.AllVms);
            loaded.Run.Hosts[0].Shutdown = StepStatus.Done;
            loaded.Run.AllVms.Single(v => v.Id == vms[3].Id).Status = StepStatus.Requested;
            loaded.Version++;
            await db.SaveChangesAsync();
        }

        await using (var connection = await _dataSource.OpenConnectionAsync())
        {
            // Out of the host phases (e.g. the power-on): every row of both runs is read again, as it was.
            await using var update = new NpgsqlCommand("UPDATE power_saga SET run = jsonb_set(run, '{phase}', 'null'::jsonb)", connection);
            await update.ExecuteNonQueryAsync();
        }
        await using (var db = Context())
        {
            var loaded = await db.Sagas.SingleAsync();
            await db.LoadStepsAsync(loaded);
            Assert.Null(loaded.Run!.Phase);
            Assert.Equal(StepStatus.Done, loaded.Run.Hosts[0].Shutdown);
            Assert.Equal(vms.Select(v => (v.Id, v == vms[3] ? StepStatus.Requested : v.Status)), loaded.Run.AllVms.Select(v => (v.Id, v.Status)));
            Assert.Equal(saga.Run.Restore.AllVms.Select(v => v.Id), loaded.Run.Restore.AllVms.Select(v => v.Id));
            Assert.NotEmpty(loaded.Run.Restore.AllVms);
            Assert.Equal(previous.AllVms.Select(v => v.Id), loaded.Run.PreviousRun!.AllVms.Select(v => v.Id));
            Assert.Equal(previous.Restore.AllVms.Select(v => v.Id), loaded.Run.PreviousRun.Restore.AllVms.Select(v => v.Id));
        }

        await using (var connection = await _dataSource.OpenConnectionAsync())
        {
            // No host to power on (no host step row of the power-on): the power-on's steps are read in a host phase too.
            await using var update = new NpgsqlCommand(
                "UPDATE power_saga SET run = jsonb_set(run, '{phase}', '\"HostShutdown\"'::jsonb); " +
                "DELETE FROM power_step WHERE kind IN ('host-power-on', 'host-exit-maintenance')", connection);
            await update.ExecuteNonQueryAsync();
        }
        await using (var db = Context())
        {
            var loaded = await db.Sagas.SingleAsync();
            await db.LoadStepsAsync(loaded);
            Assert.Equal(RunPhase.HostShutdown, loaded.Run!.Phase);
            Assert.Empty(loaded.Run.Restore.Hosts);
            Assert.Equal(saga.Run.Restore.AllVms.Select(v => v.Id), loaded.Run.Restore.AllVms.Select(v => v.Id));
        }
    }

    /// <summary>Rows saved while the state mirrored the run's phase: the state becomes the run's life, the phase its plan's stage.</summary>
    [Fact]
    public async Task Migration_5_moves_rows_saved_with_a_state_per_phase_to_the_runs_life_and_its_plans_stage()
    {
        var completedAt = new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);
        var dueAt = completedAt.AddMinutes(5);
        var waiting = NewSaga();
        var hosts = NewSaga();
        hosts.CorrelationId = PowerIds.ForCluster("cluster2");
        await using (var connection = await _dataSource.OpenConnectionAsync())
        {
            foreach (var (saga, state, phase, deadline) in new[] { (waiting, "WaitingToPowerOn", "PowerOnPending", dueAt), (hosts, "ShuttingDownHosts", "HostShutdown", completedAt) })
            {
                var json = System.Text.Json.JsonSerializer.Serialize(saga.Run, new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web)
                {
                    Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
                }).Replace("\"phase\":\"VmTiers\"", $"\"phase\":\"{phase}\"", StringComparison.Ordinal);
                await using var insert = new NpgsqlCommand(
                    "INSERT INTO power_saga (correlation_id, current_state, version, cluster, run_id, step, run, completed_at, deadline) VALUES ($1, $2, 1, 'cluster1', $3, 1, $4::jsonb, $5, $6)",
                    connection);
                insert.Parameters.Add(new NpgsqlParameter { Value = saga.CorrelationId });
                insert.Parameters.Add(new NpgsqlParameter { Value = state });
                insert.Parameters.Add(new NpgsqlParameter { Value = saga.RunId!.Value });
                insert.Parameters.Add(new NpgsqlParameter { Value = json });
                insert.Parameters.Add(new NpgsqlParameter { Value = state == "WaitingToPowerOn" ? completedAt : DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
                insert.Parameters.Add(new NpgsqlParameter { Value = deadline });
                await insert.ExecuteNonQueryAsync();
            }
            await using var migrate = new NpgsqlCommand(PowerSchema.Migrations.Migrations.Single(m => m.Version == 5).Sql, connection);
            await migrate.ExecuteNonQueryAsync();
        }

        await using var db = Context();
        var off = await db.Sagas.SingleAsync(s => s.CorrelationId == waiting.CorrelationId);
        await db.LoadStepsAsync(off);
        Assert.Equal("WaitingToPowerOn", off.CurrentState);
        Assert.Null(off.Run!.Phase);
        Assert.Equal(completedAt, off.Run.CompletedAt);
        Assert.Equal(dueAt, off.Run.Restore.DueAt);
        var running = await db.Sagas.SingleAsync(s => s.CorrelationId == hosts.CorrelationId);
        await db.LoadStepsAsync(running);
        Assert.Equal("ShuttingDown", running.CurrentState);
        Assert.Equal(RunPhase.HostShutdown, running.Run!.Phase);
        Assert.Null(running.Run.CompletedAt);
    }

    [Fact]
    public async Task A_header_saved_with_its_vms_before_the_step_rows_existed_keeps_them_and_the_next_save_moves_them_into_rows()
    {
        var legacy = NewSaga();
        await using (var connection = await _dataSource.OpenConnectionAsync())
        {
            // As the previous version stored a run: every VM inside the jsonb, no power_step row.
            await using var insert = new NpgsqlCommand(
                "INSERT INTO power_saga (correlation_id, current_state, version, cluster, run_id, step, run) VALUES ($1, 'ShuttingDownVms', 1, 'cluster1', $2, 1, $3::jsonb)",
                connection);
            insert.Parameters.Add(new NpgsqlParameter { Value = legacy.CorrelationId });
            insert.Parameters.Add(new NpgsqlParameter { Value = legacy.RunId!.Value });
            insert.Parameters.Add(new NpgsqlParameter { Value = System.Text.Json.JsonSerializer.Serialize(legacy.Run, new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web)
            {
                Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
            }) });
            await insert.ExecuteNonQueryAsync();
        }

        await using (var db = Context())
        {
            var saga = await db.Sagas.SingleAsync();
            await db.LoadStepsAsync(saga);
            Assert.Equal(legacy.Run!.AllVms.Select(v => v.Id), saga.Run!.AllVms.Select(v => v.Id));
            saga.Run.Tiers[0].Vms[0].Status = StepStatus.Requested;
            saga.Version++;
            await db.SaveChangesAsync();
        }

        await using (var db = Context())
        {
            var saga = await db.Sagas.SingleAsync();
            Assert.DoesNotContain("\"vms\"", saga.RunJson, StringComparison.Ordinal);
            await db.LoadStepsAsync(saga);
            Assert.Equal(legacy.Run!.AllVms.Select(v => v.Id), saga.Run!.AllVms.Select(v => v.Id));
            Assert.Equal(legacy.Run.Restore.AllVms.Select(v => v.Id), saga.Run.Restore.AllVms.Select(v => v.Id));
            Assert.Equal(StepStatus.Requested, saga.Run.Tiers[0].Vms[0].Status);
        }
    }

    [Fact]
    public async Task Host_steps_are_rows_the_header_holds_no_host_and_a_header_stored_with_its_hosts_moves_them_into_rows()
    {
        // As the version before stored a run in flight: its hosts inside the jsonb, its VMs in rows.
        var legacy = NewSaga();
        legacy.Run!.Phase = RunPhase.Maintenance;
        legacy.Run.Hosts[0].Maintenance = StepStatus.Requested;
        legacy.Run.Hosts[0].MaintenanceAttempts = 1;
        await using (var db = Context())
        {
            db.Sagas.Add(legacy);
            await db.SaveChangesAsync();
        }
        var withHosts = System.Text.Json.JsonSerializer.Serialize(legacy.Run, new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web)
        {
            Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
        });
        Assert.Contains("\"hosts\"", withHosts, StringComparison.Ordinal);
        await using (var connection = await _dataSource.OpenConnectionAsync())
        {
            await using var old = new NpgsqlCommand("UPDATE power_saga SET run = $1::jsonb", connection);
            old.Parameters.Add(new NpgsqlParameter { Value = withHosts });
            await old.ExecuteNonQueryAsync();
            await using var noRows = new NpgsqlCommand("DELETE FROM power_step WHERE kind LIKE 'host-%'", connection);
            await noRows.ExecuteNonQueryAsync();
        }

        await using (var db = Context())
        {
            var saga = await db.Sagas.SingleAsync();
            await db.LoadStepsAsync(saga);
            Assert.Equal(legacy.Run.Hosts.Select(h => (h.Name, h.Maintenance, h.WasPoweredOn)), saga.Run!.Hosts.Select(h => (h.Name, h.Maintenance, h.WasPoweredOn)));
            Assert.Equal(legacy.Run.AllVms.Select(v => v.Id), saga.Run.AllVms.Select(v => v.Id));
            saga.Run.Hosts[0].Maintenance = StepStatus.Done;
            saga.Run.Hosts[0].Detail = "in maintenance";
            saga.Run.Restore.Hosts[^1].Connected = true;
            saga.Version++;
            await db.SaveChangesAsync();
        }

        await using (var connection = await _dataSource.OpenConnectionAsync())
        {
            await using var header = new NpgsqlCommand("SELECT run::text FROM power_saga", connection);
            Assert.DoesNotContain("\"hosts\"", (string)(await header.ExecuteScalarAsync())!, StringComparison.Ordinal);
            await using var rows = new NpgsqlCommand("SELECT kind, count(*) FROM power_step WHERE kind LIKE 'host-%' GROUP BY kind ORDER BY kind", connection);
            await using var reader = await rows.ExecuteReaderAsync();
            var counts = new List<(string, long)>();
            while (await reader.ReadAsync())
                counts.Add((reader.GetString(0), reader.GetInt64(1)));
            Assert.Equal([("host-exit-maintenance", (long)legacy.Run.Restore.Hosts.Count), ("host-maintenance", legacy.Run.Hosts.Count),
                ("host-power-on", legacy.Run.Restore.Hosts.Count), ("host-shutdown", legacy.Run.Hosts.Count)], counts);
        }

        // A host phase reads only some VM rows, but every host step.
        await using (var db = Context())
        {
            var saga = await db.Sagas.SingleAsync();
            await db.LoadStepsAsync(saga);
            Assert.Equal(RunPhase.Maintenance, saga.Run!.Phase);
            Assert.Equal(legacy.Run.Hosts.Select(h => h.Name), saga.Run.Hosts.Select(h => h.Name));
            Assert.Equal((StepStatus.Done, 1, "in maintenance"), (saga.Run.Hosts[0].Maintenance, saga.Run.Hosts[0].MaintenanceAttempts, saga.Run.Hosts[0].Detail));
            Assert.Equal(legacy.Run.Restore.Hosts.Select(h => (h.Name, h.WasInMaintenance)), saga.Run.Restore.Hosts.Select(h => (h.Name, h.WasInMaintenance)));
            Assert.True(saga.Run.Restore.Hosts[^1].Connected);
        }
    }

    [Fact]
    public async Task A_save_over_a_row_changed_since_it_was_read_fails_with_a_concurrency_conflict()
    {
        await using (var db = Context())
        {
            db.Sagas.Add(NewSaga());
            await db.SaveChangesAsync();
        }

        await using var first = Context();
        await using var second = Context();
        var a = await first.Sagas.SingleAsync();
        var b = await second.Sagas.SingleAsync();
        a.CurrentState = "PoweringOn";
        a.Version++;
        await first.SaveChangesAsync();

        b.CurrentState = "ShutDown";
        b.Version++;
        await Assert.ThrowsAsync<DbUpdateConcurrencyException>(() => second.SaveChangesAsync());
    }

    [Fact]
    public async Task The_outbox_keeps_only_committed_messages_and_delivers_each_once_commands_to_their_queue()
    {
        var runId = Guid.NewGuid();
        await using (var connection = await _dataSource.OpenConnectionAsync())
        {
            await using (var rolledBack = await connection.BeginTransactionAsync())
            {
                await Outbox.WriteAsync(_dataSource, connection, rolledBack, [new HostShutdownRequested(runId, "cluster1", "never")], CancellationToken.None);
                await rolledBack.RollbackAsync();
            }
            await using var committed = await connection.BeginTransactionAsync();
            await Outbox.WriteAsync(_dataSource, connection, committed,
                [new HostShutdownRequested(runId, "cluster1", "esx-01"), new PowerRunCompleted(runId, "cluster1", [], false, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow)],
                CancellationToken.None);
            await committed.CommitAsync();
        }

        // A process that died after the commit: the next one delivers, in order, and only once.
        var delivered = new List<OutboxMessage>();
        Task Deliver(OutboxMessage m, CancellationToken _)
        {
            delivered.Add(m);
            return Task.CompletedTask;
        }
        while (await Outbox.PublishPendingAsync(_dataSource, Deliver, CancellationToken.None) > 0)
        {
        }
        await Outbox.PublishPendingAsync(_dataSource, Deliver, CancellationToken.None);

        var ours = delivered.Where(m => m.Message is HostShutdownRequested { RunId: var r } && r == runId || m.Message is PowerRunCompleted { RunId: var c } && c == runId).ToList();
        Assert.Equal(2, ours.Count);
        Assert.Equal("esx-01", Assert.IsType<HostShutdownRequested>(ours[0].Message).Host);
        Assert.Equal(CommandRoutes.QueueOf<HostShutdownRequested>(), ours[0].Destination);
        Assert.Null(ours[1].Destination); // an event: published
        Assert.Equal(2, ours.Select(m => m.MessageId).Distinct().Count());
    }

    [Fact]
    public async Task The_outbox_sends_a_run_of_like_commands_side_by_side_and_keeps_a_failed_one_pending_with_what_follows()
    {
        var runId = Guid.NewGuid();
        var vms = Enumerable.Range(1, 5).Select(i => $"vm-{i}").ToArray();
        await using (var connection = await _dataSource.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await Outbox.WriteAsync(_dataSource, connection, transaction,
                [.. vms.Select(vm => (object)new VmShutdownRequested(runId, "cluster1", vm, vm, TimeSpan.FromMinutes(5))),
                    new PowerRunCompleted(runId, "cluster1", [], false, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow)],
                CancellationToken.None);
            await transaction.CommitAsync();
        }

        // Each command's send completes only once all five were started: one at a time, the first would wait in vain.
        var started = 0;
        var allStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var attempted = new List<OutboxMessage>();
        async Task Deliver(OutboxMessage m, CancellationToken _)
        {
            lock (attempted)
                attempted.Add(m);
            if (m.Message is not VmShutdownRequested command)
                return;
            if (Interlocked.Increment(ref started) == vms.Length)
                allStarted.SetResult();
            await allStarted.Task.WaitAsync(TimeSpan.FromSeconds(30));
            if (command.VmName == "vm-3")
                throw new InvalidOperationException("broker gone");
        }
        await Assert.ThrowsAsync<InvalidOperationException>(() => Outbox.PublishPendingAsync(_dataSource, Deliver, CancellationToken.None));
        Assert.Equal(vms.Length, attempted.Count); // the event after the run was not sent
        var failedId = attempted.Single(m => m.Message is VmShutdownRequested { VmName: "vm-3" }).MessageId;

        // Next round: only the failed command (same id) and the event after it, in order; the four sent ones are marked.
        var retried = new List<OutboxMessage>();
        await Outbox.PublishPendingAsync(_dataSource, (m, _) => { retried.Add(m); return Task.CompletedTask; }, CancellationToken.None);
        Assert.Equal(2, retried.Count);
        Assert.Equal(failedId, retried[0].MessageId);
        Assert.Equal(CommandRoutes.QueueOf<VmShutdownRequested>(), retried[0].Destination);
        Assert.IsType<PowerRunCompleted>(retried[1].Message);
    }

    [Fact]
    public async Task The_outbox_starts_the_next_like_command_as_soon_as_one_in_flight_is_confirmed()
    {
        // One more command than the window: the first one's send completes only once the last one started. Sent in
        // lock-step windows (the next window after the slowest of the previous one) the last would never start.
        var runId = Guid.NewGuid();
        var vms = Enumerable.Range(1, Outbox.SendWindow + 1).Select(i => $"vm-{i:000}").ToArray();
        await using (var connection = await _dataSource.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await Outbox.WriteAsync(_dataSource, connection, transaction,
                [.. vms.Select(vm => (object)new VmShutdownRequested(runId, "cluster1", vm, vm, TimeSpan.FromMinutes(5)))], CancellationToken.None);
            await transaction.CommitAsync();
        }

        var lastStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sent = new List<string>();
        async Task Deliver(OutboxMessage m, CancellationToken _)
        {
            if (m.Message is not VmShutdownRequested { RunId: var r } command || r != runId)
                return;
            lock (sent)
                sent.Add(command.VmName);
            if (command.VmName == vms[^1])
                lastStarted.SetResult();
            if (command.VmName == vms[0])
                await lastStarted.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        await Outbox.PublishPendingAsync(_dataSource, Deliver, CancellationToken.None);
        Assert.Equal(vms.Order(StringComparer.Ordinal), sent.Order(StringComparer.Ordinal));

        var again = 0;
        await Outbox.PublishPendingAsync(_dataSource, (m, _) =>
        {
            if (m.Message is VmShutdownRequested { RunId: var r } && r == runId)
                again++;
            return Task.CompletedTask;
        }, CancellationToken.None);
        Assert.Equal(0, again); // all marked delivered
    }

    [Fact]
    public async Task A_send_that_never_completes_is_given_up_after_the_send_timeout_and_stays_pending_for_the_next_round()
    {
        // A broker restart can leave a send waiting for a confirm that never comes; the delivery loop must not wait with it.
        var runId = Guid.NewGuid();
        await using (var connection = await _dataSource.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await Outbox.WriteAsync(_dataSource, connection, transaction,
                [new HostShutdownRequested(runId, "cluster1", "esx-01"), new HostShutdownRequested(runId, "cluster1", "esx-02")], CancellationToken.None);
            await transaction.CommitAsync();
        }

        var sent = new List<string>();
        var failed = await Record.ExceptionAsync(() => Outbox.PublishPendingAsync(_dataSource, async (m, token) =>
        {
            if (m.Message is not HostShutdownRequested { RunId: var r } command || r != runId)
                return;
            if (command.Host == "esx-01")
                await Task.Delay(Timeout.InfiniteTimeSpan, token); // never confirmed: only the send timeout ends it
            sent.Add(command.Host);
        }, CancellationToken.None, TimeSpan.FromSeconds(2)).WaitAsync(TimeSpan.FromMinutes(2)));
        Assert.IsAssignableFrom<OperationCanceledException>(failed);
        Assert.Equal(["esx-02"], sent); // its like sibling went out side by side and is marked; the stuck one stays pending

        await Outbox.PublishPendingAsync(_dataSource, (m, _) =>
        {
            if (m.Message is HostShutdownRequested { RunId: var r } command && r == runId)
                sent.Add(command.Host);
            return Task.CompletedTask;
        }, CancellationToken.None);
        Assert.Equal(["esx-02", "esx-01"], sent); // the next round sends only the one given up on
    }

    [Fact]
    public async Task A_later_version_of_a_component_applies_only_what_is_new_in_order()
    {
        var component = $"test-{Guid.NewGuid():N}";
        var table = $"t_{Guid.NewGuid():N}";
        var v1 = new Migration(1, "table", $"CREATE TABLE {table} (id int PRIMARY KEY);");
        Assert.Equal(1, await new SchemaMigrations(component, [v1]).EnsureAppliedAsync(_dataSource, CancellationToken.None));

        // The next release adds a column: only version 2 runs (version 1 would fail: the table exists).
        var v2 = new Migration(2, "column", $"ALTER TABLE {table} ADD COLUMN name text NOT NULL DEFAULT 'x';");
        Assert.Equal(1, await new SchemaMigrations(component, [v2, v1]).EnsureAppliedAsync(_dataSource, CancellationToken.None));

        await using var command = _dataSource.CreateCommand("SELECT array_agg(version ORDER BY version) FROM schema_migrations WHERE component = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = component });
        var versions = (int[])(await command.ExecuteScalarAsync())!;
        Assert.Equal([1, 2], versions);
        Assert.Throws<ArgumentException>(() => new SchemaMigrations(component, [v1, v1 with { Name = "again" }]));
    }

    [Fact]
    public void Cluster_ids_are_stable_and_ignore_case()
    {
        Assert.Equal(PowerIds.ForCluster("cluster1"), PowerIds.ForCluster("CLUSTER1"));
        Assert.NotEqual(PowerIds.ForCluster("cluster1"), PowerIds.ForCluster("cluster2"));
    }
}
