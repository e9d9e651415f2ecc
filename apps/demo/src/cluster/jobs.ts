import type { AnyJob, JobContext, ShardingJob, TaskCfg } from '@sched/core';
import type { Sleep } from '../jobs.js';

export interface ClusterDemoJob {
  job: AnyJob;
  cfg: TaskCfg;
  shows: string;
}

/** Burst jobs, highest priority first: 8 jobs of 800 ms due together, on nodes with 3 slots each. */
export const BURST = [
  ['burst-a', 90],
  ['burst-b', 80],
  ['burst-c', 70],
  ['burst-d', 60],
  ['burst-e', 50],
  ['burst-f', 40],
  ['burst-g', 30],
  ['burst-h', 20],
] as const;

/** What the hot config reload changes mid-run (a YAML file loaded on one node, applied by all). */
export const RELOADED_CONFIG = `# loaded mid-run on one node; every node applies it
jobs:
  report:
    cronSpec: "*/4 * * * * *"   # was every 2 s
    overlapPrevent: true
    priority: 100
  burst-h:
    cronSpec: "*/6 * * * * *"
    priority: 95                # was 20: now first in its burst
`;

/**
 * The jobs every node of the distributed demo registers (the same code on
 * every node, as in production): a heartbeat checked for exactly-once, the
 * seed's DAG, a sharded data sync, a slow report with cluster-wide
 * overlapPrevent, a burst competing by priority for 2 slots per node, and a
 * `notify` job with no schedule for remote execution.
 */
export function clusterDemoJobs(sleep: Sleep): ClusterDemoJob[] {
  const work = (ms: number) => (ctx: JobContext) => sleep(ms, ctx.signal);
  return [
    {
      job: { name: 'heartbeat', execute: () => {} },
      cfg: { cronSpec: '* * * * * *', priority: 100 },
      shows: 'every second, exactly once in the cluster (checked at the end)',
    },
    {
      job: { name: 'A', execute: work(300) },
      cfg: { cronSpec: '*/5 * * * * *', priority: 90 },
      shows: "the seed's DAG root, every 5 s",
    },
    { job: { name: 'B', execute: work(400) }, cfg: { dependencies: ['A'], priority: 90 }, shows: 'after A, beside D' },
    { job: { name: 'D', execute: work(400) }, cfg: { dependencies: ['A'], priority: 90 }, shows: 'after A, beside B' },
    { job: { name: 'C', execute: work(200) }, cfg: { dependencies: ['B', 'D'], priority: 90 }, shows: 'after B and D' },
    {
      job: {
        name: 'sync-invoices',
        fetchShardingItems: (_ctx, s) => [...Array(60).keys()].filter((i) => i % s.shardTotal === s.shardIndex),
        processShardingItem: (ctx) => sleep(50, ctx.signal),
      } satisfies ShardingJob<number>,
      cfg: { cronSpec: '*/10 * * * * *', priority: 60, shardingEnabled: true, shardingTotal: 6, shardingItemConcurrency: 4 },
      shows: '60 invoices in 6 shards spread over the live nodes, every 10 s',
    },
    {
      job: { name: 'report', execute: work(3_500) },
      cfg: { cronSpec: '*/2 * * * * *', priority: 100, overlapPrevent: true },
      shows: 'takes 3.5 s every 2 s: overlapPrevent skips, cluster-wide',
    },
    ...BURST.map(([name, priority]) => ({
      job: { name, execute: work(800) },
      cfg: { cronSpec: '*/6 * * * * *', priority },
      shows: `priority ${priority}: 8 jobs due together, 3 slots per node`,
    })),
    {
      job: { name: 'notify', execute: work(100) },
      cfg: {},
      shows: 'no schedule: run by remote execution, one per route strategy',
    },
  ];
}
