import type { AnyJob, JobContext, Scheduler, ShardingJob, TaskCfg } from '@sched/core';

/** Waits `ms` or until the run is aborted (timeout, cancel, stop). */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

export interface DemoJob {
  job: AnyJob;
  cfg: TaskCfg;
  /** What the job shows off, printed at the start. */
  shows: string;
}

/**
 * The demo's jobs, on second-level cron specs: a fast heartbeat, a slow report
 * that must not overlap itself, a flaky job with retries and a circuit
 * breaker, a cleanup that sometimes overruns its timeout, and a burst of jobs
 * due together that compete by priority for `maxConcurrency` slots.
 */
export function demoJobs(sleep: Sleep): DemoJob[] {
  let flakyRuns = 0;
  let cleanupRuns = 0;
  const burst = (name: string, priority: number): DemoJob => ({
    job: { name, execute: (ctx: JobContext) => sleep(600, ctx.signal) },
    cfg: { cronSpec: '*/6 * * * * *', priority },
    shows: `priority ${priority} in a burst of 5 jobs due together`,
  });
  return [
    {
      job: { name: 'heartbeat', execute: () => {} },
      cfg: { cronSpec: '* * * * * *', priority: 10 },
      shows: 'every second, never drifting',
    },
    {
      job: { name: 'report', execute: (ctx) => sleep(3_500, ctx.signal) },
      cfg: { cronSpec: '*/2 * * * * *', priority: 100, overlapPrevent: true },
      shows: 'slow (3.5 s) every 2 s with overlapPrevent: overlapping fires are skipped',
    },
    {
      job: {
        name: 'flaky',
        execute() {
          flakyRuns += 1;
          // Fails on most attempts at first, then recovers: retries, then the breaker opens.
          if (flakyRuns <= 9) throw new Error(`upstream unavailable (call ${flakyRuns})`);
        },
      },
      cfg: {
        cronSpec: '*/3 * * * * *',
        priority: 50,
        retry: { attempts: 2, backoffMs: 300 },
        circuitBreaker: { maxFailures: 2, resetTimeoutMs: 7_000 },
      },
      shows: 'fails, retries once after 300 ms, and opens its circuit breaker after 2 failed fires',
    },
    {
      job: {
        name: 'cleanup',
        execute(ctx) {
          cleanupRuns += 1;
          return sleep(cleanupRuns % 2 === 0 ? 1_500 : 200, ctx.signal);
        },
      },
      cfg: { cronSpec: '*/4 * * * * *', priority: 30, timeoutMs: 1_000 },
      shows: 'every other run overruns its 1 s timeout and is aborted through ctx.signal',
    },
    // A small DAG (SPEC.md §2, @sched/dag): extract, then transform and audit side by side, then load.
    {
      job: { name: 'extract', execute: (ctx) => sleep(200, ctx.signal) },
      cfg: { cronSpec: '*/5 * * * * *', priority: 80 },
      shows: 'the root of a DAG: transform and audit follow it in parallel, load waits for both',
    },
    {
      job: { name: 'transform', execute: (ctx) => sleep(300, ctx.signal) },
      cfg: { dependencies: ['extract'], priority: 80 },
      shows: 'after extract, beside audit',
    },
    {
      job: { name: 'audit', execute: (ctx) => sleep(300, ctx.signal) },
      cfg: { dependencies: ['extract'], priority: 80 },
      shows: 'after extract, beside transform',
    },
    {
      job: { name: 'load', execute: (ctx) => sleep(100, ctx.signal) },
      cfg: { dependencies: ['transform', 'audit'], priority: 80 },
      shows: 'after transform and audit',
    },
    // A sharded job (SPEC.md §3, @sched/sharding): 3 shards of 10 invoices, 5 at a time per shard.
    {
      job: {
        name: 'invoices',
        fetchShardingItems: (_ctx, s) => [...Array(30).keys()].filter((i) => i % s.shardTotal === s.shardIndex),
        processShardingItem: (ctx, _invoice) => sleep(40, ctx.signal),
      } satisfies ShardingJob<number>,
      cfg: { cronSpec: '*/10 * * * * *', priority: 20, shardingEnabled: true, shardingTotal: 3, shardingItemConcurrency: 5 },
      shows: 'split into 3 shards of 10 items (in a cluster they spread over the nodes); done when all are',
    },
    burst('burst-a', 90),
    burst('burst-b', 70),
    burst('burst-c', 50),
    burst('burst-d', 30),
    burst('burst-e', 10),
  ];
}

export function registerDemoJobs(sched: Scheduler, sleep: Sleep): DemoJob[] {
  const jobs = demoJobs(sleep);
  for (const { job, cfg } of jobs) sched.registerJob(job, cfg);
  return jobs;
}
