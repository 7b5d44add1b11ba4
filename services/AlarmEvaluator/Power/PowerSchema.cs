using PowerEvents.Hosting;

namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>
/// The saga's tables as versioned migrations (component <c>power</c>), applied at start by the hosting library's
/// runner (<see cref="SchemaMigrations"/>). Version 1 keeps <c>IF NOT EXISTS</c>: databases created before the runner adopt it.
/// </summary>
public static class PowerSchema
{
    public static readonly SchemaMigrations Migrations = new("power",
    [
        new Migration(1, "saga rows and run history", """
            CREATE TABLE IF NOT EXISTS power_saga (
                correlation_id   uuid PRIMARY KEY,
                current_state    text NOT NULL,
                version          integer NOT NULL,
                cluster          text NOT NULL,
                run_id           uuid NULL,
                alarm_id         uuid NULL,
                started_at       timestamptz NULL,
                completed_at     timestamptz NULL,
                alarm_cleared_at timestamptz NULL,
                step             integer NOT NULL,
                deadline         timestamptz NULL,
                run              jsonb NULL
            );
            CREATE INDEX IF NOT EXISTS power_saga_deadline ON power_saga (deadline) WHERE deadline IS NOT NULL;
            CREATE TABLE IF NOT EXISTS power_run_history (
                id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                run_id   uuid NOT NULL,
                cluster  text NOT NULL,
                at       timestamptz NOT NULL,
                step     text NOT NULL,
                target   text NOT NULL,
                outcome  text NOT NULL,
                detail   text NOT NULL
            );
            CREATE INDEX IF NOT EXISTS power_run_history_run ON power_run_history (run_id, id);
            """),
        // The zone's transition number travels in the alarm (the saga no longer reads the zone's table).
        new Migration(2, "zone sequence", """
            ALTER TABLE power_saga ADD COLUMN IF NOT EXISTS zone_sequence bigint NULL;
            ALTER TABLE power_saga ADD COLUMN IF NOT EXISTS zone_transition_at timestamptz NULL;
            """),
        // Each step of a run is its own row (issue 11): an outcome rewrites one row, not the run; the header keeps no VM.
        new Migration(3, "per-step rows", """
            CREATE TABLE power_step (
                run_id         uuid NOT NULL,
                kind           text NOT NULL,
                target         text NOT NULL,
                saga_id        uuid NOT NULL,
                stage          integer NOT NULL,
                ord            integer NOT NULL,
                name           text NOT NULL,
                host           text NOT NULL,
                folder         text NOT NULL,
                tools_running  boolean NOT NULL,
                is_vcenter     boolean NOT NULL,
                status         text NOT NULL,
                attempts       integer NOT NULL,
                outcome        text NOT NULL,
                detail         text NOT NULL,
                hard_power_off boolean NOT NULL,
                PRIMARY KEY (run_id, kind, target)
            );
            CREATE INDEX power_step_saga ON power_step (saga_id);
            CREATE INDEX power_step_open ON power_step (run_id, kind, stage) WHERE status IN ('Pending', 'Requested', 'Late');
            """),
        // Outcomes are recorded on the step rows by a consumer of their own (StepOutcomeConsumer), without the header: the
        // row names its stage (the history's "tier …"), and a stage's open steps (what its completion counts and the next
        // claim picks from) are Pending and Requested only (a Late step's stage has moved on).
        new Migration(4, "step rows recorded on their own", """
            ALTER TABLE power_step ADD COLUMN stage_name text NOT NULL DEFAULT '';
            DROP INDEX power_step_open;
            CREATE INDEX power_step_open ON power_step (run_id, kind, stage, ord) WHERE status IN ('Pending', 'Requested');
            """),
        // One source of truth for where a run is (issue 11): the machine's state is its life (shutting down, off, waiting,
        // powering on, restored), the header's phase only the stage of the running plan. A row saved by the version before
        // moves over: its stage states become ShuttingDown / PoweringOn, and the phases that mirrored a state go.
        new Migration(5, "run phase is the plan's stage only", """
            UPDATE power_saga SET run = jsonb_set(run, '{completedAt}', to_jsonb(completed_at))
            WHERE run IS NOT NULL AND completed_at IS NOT NULL AND run->>'phase' IN ('Done', 'PowerOnPending', 'HostPowerOn', 'VCenterStart',
                'HostReconnect', 'ExitMaintenance', 'VmPowerOn', 'ClusterRestore', 'Restored');
            UPDATE power_saga SET run = jsonb_set(run, '{restore,dueAt}', to_jsonb(deadline))
            WHERE run IS NOT NULL AND run->>'phase' = 'PowerOnPending' AND deadline IS NOT NULL;
            UPDATE power_saga SET run = jsonb_set(run, '{phase}', 'null'::jsonb)
            WHERE run IS NOT NULL AND run->>'phase' IN ('Inventory', 'Done', 'PowerOnPending', 'Restored');
            UPDATE power_saga SET run = jsonb_set(run, '{previousRun,phase}', 'null'::jsonb)
            WHERE run IS NOT NULL AND run->'previousRun'->>'phase' IN ('Inventory', 'Done', 'PowerOnPending', 'Restored');
            UPDATE power_saga SET current_state = CASE
                WHEN current_state IN ('ShuttingDownVms', 'PreparingCluster', 'EnteringMaintenance', 'ShuttingDownHosts', 'ShuttingDownVCenterHost') THEN 'ShuttingDown'
                WHEN current_state IN ('PoweringOnHosts', 'StartingVCenter', 'WaitingForHosts', 'ExitingMaintenance', 'PoweringOnVms', 'RestoringCluster') THEN 'PoweringOn'
                ELSE current_state END;
            """),
        // Host steps are rows too (issue 11, point 2): maintenance, shutdown (through vCenter or the host's own ESXi API),
        // power-on and maintenance exit, one row each; the header keeps no host, so its size does not grow with the
        // cluster's. A header stored before still carries its hosts: they are read from it and move into rows at its next save.
        new Migration(6, "host step rows", """
            ALTER TABLE power_step ADD COLUMN was_powered_on boolean NOT NULL DEFAULT false;
            ALTER TABLE power_step ADD COLUMN was_in_maintenance boolean NOT NULL DEFAULT false;
            ALTER TABLE power_step ADD COLUMN via_esxi boolean NOT NULL DEFAULT false;
            ALTER TABLE power_step ADD COLUMN connected boolean NOT NULL DEFAULT false;
            """),
    ]);
}
