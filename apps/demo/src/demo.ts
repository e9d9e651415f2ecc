import { Scheduler, silentLogger, type Clock, type Logger, type SchedulerMetrics } from '@sched/core';
import { DagCoordinator } from '@sched/dag';
import { ClusterShardPlanner } from '@sched/sharding';
import { registerDemoJobs, type Sleep } from './jobs.js';
import { attachPrinter, clockTime, summaryTable } from './report.js';

export interface DemoOptions {
  durationMs: number;
  clock?: Clock;
  logger?: Logger;
  print: (line: string) => void;
  /** Waits `ms` by the demo's clock (a FakeClock in tests). */
  sleep: Sleep;
  /** Resolves when the demo should end early (Ctrl-C). */
  interrupted?: Promise<void>;
  /** Waits for the run to last `ms` (real time by default). */
  wait: (ms: number, interrupted: Promise<void>) => Promise<void>;
}

export interface DemoResult {
  metrics: SchedulerMetrics;
  snapshotCount: number;
}

/**
 * The single-process demo: the embedded default (no Redis), a few jobs on
 * second-level specs, `maxConcurrency: 3` so that bursts queue by priority,
 * a manual trigger with params, then a graceful stop and a summary table.
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const { print } = options;
  const sched = new Scheduler({
    maxConcurrency: 3,
    dependencyCoordinator: new DagCoordinator(),
    shardPlanner: new ClusterShardPlanner(),
    logger: options.logger ?? silentLogger,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const jobs = registerDemoJobs(sched, options.sleep);
  print('sched demo: one process, embedded default (memory stores, no Redis); maxConcurrency 3');
  for (const { job, cfg } of jobs)
    print(
      `  ${job.name.padEnd(10)} ${(cfg.cronSpec ?? `after ${cfg.dependencies?.join(' + ')}`).padEnd(24)} ${jobs.find((j) => j.job === job)?.shows ?? ''}`,
    );
  print('');
  attachPrinter(sched, print);
  await sched.start();
  print(`${clockTime(sched.clock.now())}  started; running for ${options.durationMs / 1000} s (Ctrl-C ends early)`);
  const interrupted = options.interrupted ?? new Promise<void>(() => {});
  await options.wait(Math.min(2_500, options.durationMs), interrupted);
  const manual = sched.trigger('heartbeat', { requestedBy: 'demo' });
  await options.wait(Math.max(0, options.durationMs - 2_500), interrupted);
  await manual.catch(() => undefined);
  print(`${clockTime(sched.clock.now())}  stopping: no new fires, waiting up to 5 s for running jobs`);
  const stopping = sched.stop({ timeoutMs: 5_000 });
  await options.wait(
    5_000,
    stopping.then(() => undefined),
  );
  await stopping;
  const metrics = sched.getMetrics();
  const snapshots = await sched.snapshotRepository.list({ limit: 1_000 });
  print('');
  print(summaryTable(metrics));
  print('');
  print(
    `${snapshots.items.length} execution snapshots recorded (in memory; @sched/snapshots keeps them in files, Redis or PostgreSQL)`,
  );
  return { metrics, snapshotCount: snapshots.items.length };
}
