/**
 * The snapshots table and its migrations. `init()` runs them as one `DO`
 * block under an advisory lock, so nodes starting together migrate once, and
 * each step is recorded in `<table>_migrations`. A new step is appended here
 * with the next version; released steps are never edited.
 */
export function migrationSql(table: string): string {
  const steps: string[] = [
    // 1: the table, ordered by (started_at, execution_id) in byte order like the other adapters.
    `CREATE TABLE ${table} (
       execution_id text COLLATE "C" PRIMARY KEY,
       job_name text NOT NULL,
       fire_id text NOT NULL,
       scheduled_at bigint,
       started_at bigint NOT NULL,
       finished_at bigint,
       duration_ms bigint,
       status text NOT NULL,
       node_id text NOT NULL,
       attempt integer NOT NULL,
       kind text NOT NULL,
       shard_index integer,
       shard_total integer,
       error_message text,
       error_stack text,
       skip_reason text,
       misfire_policy text,
       missed_count integer
     );
     CREATE INDEX ${table}_job_started ON ${table} (job_name, started_at DESC, execution_id DESC);
     CREATE INDEX ${table}_started ON ${table} (started_at DESC, execution_id DESC);
     CREATE INDEX ${table}_status_started ON ${table} (status, started_at DESC);
     CREATE INDEX ${table}_node_started ON ${table} (node_id, started_at DESC);`,
    // 2: sharding — a shard run's item counts, a sharded fire's shard results.
    `ALTER TABLE ${table}
       ADD COLUMN items_total integer,
       ADD COLUMN items_done integer,
       ADD COLUMN items_failed integer,
       ADD COLUMN shards jsonb;`,
  ];
  const body = steps
    .map(
      (sql, i) => `
  IF NOT EXISTS (SELECT 1 FROM ${table}_migrations WHERE version = ${i + 1}) THEN
    ${sql}
    INSERT INTO ${table}_migrations (version) VALUES (${i + 1});
  END IF;`,
    )
    .join('');
  return `DO $sched$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('sched:${table}'));
  CREATE TABLE IF NOT EXISTS ${table}_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());${body}
END
$sched$;`;
}

export const SCHEMA_VERSION = 2;

const NAME = /^[a-z_][a-z0-9_]{0,50}$/;

/** The table name as given, if it is a plain lower-case identifier (it is spliced into SQL). */
export function checkTableName(table: string): string | undefined {
  return NAME.test(table) ? table : undefined;
}
