/**
 * Distributed claims on Redis: 1 and 3 node processes × 100 / 1k / 10k jobs due
 * each second, on a redis-server of this run's own. Per cell: fire lateness
 * (p50/p99/max from scheduledAt, beside bare timers aimed at the same instants
 * in a process of their own: the floor), round trips and Redis CPU per fire
 * (commands each node sent; Redis INFO cpu), claim calls per node per instant, duplicates and misses
 * from an independent ledger (each node's list of fires it ran), and the idle
 * cost per node per second apart. Method: ../shared/BENCH.md.
 *
 * Each node cell runs once per `claimAheadMs` in BENCH_CLAIM_AHEAD, one after the
 * other (a row `3 nodes ahead 30` is the same cell with fires claimed 30 ms ahead).
 *
 *   BENCH_SECONDS (20) BENCH_REPEATS (3) BENCH_JOBS (100,1000,10000) BENCH_NODES (1,3) BENCH_CLAIM_AHEAD (0,30)
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { RedisServer, stopProcess } from '@sched/testkit';
import { spawnBenchProcess } from './lib/spawn.js';
import { checkLedger } from './lib/ledger.js';
import { idleCpuPerSecond, redisCpuUsec } from './lib/redis.js';
import { timerFloor } from './lib/floor.js';
import { fmt, keepRaw, machine, summary, table } from './lib/stats.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 20);
const repeats = Number(process.env.BENCH_REPEATS ?? 3);
const jobCounts = (process.env.BENCH_JOBS ?? '100,1000,10000').split(',').map(Number);
const nodeCounts = (process.env.BENCH_NODES ?? '1,3').split(',').map(Number);
const claimAheads = (process.env.BENCH_CLAIM_AHEAD ?? '0,30').split(',').map(Number);
const WARMUP_MS = 3_000;
const script = fileURLToPath(new URL('./cluster-node.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sched-bench-'));

interface NodeResult {
  nodeId: string;
  late: number[];
  fires: string[];
  claimCalls: number;
  commands: number;
}

const spawnNode = (config: Record<string, unknown>): Promise<ChildProcess> => spawnBenchProcess(script, config);

const floor = (jobs: number, n: number, processes = 1) => timerFloor(dir, `${jobs}-${n}`, jobs, Math.min(seconds, 5), processes);

/** Redis's own CPU with no client but the admin connection (its cron, the VM): subtracted from every cell. */
let baselineUsecPerSecond = 0;

async function cell(
  server: RedisServer,
  admin: Redis,
  nodes: number,
  jobs: number,
  repeat: number,
  claimAheadMs = 0,
  cronSpec = '* * * * * *',
) {
  await admin.flushall();
  await admin.config('RESETSTAT');
  const outs = Array.from({ length: nodes }, (_, i) => join(dir, `n${nodes}-j${jobs}-r${repeat}-a${claimAheadMs}-${i}.json`));
  const children = await Promise.all(
    outs.map((out, i) =>
      spawnNode({ mode: 'node', nodeId: `node-${i + 1}`, url: server.url, jobs, cronSpec, out, claimAheadMs }),
    ),
  );
  // Warm-up excluded (BENCH.md): the first instants run cold code (JIT) in every node.
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  const before = await redisCpuUsec(admin);
  const t0 = Date.now();
  const from = Math.ceil(Date.now() / 1000) * 1000 + 1000;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const after = await redisCpuUsec(admin);
  const t1 = Date.now();
  const spent = after - before - baselineUsecPerSecond * ((t1 - t0) / 1000);
  const to = Math.floor(Date.now() / 1000) * 1000 - 1000;
  await Promise.all(children.map((c) => stopProcess(c, 'SIGTERM', 30_000)));
  const results = outs.map((o) => JSON.parse(readFileSync(o, 'utf8')) as NodeResult);
  // The independent ledger: every node's list of fires it ran.
  const { counts, duplicates, misses, expected } = checkLedger(
    results.map((r) => r.fires),
    jobs,
    from,
    to,
  );
  const fires = [...counts.keys()].length;
  // Lateness of the fires due inside the measured window only.
  const late: number[] = [];
  for (const r of results) {
    r.fires.forEach((fireId, i) => {
      const instant = Number(fireId.slice(fireId.indexOf('@') + 1));
      if (instant >= from && instant <= to) late.push(r.late[i] as number);
    });
  }
  // Commands and claims cover each node's whole life; CPU covers [t0, t1].
  const instantOf = (fireId: string): number => Number(fireId.slice(fireId.indexOf('@') + 1));
  let windowFires = 0;
  for (const f of counts.keys()) if (instantOf(f) > t0 && instantOf(f) <= t1) windowFires += 1;
  // Each node runs fires at every instant of its life (it owns about 1/N of the jobs).
  const claimPerNodeInstant =
    results.reduce((a, r) => a + r.claimCalls / Math.max(1, new Set(r.fires.map(instantOf)).size), 0) / nodes;
  return {
    late: summary(late),
    roundTripsPerFire: results.reduce((a, r) => a + r.commands, 0) / fires,
    redisUsecPerFire: spent / windowFires,
    claimPerNodeInstant,
    duplicates,
    misses,
    expected,
  };
}

async function main(): Promise<void> {
  console.log(`cluster claims on Redis — ${machine()}; ${seconds} s cells, ${repeats} repeats`);
  const server = await RedisServer.start();
  const admin = new Redis(server.url);
  try {
    baselineUsecPerSecond = await idleCpuPerSecond(admin);
    console.log(`Redis baseline (no scheduler connected): ${fmt(baselineUsecPerSecond, 0)} CPU µs per second, subtracted below`);
    const rows: string[][] = [];
    for (let r = 0; r < repeats; r++) {
      for (const jobs of jobCounts) {
        const bare = summary(await floor(jobs, r));
        rows.push(['floor', String(jobs), `${r + 1}`, fmt(bare.p50), fmt(bare.p99), fmt(bare.max), '', '', '', '', '']);
        for (const nodes of nodeCounts) {
          let topologyFloor: ReturnType<typeof summary> | undefined;
          if (nodes > 1) {
            topologyFloor = summary(await floor(jobs, r, nodes));
            rows.push([
              `floor ×${nodes} proc`,
              String(jobs),
              `${r + 1}`,
              fmt(topologyFloor.p50),
              fmt(topologyFloor.p99),
              fmt(topologyFloor.max),
              '',
              '',
              '',
              '',
              '',
            ]);
          }
          for (const claimAheadMs of claimAheads) {
            const c = await cell(server, admin, nodes, jobs, r, claimAheadMs);
            keepRaw('cluster-claims.jsonl', { nodes, jobs, repeat: r, seconds, claimAheadMs, ...c, floor: bare, topologyFloor });
            rows.push([
              `${nodes} node${nodes > 1 ? 's' : ''}${claimAheadMs > 0 ? ` ahead ${claimAheadMs}` : ''}`,
              String(jobs),
              `${r + 1}`,
              fmt(c.late.p50),
              fmt(c.late.p99),
              fmt(c.late.max),
              fmt(c.roundTripsPerFire, 2),
              fmt(c.redisUsecPerFire, 1),
              fmt(c.claimPerNodeInstant, 2),
              String(c.duplicates),
              `${c.misses}/${c.expected}`,
            ]);
            console.log(rows[rows.length - 1]?.join('  '));
          }
        }
      }
    }
    console.log();
    console.log(
      table(
        [
          'cell',
          'jobs/s',
          'rep',
          'p50 ms',
          'p99 ms',
          'max ms',
          'client cmds/fire',
          'Redis CPU µs/fire',
          'claims/node/instant',
          'dup',
          'miss',
        ],
        rows,
      ),
    );
    // Idle: 3 nodes, 100 jobs due once a year, 10 s.
    await admin.flushall();
    await admin.config('RESETSTAT');
    const outs = [0, 1, 2].map((i) => join(dir, `idle-${i}.json`));
    const children = await Promise.all(
      outs.map((out, i) =>
        spawnNode({ mode: 'node', nodeId: `idle-${i + 1}`, url: server.url, jobs: 100, cronSpec: '0 0 0 1 1 *', out }),
      ),
    );
    const before = await redisCpuUsec(admin);
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 10_000));
    const after = await redisCpuUsec(admin);
    const elapsed = (Date.now() - t0) / 1000;
    const idleSpent = after - before - baselineUsecPerSecond * elapsed;
    await Promise.all(children.map((c) => stopProcess(c, 'SIGTERM', 30_000)));
    const results = outs.map((o) => JSON.parse(readFileSync(o, 'utf8')) as NodeResult);
    const commands = results.reduce((a, r) => a + r.commands, 0);
    console.log(
      `\nidle (3 nodes, nothing due): ${fmt(commands / 3 / elapsed, 2)} commands per node per second (whole life, start and stop included), ${fmt(idleSpent / 3 / elapsed, 1)} Redis CPU µs per node per second (baseline subtracted)`,
    );
  } finally {
    admin.disconnect();
    await server.dispose();
  }
}

await main();
