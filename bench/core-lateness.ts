/**
 * Fire lateness of @sched/core on the real clock, beside bare timers aimed at
 * the same instants (the floor), interleaved A B A B, 3 repeats of 4 s cells,
 * in a process of its own (a big heap from other scenarios would skew it).
 * Lateness = the execution's start minus the instant the spec named.
 * Run: pnpm --filter @sched/bench core
 */
import { Scheduler, silentLogger, type Job } from '@sched/core';
import { bareTimers } from './lib/floor.js';
import { fmt, keepRaw, machine, median, summary, table } from './lib/stats.js';

const noop: Job['execute'] = () => {};
const RAW = 'core-lateness.jsonl';

async function schedLateness(count: number, seconds: number): Promise<number[]> {
  const sched = new Scheduler({ logger: silentLogger, maxConcurrency: count * 2, maxQueued: count * 2 });
  const late: number[] = [];
  sched.on('start', (e) => {
    if (e.scheduledAt) late.push(e.startedAt.getTime() - e.scheduledAt.getTime());
  });
  for (let i = 0; i < count; i++) sched.registerJob({ name: `t-${i}`, execute: noop }, { cronSpec: '* * * * * *' });
  await sched.start();
  await new Promise((r) => setTimeout(r, seconds * 1000 + 300));
  await sched.stop();
  // The first second may be partial; every later instant must have `count` fires.
  return late;
}

async function main() {
  console.log(`@sched/core fire lateness — ${machine()}`);
  const cells: Array<{ kind: string; count: number; late: number[] }> = [];
  for (const count of [100, 1_000]) {
    for (let rep = 0; rep < 3; rep++) {
      cells.push({ kind: 'bare timers', count, late: await bareTimers(count, 4) });
      cells.push({ kind: 'sched', count, late: await schedLateness(count, 4) });
    }
  }
  const rows: string[][] = [];
  for (const count of [100, 1_000]) {
    for (const kind of ['bare timers', 'sched']) {
      const mine = cells.filter((c) => c.kind === kind && c.count === count);
      const s = mine.map((c) => summary(c.late));
      rows.push([
        `${kind}, ${count}/s`,
        `${fmt(median(s.map((x) => x.p50)))} [${fmt(Math.min(...s.map((x) => x.p50)))}-${fmt(Math.max(...s.map((x) => x.p50)))}]`,
        `${fmt(median(s.map((x) => x.p99)))} [${fmt(Math.min(...s.map((x) => x.p99)))}-${fmt(Math.max(...s.map((x) => x.p99)))}]`,
        fmt(Math.max(...s.map((x) => x.max))),
        String(s.reduce((a, x) => a + x.n, 0)),
      ]);
    }
  }
  keepRaw(RAW, { scenario: 'lateness', cells: cells.map((c) => ({ kind: c.kind, count: c.count, ...summary(c.late) })) });
  console.log(
    table(['fire lateness, real clock (3 × 4 s cells)', 'p50 ms [min-max]', 'p99 ms [min-max]', 'max ms', 'fires'], rows),
  );
}

await main();
