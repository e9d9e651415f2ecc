/**
 * One node process of the cluster benchmark (or the timer floor). Config in
 * BENCH_NODE (JSON). Prints `ready`; on SIGTERM stops and writes its results
 * (lateness of each start, the fire ids it ran, its claimDue calls) to `out`.
 */
import { writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { createClusterScheduler } from '@sched/cluster';
import { silentLogger } from '@sched/core';
import { bareTimers } from './lib/floor.js';
import { countClientCommands } from './lib/redis.js';

interface NodeBenchConfig {
  mode: 'node' | 'floor';
  nodeId: string;
  url: string;
  jobs: number;
  cronSpec: string;
  out: string;
  seconds?: number;
  /** Node mode: the scheduler's `claimAheadMs`. @default 0 */
  claimAheadMs?: number;
  /** Floor mode: the first instant (so several floor processes aim at the same ones). */
  startAt?: number;
  /**
   * Node mode: the scheduler's own heartbeat, node TTL and record retention (10 s, 30 s,
   * 60 s) instead of this benchmark's 1 s, 5 s and 5 s; `'heartbeat'`: its own heartbeat
   * and node TTL, the benchmark's 5 s retention (purging stays inside a cell). @default false
   */
  defaults?: boolean | 'heartbeat';
}

const cfg = JSON.parse(process.env.BENCH_NODE ?? '{}') as NodeBenchConfig;

if (cfg.mode === 'floor') {
  console.log('ready');
  const late = await bareTimers(cfg.jobs, cfg.seconds ?? 5, cfg.startAt);
  writeFileSync(cfg.out, JSON.stringify({ late }));
  process.exit(0);
} else {
  const commands = countClientCommands();
  const redis = new Redis(cfg.url, { maxRetriesPerRequest: 1 });
  const scheduler = createClusterScheduler({
    redis,
    nodeId: cfg.nodeId,
    keyPrefix: 'bench',
    logger: silentLogger,
    // Shorter than the defaults: membership settles fast, and purging finished records is part of the
    // steady state measured.
    ...(cfg.defaults === true ? {} : { fireRecordRetentionMs: 5_000 }),
    ...(cfg.defaults ? {} : { heartbeatIntervalMs: 1_000, nodeTtlMs: 5_000 }),
    maxConcurrency: 2_000,
    maxQueued: 20_000,
    claimAheadMs: cfg.claimAheadMs ?? 0,
  });
  const late: number[] = [];
  const fires: string[] = [];
  let claimCalls = 0;
  const lockManager = scheduler.schedulerCache.lockManager;
  const claimDue = lockManager.claimDue.bind(lockManager);
  lockManager.claimDue = (f, o) => {
    claimCalls += 1;
    return claimDue(f, o);
  };
  for (let i = 0; i < cfg.jobs; i++) {
    scheduler.registerJob(
      {
        name: `job-${i}`,
        execute: (ctx) => {
          late.push(Date.now() - (ctx.scheduledAt as Date).getTime());
          fires.push(ctx.fireId);
        },
      },
      { cronSpec: cfg.cronSpec },
    );
  }
  process.on('SIGTERM', () => {
    void scheduler.stop().then(() => {
      const cpu = process.cpuUsage();
      writeFileSync(
        cfg.out,
        JSON.stringify({
          nodeId: cfg.nodeId,
          late,
          fires,
          claimCalls,
          commands: commands.total(),
          marks: commands.marks,
          cpuUsec: cpu.user + cpu.system,
        }),
      );
      redis.disconnect();
      process.exit(0);
    });
  });
  await scheduler.start();
  console.log('ready');
}
