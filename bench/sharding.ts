/**
 * Sharding throughput: one fire of a 1M-item job in 10 shards, on 1 and on 3
 * node processes sharing a redis-server of the run's own; I/O-bound items (a
 * 1 ms wait, 50 at a time per shard) and CPU-bound items (about 20 µs of
 * hashing, one at a time). Prints items per second (items done over the fire's
 * duration, measured by the fire's own parent execution), each node's share,
 * and the 3-node/1-node ratio. The machine has the cores `machine()` prints:
 * three CPU-bound processes cannot run faster than the cores allow.
 *
 *   BENCH_ITEMS (1000000) BENCH_REPEATS (2) BENCH_MODES (io,cpu)
 */
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import type { ExecutionOutcome } from '@sched/core';
import { RedisServer, stopProcess, waitForOutput } from '@sched/testkit';
import { spawnBenchProcess } from './lib/spawn.js';
import { fmt, keepRaw, machine, table } from './lib/stats.js';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 1_000_000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 2);
const MODES = (process.env.BENCH_MODES ?? 'io,cpu').split(',') as Array<'io' | 'cpu'>;
const SHARDS = 10;
const script = fileURLToPath(new URL('./sharding-node.ts', import.meta.url));

const spawn = (config: Record<string, unknown>): Promise<ChildProcess> => spawnBenchProcess(script, config);

async function cell(server: RedisServer, mode: 'io' | 'cpu', nodes: number, run: number) {
  const prefix = `shard-${mode}-${nodes}-${run}`;
  const base = { url: server.url, prefix, mode, items: ITEMS, shards: SHARDS, nodes };
  const others = await Promise.all(Array.from({ length: nodes - 1 }, (_, i) => spawn({ ...base, nodeId: `n${i + 2}` })));
  const first = await spawn({ ...base, nodeId: 'n1', trigger: true });
  let out = '';
  first.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  await waitForOutput(first, /^result .*\n/m, 600_000, 'the sharded fire');
  const outcome = JSON.parse(/^result (.*)$/m.exec(out)?.[1] ?? '{}') as ExecutionOutcome;
  await Promise.all([first, ...others].map((c) => stopProcess(c, 'SIGTERM', 30_000)));
  const share = new Map<string, number>();
  for (const s of outcome.shards ?? []) share.set(s.nodeId ?? '?', (share.get(s.nodeId ?? '?') ?? 0) + (s.itemsDone ?? 0));
  return {
    status: outcome.status,
    itemsDone: outcome.items?.itemsDone ?? 0,
    seconds: outcome.durationMs / 1000,
    itemsPerSecond: (outcome.items?.itemsDone ?? 0) / (outcome.durationMs / 1000),
    share: [...share.entries()]
      .sort()
      .map(([n, c]) => `${n}:${c}`)
      .join(' '),
  };
}

async function main(): Promise<void> {
  console.log(`sharding throughput — ${machine()}; ${ITEMS} items in ${SHARDS} shards, ${REPEATS} repeats`);
  const server = await RedisServer.start();
  const rows: string[][] = [];
  try {
    for (const mode of MODES) {
      const rates: Record<number, number[]> = { 1: [], 3: [] };
      for (let r = 0; r < REPEATS; r++) {
        for (const nodes of [1, 3]) {
          const c = await cell(server, mode, nodes, r);
          keepRaw('sharding.jsonl', { mode, nodes, repeat: r, items: ITEMS, ...c });
          rates[nodes]?.push(c.itemsPerSecond);
          const row = [
            mode,
            String(nodes),
            String(r + 1),
            c.status,
            String(c.itemsDone),
            fmt(c.seconds, 2),
            fmt(c.itemsPerSecond, 0),
            c.share,
          ];
          console.log(row.join('  '));
          rows.push(row);
        }
      }
      // Paired within each repeat (the two cells ran back to back), then the range over repeats.
      const ratios = (rates[1] ?? []).map((one, r) => (rates[3]?.[r] ?? Number.NaN) / one);
      rows.push([
        mode,
        '3 / 1',
        '',
        '',
        '',
        '',
        `×${fmt(Math.min(...ratios), 2)}–${fmt(Math.max(...ratios), 2)}`,
        `items/s of 3 nodes over 1, per repeat: ${ratios.map((x) => fmt(x, 2)).join(', ')}`,
      ]);
    }
  } finally {
    await server.dispose();
  }
  console.log();
  console.log(table(['items', 'nodes', 'rep', 'status', 'items done', 's', 'items/s', 'items per node'], rows));
}

await main();
