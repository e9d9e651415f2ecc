import {
  compareNewestFirst,
  pageOf,
  normalizeFilter,
  SystemClock,
  type Clock,
  type ExecutionSnapshot,
  type NormalizedFilter,
  type SnapshotFilter,
  type SnapshotPage,
  type SnapshotPatch,
  type SnapshotRepository,
  type SnapshotStatistics,
} from '@sched/core';
import type { RedisConnection } from '@sched/redis';
import { checkRetention, DEFAULT_RETENTION, type RetentionOptions } from '../retention.js';
import { scripts } from '../scripts.js';

export interface RedisSnapshotRepositoryOptions extends RetentionOptions {
  clock?: Clock;
}

/** Entries one `list` script call looks at, at most (bounds how long a sparse filter holds Redis). */
const SCAN_BUDGET = 2_000;
/** Expired snapshots removed per write batch, at most. */
const PRUNE_PER_BATCH = 500;

interface Pending {
  bucket: number;
  args: Array<string | number>;
  resolve: () => void;
  reject: (e: Error) => void;
}

/**
 * SnapshotRepository on Redis or Redis Cluster. Each job's snapshots live in
 * its bucket (the lock's hash tags): a hash of JSON by execution id, a sorted
 * set per job and one per bucket by `startedAt`. Writes are gathered per
 * bucket for one turn of the event loop (one Lua call each, in call order) and
 * apply retention as they go; filters, pages and statistics run in Lua next
 * to the data. Snapshots kept in Redis do not survive its data loss: durable
 * history is PostgreSQL's.
 */
export class RedisSnapshotRepository implements SnapshotRepository {
  private readonly maxAgeMs: number;
  private readonly maxPerJob: number;
  private readonly clock: Clock;
  private records = new Map<number, Pending[]>();
  private updates = new Map<number, Pending[]>();
  private scheduled = false;
  /** Bucket of executions recorded by this process recently, so `update` goes straight to it. */
  private readonly recentBucket = new Map<string, number>();

  /** `source`: a `RedisConnection`, or anything with a `connection` (the cluster's `RedisSchedulerCache`). */
  constructor(source: RedisConnection | { connection: RedisConnection }, options: RedisSnapshotRepositoryOptions = {}) {
    this.connection = 'connection' in source ? source.connection : source;
    ({ maxAgeMs: this.maxAgeMs, maxPerJob: this.maxPerJob } = checkRetention(
      'RedisSnapshotRepository',
      options,
      DEFAULT_RETENTION,
    ));
    this.clock = options.clock ?? new SystemClock();
  }

  readonly connection: RedisConnection;

  record(snapshot: ExecutionSnapshot): Promise<void> {
    const bucket = this.connection.bucketOf(snapshot.jobName);
    this.remember(snapshot.executionId, bucket);
    return this.enqueue(this.records, bucket, [
      snapshot.executionId,
      snapshot.startedAt,
      snapshot.jobName,
      JSON.stringify(snapshot),
    ]);
  }

  async update(executionId: string, patch: SnapshotPatch): Promise<void> {
    const body = JSON.stringify(patch);
    const known = this.recentBucket.get(executionId);
    if (known !== undefined) {
      // A record of ours still queued goes first: updates of a bucket are sent after its records.
      await this.enqueue(this.updates, known, [executionId, body]);
      return;
    }
    // Recorded elsewhere: try every bucket (one on a single Redis).
    await Promise.all(this.allBuckets().map((b) => this.enqueue(this.updates, b, [executionId, body])));
  }

  async get(executionId: string): Promise<ExecutionSnapshot | null> {
    const buckets = this.recentBucket.has(executionId) ? [this.recentBucket.get(executionId) as number] : this.allBuckets();
    const found = await Promise.all(
      buckets.map((b) => this.connection.call('snapshots.get', () => this.connection.client.hget(this.dataKey(b), executionId))),
    );
    const json = found.find((f) => f !== null && f !== undefined);
    if (!json) return null;
    const snapshot = parse(json);
    return snapshot.startedAt >= this.oldestKept() ? snapshot : null;
  }

  async list(filter: SnapshotFilter = {}): Promise<SnapshotPage> {
    const f = normalizeFilter(filter);
    const want = f.limit + 1;
    const buckets = f.jobName === undefined ? this.allBuckets() : [this.connection.bucketOf(f.jobName)];
    const perBucket = await Promise.all(buckets.map((b) => this.walk(b, f, want)));
    return pageOf(perBucket.flat().sort(compareNewestFirst).slice(0, want), f.limit);
  }

  async getStatistics(jobName: string, start: Date | number, end: Date | number): Promise<SnapshotStatistics> {
    const f = normalizeFilter({ jobName, startTime: start, endTime: end }, 'snapshots.getStatistics');
    const b = this.connection.bucketOf(jobName);
    const out = (await this.connection.run(
      'snapshots.getStatistics',
      scripts.stats,
      [this.jobKey(b, jobName), this.dataKey(b)],
      [Math.max(f.startTime as number, this.oldestKept()), f.endTime as number],
    )) as string[];
    const n = (i: number) => Number(out[i]);
    return {
      totalCount: n(0),
      successCount: n(1),
      failureCount: n(2),
      skippedCount: n(3),
      timeoutCount: n(4),
      avgDurationMs: n(5),
      p50DurationMs: n(6),
      p95DurationMs: n(7),
      lastRunAt: out[8] ? new Date(n(8)) : undefined,
    };
  }

  /** Walks one bucket's sorted set from the filter's upper end, until `want` matches or the end. */
  private async walk(bucket: number, f: NormalizedFilter, want: number): Promise<ExecutionSnapshot[]> {
    const zset = f.jobName === undefined ? this.allKey(bucket) : this.jobKey(bucket, f.jobName);
    const min = Math.max(f.startTime ?? Number.NEGATIVE_INFINITY, this.oldestKept());
    let max = f.after ? String(f.after.startedAt) : '+inf';
    let afterId = f.after ? f.after.executionId : '';
    const found: ExecutionSnapshot[] = [];
    for (;;) {
      const [matches, resume] = (await this.connection.run(
        'snapshots.list',
        scripts.list,
        [zset, this.dataKey(bucket)],
        [
          max,
          afterId,
          min,
          f.endTime === undefined ? '+inf' : f.endTime,
          f.statuses?.join(',') ?? '',
          f.nodeId ?? '',
          want - found.length,
          SCAN_BUDGET,
        ],
      )) as [string[], string];
      for (const m of matches) found.push(parse(m));
      if (resume === '' || found.length >= want) return found;
      const bar = resume.indexOf('|');
      max = resume.slice(0, bar);
      afterId = resume.slice(bar + 1);
    }
  }

  private enqueue(into: Map<number, Pending[]>, bucket: number, args: Array<string | number>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let list = into.get(bucket);
      if (!list) into.set(bucket, (list = []));
      list.push({ bucket, args, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Sends this turn's writes: per bucket, the records, then the updates (same connection, so in that order). */
  private flush(): void {
    this.scheduled = false;
    const records = this.records;
    const updates = this.updates;
    this.records = new Map();
    this.updates = new Map();
    const cutoff = this.oldestKept();
    for (const [b, list] of records) {
      const args: Array<string | number> = [this.jobKey(b, ''), this.maxPerJob, cutoff, PRUNE_PER_BATCH];
      for (const p of list) args.push(...p.args);
      settle(list, this.connection.run('snapshots.record', scripts.record, [this.dataKey(b), this.allKey(b)], args));
    }
    for (const [b, list] of updates) {
      const args = list.flatMap((p) => p.args);
      settle(list, this.connection.run('snapshots.update', scripts.update, [this.dataKey(b)], args));
    }
  }

  private remember(executionId: string, bucket: number): void {
    if (this.connection.buckets === 1) return;
    this.recentBucket.set(executionId, bucket);
    if (this.recentBucket.size > 20_000) {
      // Oldest first (insertion order): the executions still running are the recent ones.
      for (const id of this.recentBucket.keys()) {
        this.recentBucket.delete(id);
        if (this.recentBucket.size <= 10_000) break;
      }
    }
  }

  private allBuckets(): number[] {
    return Array.from({ length: this.connection.buckets }, (_, i) => i);
  }

  private oldestKept(): number {
    return this.clock.now() - this.maxAgeMs;
  }

  private dataKey(b: number): string {
    return this.connection.bucketKey(b, 'snap', 'data');
  }

  private allKey(b: number): string {
    return this.connection.bucketKey(b, 'snap', 'all');
  }

  private jobKey(b: number, jobName: string): string {
    return `${this.connection.bucketKey(b, 'snap', 'job')}:${jobName}`;
  }
}

function settle(list: Pending[], call: Promise<unknown>): void {
  call.then(
    () => {
      for (const p of list) p.resolve();
    },
    (error: unknown) => {
      const e = error instanceof Error ? error : new Error(String(error));
      for (const p of list) p.reject(e);
    },
  );
}

function parse(json: string): ExecutionSnapshot {
  const s = JSON.parse(json) as ExecutionSnapshot;
  // JSON has no undefined: the fields the type always carries come back present.
  for (const k of ['scheduledAt', 'finishedAt', 'durationMs'] as const) if (!(k in s)) s[k] = undefined;
  return s;
}
