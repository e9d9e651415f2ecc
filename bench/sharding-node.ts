/**
 * One node process of the sharding benchmark. Config in BENCH_NODE (JSON).
 * Registers the `bulk` ShardingJob (1M items in 10 shards by default); prints
 * `ready`; the node with `trigger: true` waits for every node to be live,
 * triggers one fire and prints `result <json>` (the fire's outcome). Stops on
 * SIGTERM.
 */
import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { ShardingJob } from '@sched/core';
import { benchNode } from './lib/node.js';

interface Config {
  nodeId: string;
  url: string;
  prefix: string;
  mode: 'io' | 'cpu';
  items: number;
  shards: number;
  nodes: number;
  trigger?: boolean;
}

const cfg = JSON.parse(process.env.BENCH_NODE ?? '{}') as Config;
const sched = benchNode({ url: cfg.url, nodeId: cfg.nodeId, prefix: cfg.prefix, maxConcurrency: 20 });
const payload = Buffer.alloc(64, 7);
/** CPU-bound: 20 SHA-256 rounds of 64 bytes (about 20 µs here). I/O-bound: a 1 ms wait (a remote call). */
const work =
  cfg.mode === 'cpu'
    ? (): void => {
        let h: Buffer = payload;
        for (let i = 0; i < 20; i++) h = createHash('sha256').update(h).digest();
      }
    : (): Promise<void> => delay(1).then(() => undefined);
const job: ShardingJob<number> = {
  name: 'bulk',
  fetchShardingItems: (_ctx, s) => {
    const out: number[] = [];
    for (let i = s.shardIndex; i < cfg.items; i += s.shardTotal) out.push(i);
    return out;
  },
  processShardingItem: () => work(),
};
sched.registerJob(job, {
  shardingEnabled: true,
  shardingTotal: cfg.shards,
  // I/O-bound items overlap their waits; CPU-bound ones gain nothing from it.
  shardingItemConcurrency: cfg.mode === 'io' ? 50 : 1,
});
await sched.start();
console.log('ready');
if (cfg.trigger) {
  while ((await sched.getNodes()).length < cfg.nodes) await delay(100);
  await delay(1_500); // every node's view (and so the plan) includes the others
  const outcome = await sched.trigger('bulk');
  console.log(`result ${JSON.stringify(outcome)}`);
}
