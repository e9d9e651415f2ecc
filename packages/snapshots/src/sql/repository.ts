import {
  InvalidArgumentError,
  normalizeFilter,
  pageOf,
  StoreUnavailableError,
  SystemClock,
  type Clock,
  type ExecutionSnapshot,
  type SnapshotFilter,
  type SnapshotPage,
  type SnapshotPatch,
  type SnapshotRepository,
  type SnapshotStatistics,
} from '@sched/core';
import { COLUMNS, columnOf, fromRow, toDb } from './columns.js';
import { checkTableName, migrationSql } from './schema.js';
import { checkRetention, DEFAULT_RETENTION, type RetentionOptions } from '../retention.js';

/**
 * What the SQL adapter needs of a database: `pg`'s `Pool`/`Client` and
 * PGlite both fit through `fromPg` / the embedded adapter.
 */
export interface SqlDriver {
  query(text: string, params?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
  /** Runs SQL without parameters (several statements allowed). */
  exec(text: string): Promise<unknown>;
}

export interface SqlSnapshotRepositoryOptions extends RetentionOptions {
  /** Table name (plain lower-case identifier). @default 'sched_snapshots' */
  table?: string;
  /**
   * `maxPerJob` is enforced by a prune at most this often (over the jobs written
   * since); `maxAgeMs` holds on every read and is pruned at the same pace. 0 prunes
   * after every write batch. @default 60000
   */
  pruneIntervalMs?: number;
  clock?: Clock;
}

type Op =
  | { kind: 'record'; snapshot: ExecutionSnapshot; done: Settle }
  | { kind: 'update'; executionId: string; patch: SnapshotPatch; done: Settle };
interface Settle {
  resolve: () => void;
  reject: (e: Error) => void;
}

/** Rows per INSERT (18 parameters each, far below PostgreSQL's 65,535). */
const INSERT_CHUNK = 500;
const FINISHED = `('completed','failed','timeout','cancelled','abandoned')`;

/**
 * SnapshotRepository on SQL (PostgreSQL through `pg`, or PGlite embedded).
 * Writes are gathered for one turn of the event loop and sent in call order:
 * records as multi-row upserts, updates with the same fields as one
 * `UPDATE … FROM (VALUES …)`. Filters, pages and statistics run in SQL on the
 * table's indexes; nothing is loaded into Node to be counted.
 */
export class SqlSnapshotRepository implements SnapshotRepository {
  readonly table: string;
  private readonly maxAgeMs: number;
  private readonly maxPerJob: number;
  private readonly pruneIntervalMs: number;
  private readonly clock: Clock;
  private queue: Op[] = [];
  private scheduled = false;
  private writing: Promise<void> = Promise.resolve();
  private initialized: Promise<void> | undefined;
  private readonly touched = new Set<string>();
  private lastPruneAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly db: SqlDriver,
    options: SqlSnapshotRepositoryOptions = {},
  ) {
    const api = 'SqlSnapshotRepository';
    const table = checkTableName(options.table ?? 'sched_snapshots');
    if (!table)
      throw new InvalidArgumentError(api, `table must be a lower-case identifier, got ${JSON.stringify(options.table)}`);
    this.table = table;
    ({ maxAgeMs: this.maxAgeMs, maxPerJob: this.maxPerJob } = checkRetention(api, options, DEFAULT_RETENTION));
    const prune = options.pruneIntervalMs ?? 60_000;
    if (!Number.isInteger(prune) || prune < 0)
      throw new InvalidArgumentError(api, `pruneIntervalMs must be an integer ≥ 0, got ${prune}`);
    this.pruneIntervalMs = prune;
    this.clock = options.clock ?? new SystemClock();
  }

  /** Creates the table and indexes, or migrates them to this version (idempotent; once per instance). */
  init(): Promise<void> {
    this.initialized ??= this.db.exec(migrationSql(this.table)).then(
      () => undefined,
      (error: unknown) => {
        this.initialized = undefined;
        throw unavailable('init', error);
      },
    );
    return this.initialized;
  }

  record(snapshot: ExecutionSnapshot): Promise<void> {
    return this.enqueue((done) => ({ kind: 'record', snapshot, done }));
  }

  update(executionId: string, patch: SnapshotPatch): Promise<void> {
    for (const key of Object.keys(patch)) {
      if (!columnOf(key) || key === 'executionId' || key === 'jobName' || key === 'fireId')
        return Promise.reject(new InvalidArgumentError('snapshots.update', `unknown or fixed field "${key}"`));
    }
    return this.enqueue((done) => ({ kind: 'update', executionId, patch, done }));
  }

  async get(executionId: string): Promise<ExecutionSnapshot | null> {
    await this.init();
    const { rows } = await this.read('get', `SELECT * FROM ${this.table} WHERE execution_id = $1 AND started_at >= $2`, [
      executionId,
      this.oldestKept(),
    ]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async list(filter: SnapshotFilter = {}): Promise<SnapshotPage> {
    const f = normalizeFilter(filter);
    await this.init();
    const where: string[] = [];
    const params: unknown[] = [];
    const p = (v: unknown) => `$${params.push(v)}`;
    where.push(`started_at >= ${p(Math.max(f.startTime ?? Number.NEGATIVE_INFINITY, this.oldestKept()))}`);
    if (f.endTime !== undefined) where.push(`started_at < ${p(f.endTime)}`);
    if (f.jobName !== undefined) where.push(`job_name = ${p(f.jobName)}`);
    if (f.nodeId !== undefined) where.push(`node_id = ${p(f.nodeId)}`);
    if (f.statuses !== undefined) where.push(`status = ANY(${p(f.statuses)}::text[])`);
    if (f.after !== undefined) where.push(`(started_at, execution_id) < (${p(f.after.startedAt)}, ${p(f.after.executionId)})`);
    const { rows } = await this.read(
      'list',
      `SELECT * FROM ${this.table} WHERE ${where.join(' AND ')} ORDER BY started_at DESC, execution_id DESC LIMIT ${f.limit + 1}`,
      params,
    );
    return pageOf(rows.map(fromRow), f.limit);
  }

  async getStatistics(jobName: string, start: Date | number, end: Date | number): Promise<SnapshotStatistics> {
    const f = normalizeFilter({ jobName, startTime: start, endTime: end }, 'snapshots.getStatistics');
    await this.init();
    const runs = `status IN ${FINISHED} AND duration_ms IS NOT NULL`;
    const { rows } = await this.read(
      'getStatistics',
      `SELECT count(*) AS total,
              count(*) FILTER (WHERE status = 'completed') AS success,
              count(*) FILTER (WHERE status IN ('failed','timeout','abandoned')) AS failure,
              count(*) FILTER (WHERE status = 'skipped') AS skipped,
              count(*) FILTER (WHERE status = 'timeout') AS timeout,
              avg(duration_ms) FILTER (WHERE ${runs}) AS avg_ms,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) FILTER (WHERE ${runs}) AS p50_ms,
              percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) FILTER (WHERE ${runs}) AS p95_ms,
              max(started_at) FILTER (WHERE status NOT IN ('skipped','misfired')) AS last_run
         FROM ${this.table}
        WHERE job_name = $1 AND started_at >= $2 AND started_at < $3`,
      [jobName, Math.max(f.startTime as number, this.oldestKept()), f.endTime],
    );
    const r = rows[0] ?? {};
    const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));
    return {
      totalCount: num(r.total),
      successCount: num(r.success),
      failureCount: num(r.failure),
      skippedCount: num(r.skipped),
      timeoutCount: num(r.timeout),
      avgDurationMs: num(r.avg_ms),
      p50DurationMs: num(r.p50_ms),
      p95DurationMs: num(r.p95_ms),
      lastRunAt: r.last_run === null || r.last_run === undefined ? undefined : new Date(Number(r.last_run)),
    };
  }

  /** Deletes what retention no longer keeps: everything past `maxAgeMs`, and beyond `maxPerJob` for the jobs written since the last prune. */
  async prune(): Promise<void> {
    await this.init();
    const jobs = [...this.touched];
    this.touched.clear();
    this.lastPruneAt = this.clock.now();
    await this.db.query(`DELETE FROM ${this.table} WHERE started_at < $1`, [this.oldestKept()]);
    if (jobs.length === 0) return;
    await this.db.query(
      `DELETE FROM ${this.table} t USING (
         SELECT execution_id FROM (
           SELECT execution_id, row_number() OVER (PARTITION BY job_name ORDER BY started_at DESC, execution_id DESC) AS rn
             FROM ${this.table} WHERE job_name = ANY($1::text[])
         ) ranked WHERE rn > $2
       ) old WHERE t.execution_id = old.execution_id`,
      [jobs, this.maxPerJob],
    );
  }

  /** Resolves once every write queued so far was sent (stored, or failed and rejected). */
  async flushed(): Promise<void> {
    if (this.scheduled) await new Promise<void>((resolve) => setImmediate(resolve));
    await this.writing;
  }

  private oldestKept(): number {
    return this.clock.now() - this.maxAgeMs;
  }

  private async read(api: string, text: string, params: unknown[]) {
    try {
      return await this.db.query(text, params);
    } catch (error) {
      throw unavailable(api, error);
    }
  }

  private enqueue(make: (done: Settle) => Op): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push(make({ resolve, reject }));
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          const ops = this.queue;
          this.queue = [];
          // Batches go one after another, so writes land in call order.
          this.writing = this.writing.then(() => this.writeBatch(ops));
        });
      }
    });
  }

  private async writeBatch(ops: Op[]): Promise<void> {
    try {
      await this.init();
      for (let i = 0; i < ops.length;) {
        const first = ops[i] as Op;
        let j = i + 1;
        if (first.kind === 'record') {
          while (j < ops.length && (ops[j] as Op).kind === 'record' && j - i < INSERT_CHUNK) j++;
          await this.insert(ops.slice(i, j).map((o) => (o as Extract<Op, { kind: 'record' }>).snapshot));
        } else {
          const keys = patchKeys(first.patch);
          while (j < ops.length && j - i < INSERT_CHUNK) {
            const o = ops[j] as Op;
            if (o.kind !== 'update' || patchKeys(o.patch) !== keys) break;
            j++;
          }
          await this.updateMany(ops.slice(i, j) as Array<Extract<Op, { kind: 'update' }>>);
        }
        i = j;
      }
    } catch (error) {
      const e = unavailable('record', error);
      for (const op of ops) op.done.reject(e);
      return;
    }
    if (this.clock.now() - this.lastPruneAt >= this.pruneIntervalMs) {
      // Before the writes resolve, so a reader after them sees the retention applied. Housekeeping:
      // its failure is retried with the next batch, never a failed write.
      await this.prune().catch(() => undefined);
    }
    for (const op of ops) op.done.resolve();
  }

  private async insert(snapshots: ExecutionSnapshot[]): Promise<void> {
    const params: unknown[] = [];
    const rows = snapshots.map((s) => {
      this.touched.add(s.jobName);
      return `(${COLUMNS.map((c) => `$${params.push(toDb(s[c.field], c.type))}::${c.type}`).join(',')})`;
    });
    const names = COLUMNS.map((c) => c.name);
    await this.db.query(
      `INSERT INTO ${this.table} (${names.join(',')}) VALUES ${rows.join(',')}
       ON CONFLICT (execution_id) DO UPDATE SET ${names
         .slice(1)
         .map((n) => `${n} = EXCLUDED.${n}`)
         .join(', ')}`,
      params,
    );
  }

  private async updateMany(ops: Array<Extract<Op, { kind: 'update' }>>): Promise<void> {
    const fields = Object.keys(ops[0]?.patch ?? {});
    if (fields.length === 0) return;
    const cols = fields.map((k) => columnOf(k) as NonNullable<ReturnType<typeof columnOf>>);
    const params: unknown[] = [];
    const values = ops.map(
      (o) =>
        `($${params.push(o.executionId)}::text, ${cols
          .map((c) => `$${params.push(toDb((o.patch as Record<string, unknown>)[c.field], c.type))}::${c.type}`)
          .join(', ')})`,
    );
    await this.db.query(
      `UPDATE ${this.table} AS t SET ${cols.map((c) => `${c.name} = v.${c.name}`).join(', ')}
         FROM (VALUES ${values.join(', ')}) AS v(execution_id, ${cols.map((c) => c.name).join(', ')})
        WHERE t.execution_id = v.execution_id`,
      params,
    );
  }
}

function patchKeys(patch: SnapshotPatch): string {
  return Object.keys(patch).sort().join(',');
}

/** A driver failure as the port's typed error, with the driver's message and cause kept. */
function unavailable(api: string, error: unknown): Error {
  if (error instanceof InvalidArgumentError || error instanceof StoreUnavailableError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new StoreUnavailableError(`snapshots.${api}`, `the SQL store failed: ${message}`, { cause: error });
}
