/**
 * Scale of the in-process engine (@sched/core), printed as figures:
 *   1. 100k jobs over 1,000 distinct specs: time to register and start, heap per job,
 *      and every tick of two simulated minutes (fires dispatched and run per tick);
 *   2. a tick with exactly 1k due jobs among 100k (10 specs, and 1k distinct specs);
 *   3. the worst case: 100k distinct specs.
 * Fire lateness on the real clock is measured apart, in a fresh process: core-lateness.ts.
 * Run: pnpm --filter @sched/bench core   (node --expose-gc; about a minute)
 */
import { performance } from 'node:perf_hooks';
import { Scheduler, silentLogger, type Job } from '@sched/core';
import { FakeClock } from '@sched/core/testing';
import { clearCronCache } from '../packages/core/src/cron/spec.js';
import { fmt, heapUsed, keepRaw, machine, median, table } from './lib/stats.js';

const T0 = Date.UTC(2025, 0, 1);
const N = 100_000;
const MINUTE_VARIANTS = [
  '*',
  '*/2',
  '*/3',
  '*/4',
  '*/5',
  '*/6',
  '*/10',
  '*/12',
  '*/15',
  '*/20',
  '*/30',
  '0-29',
  '30-59',
  '*/7',
  '*/9',
  '*/11',
  '*/13',
];
/** The mix: 1,000 distinct specs, `<second> <minute variant> * * * *`, 100 jobs on each. */
const mixSpec = (k: number): string => `${k % 60} ${MINUTE_VARIANTS[Math.floor(k / 60) % MINUTE_VARIANTS.length]} * * * *`;
const noop: Job['execute'] = () => {};
const RAW = 'core-scale.jsonl';

function newScheduler(clock: FakeClock): Scheduler {
  return new Scheduler({ clock, logger: silentLogger, maxConcurrency: 5_000, maxQueued: 100_000 });
}

async function registration(label: string, specOf: (i: number) => string) {
  clearCronCache();
  const clock = new FakeClock(T0);
  const before = heapUsed();
  const sched = newScheduler(clock);
  const t0 = performance.now();
  for (let i = 0; i < N; i++) sched.registerJob({ name: `job-${i}`, execute: noop }, { cronSpec: specOf(i) });
  const registerMs = performance.now() - t0;
  const t1 = performance.now();
  await sched.start();
  const startMs = performance.now() - t1;
  const heapPerJob = (heapUsed() - before) / N;
  keepRaw(RAW, { scenario: 'register', label, registerMs, startMs, heapPerJob });
  return { sched, clock, registerMs, startMs, heapPerJob };
}

/** Advances the clock one instant at a time, timing each tick from the wake to the last fire dispatched and the last run ended. */
async function ticks(sched: Scheduler, clock: FakeClock, seconds: number) {
  const rows: Array<{ due: number; dispatchMs: number; runMs: number }> = [];
  let fired = 0;
  let lastFire = 0;
  let ended = 0;
  let lastEnd = 0;
  sched.on('fire', () => {
    fired += 1;
    lastFire = performance.now();
  });
  sched.on('complete', () => {
    ended += 1;
    lastEnd = performance.now();
  });
  for (let s = 1; s <= seconds; s++) {
    fired = 0;
    ended = 0;
    const wake = performance.now();
    await clock.advanceTo(T0 + s * 1_000);
    if (fired > 0) rows.push({ due: fired, dispatchMs: lastFire - wake, runMs: lastEnd - wake });
    if (ended !== fired) throw new Error(`tick ${s}: ${fired} fired, ${ended} completed`);
  }
  return rows;
}

async function oneKTick(label: string, dueSpecOf: (i: number) => string) {
  const results: Array<{ dispatchMs: number; runMs: number }> = [];
  for (let rep = 0; rep < 5; rep++) {
    clearCronCache();
    const T = T0 + 60_000; // 00:01:00
    const clock = new FakeClock(T - 500);
    const sched = newScheduler(clock);
    // 99k jobs that are never due at second 0, and 1k that are all due at T.
    for (let i = 0; i < N - 1_000; i++) {
      sched.registerJob(
        { name: `bg-${i}`, execute: noop },
        { cronSpec: `${1 + (i % 59)} ${MINUTE_VARIANTS[Math.floor(i / 59) % 17]} * * * *` },
      );
    }
    for (let i = 0; i < 1_000; i++) sched.registerJob({ name: `due-${i}`, execute: noop }, { cronSpec: dueSpecOf(i) });
    await sched.start();
    const rows = await (async () => {
      let fired = 0;
      let lastFire = 0;
      let lastEnd = 0;
      sched.on('fire', () => {
        fired += 1;
        lastFire = performance.now();
      });
      sched.on('complete', () => (lastEnd = performance.now()));
      const wake = performance.now();
      await clock.advanceTo(T);
      if (fired !== 1_000) throw new Error(`expected 1000 due, got ${fired}`);
      return { dispatchMs: lastFire - wake, runMs: lastEnd - wake };
    })();
    results.push(rows);
    await sched.stop();
  }
  const dispatchMs = median(results.map((r) => r.dispatchMs));
  const runMs = median(results.map((r) => r.runMs));
  keepRaw(RAW, { scenario: '1k-tick', label, results });
  return {
    label,
    dispatchMs,
    runMs,
    min: Math.min(...results.map((r) => r.dispatchMs)),
    max: Math.max(...results.map((r) => r.dispatchMs)),
  };
}

async function main() {
  console.log(`@sched/core scale — ${machine()}`);
  console.log('');

  const mix = await registration('mix: 100k jobs over 1,000 specs', (i) => mixSpec(i % 1_000));
  const tickRows = await ticks(mix.sched, mix.clock, 120);
  await mix.sched.stop();
  const worst = await registration(
    'worst: 100k distinct specs',
    (i) => `${i % 60} ${Math.floor(i / 60) % 60} ${Math.floor(i / 3600) % 24} * * ${Math.floor(i / 86_400) % 7}`,
  );
  await worst.sched.stop();

  console.log(
    table(
      ['registration (100k jobs)', 'register ms', 'start ms', 'heap/job B', 'heap MB'],
      [mix, worst].map((r, i) => [
        i === 0 ? 'mix: 1,000 distinct specs' : 'worst: 100k distinct specs',
        fmt(r.registerMs, 0),
        fmt(r.startMs, 0),
        fmt(r.heapPerJob, 0),
        fmt((r.heapPerJob * N) / 2 ** 20, 1),
      ]),
    ),
  );
  console.log('targets (mix): register < 2,000 ms, heap < 100 MB');
  console.log('');

  const busiest = [...tickRows].sort((a, b) => b.due - a.due).slice(0, 5);
  const per1k = tickRows.filter((r) => r.due >= 100).map((r) => (r.dispatchMs / r.due) * 1_000);
  console.log(`mix, 120 simulated seconds: ${tickRows.length} ticks, ${tickRows.reduce((a, r) => a + r.due, 0)} fires`);
  console.log(
    table(
      ['busiest ticks', 'due', 'dispatch ms', 'run ms'],
      busiest.map((r) => ['tick', String(r.due), fmt(r.dispatchMs), fmt(r.runMs)]),
    ),
  );
  console.log(
    `dispatch time per 1k due (ticks with >= 100 due): median ${fmt(median(per1k))} ms, max ${fmt(Math.max(...per1k))} ms`,
  );
  keepRaw(RAW, { scenario: 'mix-ticks', rows: tickRows });
  console.log('');

  const tenSpecs = [
    '0 * * * * *',
    '0 0-29 * * * *',
    '0 1 * * * *',
    '0 1,2 * * * *',
    '0 1-5 * * * *',
    '0 */1 * * * *',
    '0 0-1 * * * *',
    '0 1-59 * * * *',
    '0 1,3,5 * * * *',
    '0 1-30 * * * *',
  ];
  const k10 = await oneKTick('1k due on 10 specs', (i) => tenSpecs[i % 10] as string);
  const k1000 = await oneKTick(
    '1k due on 1k distinct specs',
    (i) => `0 1 0,${1 + (i % 23)} 1,${2 + (Math.floor(i / 23) % 30)} 1,${2 + (Math.floor(i / 690) % 11)} *`,
  );
  console.log(
    table(
      ['tick with 1k due among 100k (median of 5)', 'dispatch ms [min-max]', 'run all ms'],
      [k10, k1000].map((r) => [r.label, `${fmt(r.dispatchMs)} [${fmt(r.min)}-${fmt(r.max)}]`, fmt(r.runMs)]),
    ),
  );
  console.log('target: a 1k-job tick dispatched in < 20 ms');
}

await main();
