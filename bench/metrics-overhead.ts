/**
 * Overhead of @sched/metrics per execution, printed as figures:
 *   1. end to end: 1,000 no-op jobs due every second on a FakeClock, 20
 *      simulated seconds per cell (20,000 executions), with `withMetrics` in
 *      the chain and without it, interleaved A B B A over 8 repeats (a full GC
 *      before each cell); the
 *      overhead is the difference of the medians over the executions;
 *   2. the collector alone: the four events one execution reports (fire,
 *      start, execution, gauge) fed to `record` 1,000,000 times over 1,000 jobs.
 * Target (issue 10): under 5 µs per execution.
 * Run: pnpm --filter @sched/bench metrics
 */
import { performance } from 'node:perf_hooks';
import { Chain, Scheduler, silentLogger, type ExecutionOutcome, type Job, type MetricsEvent } from '@sched/core';
import { FakeClock } from '@sched/core/testing';
import { MetricsCollector, withMetrics } from '@sched/metrics';
import { fmt, gc, keepRaw, machine, median, table } from './lib/stats.js';

const JOBS = 1_000;
const SECONDS = 20;
const REPEATS = 8;
const RAW = 'metrics-overhead.jsonl';
const noop: Job['execute'] = () => {};

async function cell(metrics: boolean): Promise<{ ms: number; executions: number }> {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const collector = metrics ? new MetricsCollector() : undefined;
  const sched = new Scheduler({
    clock,
    logger: silentLogger,
    maxConcurrency: JOBS * 2,
    maxQueued: JOBS * 2,
    ...(collector ? { chain: new Chain(withMetrics(collector)) } : {}),
  });
  for (let i = 0; i < JOBS; i++) sched.registerJob({ name: `job-${i}`, execute: noop }, { cronSpec: '* * * * * *' });
  await sched.start();
  await clock.advance(1_000); // warm-up second, not measured
  const before = sched.getMetrics().totals.executionCount;
  const t0 = performance.now();
  for (let s = 0; s < SECONDS; s++) await clock.advance(1_000);
  const ms = performance.now() - t0;
  const executions = sched.getMetrics().totals.executionCount - before;
  await sched.stop();
  if (collector && !(await collector.metrics()).includes('sched_executions_total{job_name="job-0",status="completed"}')) {
    throw new Error('the collector did not count the runs');
  }
  return { ms, executions };
}

function recordAlone(): number {
  const collector = new MetricsCollector();
  const events: MetricsEvent[][] = Array.from({ length: JOBS }, (_, i) => {
    const jobName = `job-${i}`;
    const outcome = {
      jobName,
      fireId: `${jobName}@0`,
      executionId: 'e',
      nodeId: 'n',
      status: 'completed',
      attempt: 1,
      scheduledAt: new Date(0),
      startedAt: new Date(0),
      finishedAt: new Date(3),
      durationMs: 3,
      kind: 'cron',
    } as ExecutionOutcome;
    return [
      { type: 'fire', jobName, kind: 'cron', lateMs: 1 },
      { type: 'start', jobName, kind: 'cron', attempt: 1, lateMs: 2 },
      { type: 'execution', outcome, kind: 'cron' },
      { type: 'gauge', running: 1, queued: 0 },
    ];
  });
  const N = 1_000_000;
  for (let i = 0; i < 100_000; i++) for (const e of events[i % JOBS] as MetricsEvent[]) collector.record(e); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < N; i++) for (const e of events[i % JOBS] as MetricsEvent[]) collector.record(e);
  return ((performance.now() - t0) * 1e6) / N;
}

async function main() {
  console.log(`@sched/metrics overhead per execution — ${machine()}`);
  const off: number[] = [];
  const on: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    // Alternate which goes first, each after a full GC, so neither pays for the other's garbage.
    const first = r % 2 === 0 ? false : true;
    gc();
    const x = await cell(first);
    gc();
    const y = await cell(!first);
    const [a, b] = first ? [y, x] : [x, y];
    off.push((a.ms * 1e6) / a.executions);
    on.push((b.ms * 1e6) / b.executions);
    keepRaw(RAW, { scenario: 'end-to-end', repeat: r, off: a, on: b });
  }
  const alone = [recordAlone(), recordAlone(), recordAlone()];
  keepRaw(RAW, { scenario: 'record alone', nsPerExecution: alone });
  const overhead = median(on) - median(off);
  const paired = on.map((x, i) => x - (off[i] as number));
  console.log(
    table(
      ['per execution (ns)', 'median', 'min', 'max'],
      [
        ['scheduler without metrics', fmt(median(off), 0), fmt(Math.min(...off), 0), fmt(Math.max(...off), 0)],
        ['scheduler with withMetrics', fmt(median(on), 0), fmt(Math.min(...on), 0), fmt(Math.max(...on), 0)],
        ['overhead (difference of medians)', fmt(overhead, 0), fmt(Math.min(...paired), 0), fmt(Math.max(...paired), 0)],
        ['collector.record alone (4 events)', fmt(median(alone), 0), fmt(Math.min(...alone), 0), fmt(Math.max(...alone), 0)],
      ],
    ),
  );
  console.log(`target: under 5,000 ns per execution — ${overhead < 5_000 ? 'met' : 'NOT met'} (end to end, median)`);
}

await main();
