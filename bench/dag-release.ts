/**
 * DAG release latency: from a dependency's end to its dependent's start, on one
 * node and across 3 nodes sharing a redis-server of the run's own. The 3 nodes
 * are 3 schedulers in this process, each with its own Redis connections, so a
 * release crosses Redis (state writes, pub/sub) exactly as between machines;
 * what is not measured is a network between them.
 * Run: pnpm --filter @sched/bench dag   (about 40 s)
 */
import { Redis } from 'ioredis';
import { createClusterScheduler, type ClusterScheduler } from '@sched/cluster';
import { silentLogger } from '@sched/core';
import { DagCoordinator } from '@sched/dag';
import { RedisServer } from '@sched/testkit';
import { fmt, keepRaw, machine, summary, table } from './lib/stats.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const FANOUT = 10;

async function measure(server: RedisServer, nodes: number, prefix: string): Promise<{ late: number[]; remote: number }> {
  const ends = new Map<string, number>(); // `<instant>` → A's end (ms, performance clock + origin)
  const late: number[] = [];
  let remote = 0;
  const aNode = new Map<number, string>();
  const clients: Redis[] = [];
  const scheds: ClusterScheduler[] = [];
  for (let n = 0; n < nodes; n++) {
    const redis = new Redis(server.url);
    clients.push(redis);
    const nodeId = `n${n}`;
    const sched = createClusterScheduler({
      redis,
      nodeId,
      keyPrefix: prefix,
      logger: silentLogger,
      heartbeatIntervalMs: 1_000,
      nodeTtlMs: 5_000,
      maxConcurrency: 100,
      dependencyCoordinator: new DagCoordinator(),
    });
    const now = () => performance.timeOrigin + performance.now();
    sched.registerJob(
      {
        name: 'A',
        execute: (ctx) => {
          aNode.set(ctx.scheduledAt?.getTime() as number, nodeId);
          ends.set(String(ctx.scheduledAt?.getTime()), now());
        },
      },
      { cronSpec: '* * * * * *' },
    );
    for (let i = 0; i < FANOUT; i++) {
      sched.registerJob(
        {
          name: `B${i}`,
          execute: (ctx) => {
            const t = ctx.scheduledAt?.getTime() as number;
            const end = ends.get(String(t));
            if (end !== undefined) late.push(now() - end);
            if (aNode.get(t) !== nodeId) remote += 1;
          },
        },
        { dependencies: ['A'] },
      );
    }
    scheds.push(sched);
  }
  for (const s of scheds) await s.start();
  await new Promise((r) => setTimeout(r, SECONDS * 1_000));
  for (const s of scheds) await s.stop();
  for (const c of clients) c.disconnect();
  return { late, remote };
}

async function main() {
  console.log(`@sched/dag release latency — ${machine()}`);
  const server = await RedisServer.start();
  try {
    const rows: string[][] = [];
    for (const nodes of [1, 3]) {
      const { late, remote } = await measure(server, nodes, `dag${nodes}`);
      const s = summary(late);
      keepRaw('dag-release.jsonl', { nodes, fanout: FANOUT, seconds: SECONDS, remote, ...s });
      rows.push([`${nodes} node${nodes > 1 ? 's' : ''}`, String(s.n), String(remote), fmt(s.p50), fmt(s.p99), fmt(s.max)]);
    }
    console.log(
      table(
        [`A → ${FANOUT} dependents, every second, ${SECONDS} s`, 'releases', 'on another node', 'p50 ms', 'p99 ms', 'max ms'],
        rows,
      ),
    );
  } finally {
    await server.dispose();
  }
}

await main();
