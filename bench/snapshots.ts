/**
 * Snapshot recording: write throughput of each adapter, and the fire lateness
 * a scheduler shows with recording on (each adapter) against recording off (a
 * repository that drops every write), cells interleaved in the same run.
 * Servers are the run's own (redis-server, PostgreSQL); PGlite in memory.
 * Run: pnpm --filter @sched/bench snapshots   (about 3 minutes)
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import {
  MemorySnapshotRepository,
  Scheduler,
  silentLogger,
  type ExecutionSnapshot,
  type SnapshotPage,
  type SnapshotRepository,
  type SnapshotStatistics,
} from '@sched/core';
import { RedisConnection } from '@sched/redis';
import { PostgresSnapshotRepository, RedisSnapshotRepository, SqlSnapshotRepository } from '@sched/snapshots';
import { PostgresServer, RedisServer } from '@sched/testkit';
import { fmt, keepRaw, machine, median, summary, table } from './lib/stats.js';

const RAW = 'snapshots.jsonl';
const WRITES = Number(process.env.BENCH_WRITES ?? 20_000);
const JOBS = Number(process.env.BENCH_JOBS ?? 1_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);

/** Recording off: every write accepted and dropped. */
class DiscardingRepository implements SnapshotRepository {
  async record(): Promise<void> {}
  async update(): Promise<void> {}
  async get(): Promise<ExecutionSnapshot | null> {
    return null;
  }
  async list(): Promise<SnapshotPage> {
    return { items: [] };
  }
  async getStatistics(): Promise<SnapshotStatistics> {
    return {
      totalCount: 0,
      successCount: 0,
      failureCount: 0,
      skippedCount: 0,
      timeoutCount: 0,
      avgDurationMs: 0,
      p50DurationMs: 0,
      p95DurationMs: 0,
      lastRunAt: undefined,
    };
  }
}

function snapshot(i: number, run: number): ExecutionSnapshot {
  const startedAt = Date.now();
  return {
    executionId: `r${run}-${i}`,
    jobName: `job-${i % 1_000}`,
    fireId: `job-${i % 1_000}@${startedAt}`,
    scheduledAt: startedAt,
    startedAt,
    finishedAt: undefined,
    durationMs: undefined,
    status: 'running',
    nodeId: 'bench',
    attempt: 1,
    kind: 'cron',
  };
}

/** Writes as the scheduler's writer does: a start record, then its end update, 1,000 of each per turn. */
async function writesPerSecond(repo: SnapshotRepository, run: number): Promise<number> {
  const t0 = performance.now();
  for (let from = 0; from < WRITES; from += 1_000) {
    const ids = Array.from({ length: Math.min(1_000, WRITES - from) }, (_, k) => from + k);
    await Promise.all(ids.map((i) => repo.record(snapshot(i, run))));
    await Promise.all(
      ids.map((i) => repo.update(`r${run}-${i}`, { status: 'completed', finishedAt: Date.now(), durationMs: 1 })),
    );
  }
  return (2 * WRITES) / ((performance.now() - t0) / 1000);
}

/** Lateness of every start (ms after its instant) of `JOBS` no-op jobs due each second, for `SECONDS`. */
async function lateness(repo: SnapshotRepository): Promise<number[]> {
  const sched = new Scheduler({ logger: silentLogger, snapshotRepository: repo, maxConcurrency: JOBS * 2, maxQueued: JOBS * 2 });
  const late: number[] = [];
  sched.on('start', (e) => {
    if (e.scheduledAt) late.push(e.startedAt.getTime() - e.scheduledAt.getTime());
  });
  for (let i = 0; i < JOBS; i++) sched.registerJob({ name: `job-${i}`, execute: () => {} }, { cronSpec: '* * * * * *' });
  await sched.start();
  await new Promise((r) => setTimeout(r, SECONDS * 1_000 + 300));
  await sched.stop();
  return late;
}

async function main() {
  console.log(`@sched/snapshots recording — ${machine()}`);
  const redisServer = await RedisServer.start();
  const pgServer = await PostgresServer.start({ useDatabaseUrl: false });
  const redis = new Redis(redisServer.url);
  const pool = new pg.Pool({ connectionString: pgServer.url, max: 4 });
  const pglite = await PGlite.create();
  let tables = 0;
  const adapters: Array<[string, () => Promise<SnapshotRepository>]> = [
    ['off (writes dropped)', async () => new DiscardingRepository()],
    ['memory', async () => new MemorySnapshotRepository({ maxPerJob: 100 })],
    ['redis', async () => new RedisSnapshotRepository(new RedisConnection(redis, { keyPrefix: `b${++tables}` }))],
    [
      'postgresql',
      async () => {
        const repo = new PostgresSnapshotRepository(pool, { table: `bench_${++tables}` });
        await repo.init();
        return repo;
      },
    ],
    [
      'embedded (PGlite)',
      async () => {
        const repo = new SqlSnapshotRepository(pglite, { table: `bench_${++tables}` });
        await repo.init();
        return repo;
      },
    ],
  ];
  try {
    const throughput = new Map<string, number[]>();
    const late = new Map<string, Array<ReturnType<typeof summary>>>();
    // Warm-up (JIT, the first scheduler's allocations): not counted.
    await lateness(new DiscardingRepository());
    for (let rep = 0; rep < REPEATS; rep++) {
      for (const [name, make] of adapters) {
        const w = await writesPerSecond(await make(), rep);
        throughput.set(name, [...(throughput.get(name) ?? []), w]);
        const l = summary(await lateness(await make()));
        late.set(name, [...(late.get(name) ?? []), l]);
        keepRaw(RAW, { adapter: name, rep, writesPerSecond: w, lateness: l, jobs: JOBS });
        console.log(`  ${name} rep ${rep + 1}: ${fmt(w, 0)} writes/s, lateness p50 ${l.p50} p99 ${l.p99} ms`);
      }
    }
    const offP99 = late.get('off (writes dropped)')?.map((s) => s.p99) ?? [];
    const rows = adapters.map(([name]) => {
      const w = throughput.get(name) ?? [];
      const s = late.get(name) ?? [];
      const p99 = s.map((x) => x.p99);
      const added = p99.map((v, i) => v - (offP99[i] ?? Number.NaN));
      return [
        name,
        `${fmt(median(w), 0)} [${fmt(Math.min(...w), 0)}–${fmt(Math.max(...w), 0)}]`,
        `${fmt(median(s.map((x) => x.p50)))}`,
        `${fmt(median(p99))} [${fmt(Math.min(...p99))}–${fmt(Math.max(...p99))}]`,
        name.startsWith('off') ? '' : `${fmt(median(added))} [${fmt(Math.min(...added))}–${fmt(Math.max(...added))}]`,
      ];
    });
    console.log(
      table(
        [
          `adapter (${JOBS} jobs due each second, ${REPEATS} × ${SECONDS} s)`,
          'writes/s [min–max]',
          'p50 ms',
          'p99 ms [min–max]',
          'p99 added vs off (same repeat)',
        ],
        rows,
      ),
    );
  } finally {
    redis.disconnect();
    await pool.end();
    await pglite.close();
    await redisServer.dispose();
    await pgServer.dispose();
  }
}

await main();
