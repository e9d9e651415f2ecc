import { describe, expect, it } from 'vitest';
import { MemorySchedulerCache, MemorySnapshotRepository, type MisfireEvent, type TaskCfg } from '../src/index.js';
import { FakeClock } from '../src/testing/index.js';
import { T0, memoryLogger, recorder, setup, stopWith } from './helpers.js';
import { Scheduler } from '../src/index.js';

/** Runs a per-second job for 3 s, stops, stays down until `downUntil`, restarts on the same store. */
async function outage(cfg: TaskCfg, downUntil: number, extra: { misfireMaxCatchup?: number } = {}) {
  const clock = new FakeClock(T0);
  const cache = new MemorySchedulerCache({ clock });
  const snapshots = new MemorySnapshotRepository({ clock, maxPerJob: 1_000 });
  const { runs, job } = recorder(clock);
  const contexts: Array<{ scheduledAt: number | undefined; missedCount: number | undefined; missedFrom: number | undefined }> =
    [];
  const make = () => {
    const sched = new Scheduler({
      clock,
      logger: memoryLogger(),
      schedulerCache: cache,
      snapshotRepository: snapshots,
      ...extra,
    });
    sched.registerJob(
      job('tick', (ctx) => {
        contexts.push({
          scheduledAt: ctx.scheduledAt?.getTime(),
          missedCount: ctx.missedCount,
          missedFrom: ctx.missedFrom?.getTime(),
        });
      }),
      cfg,
    );
    return sched;
  };
  const first = make();
  await first.start();
  await clock.advance(3_000);
  await first.stop();
  clock.setTime(downUntil);
  const second = make();
  const misfires: MisfireEvent[] = [];
  second.on('misfire', (e) => misfires.push(e));
  await second.start();
  await clock.tick();
  return { clock, second, runs, contexts, misfires, snapshots };
}

const rel = (t: number | undefined): number | undefined => (t === undefined ? undefined : t - T0);

describe('misfire compensation after a restart (high-water mark on a shared store)', () => {
  it("'immediate' runs the missed work once now; instants within the threshold still run late", async () => {
    const { second, runs, contexts, misfires, snapshots } = await outage({ cronSpec: '* * * * * *' }, T0 + 23_500);
    // Down from 3 s to 23.5 s: 4..18 s are past the 5 s threshold (15 missed); 19..23 s run late.
    expect(runs.slice(3).map((r) => rel(r.scheduledAt))).toEqual([19_000, 20_000, 21_000, 22_000, 23_000]);
    expect(contexts[3]).toEqual({ scheduledAt: T0 + 19_000, missedCount: 15, missedFrom: T0 + 4_000 });
    expect(contexts.slice(4).every((c) => c.missedCount === undefined)).toBe(true);
    expect(misfires).toHaveLength(1);
    expect(misfires[0]).toMatchObject({ missedCount: 15, policy: 'immediate', action: 'run-once', detectedBy: 'claim-gap' });
    const misfired = await snapshots.list({ jobName: 'tick', status: 'misfired', limit: 1_000 });
    expect(misfired.items.map((s) => rel(s.scheduledAt)).sort((a, b) => (a as number) - (b as number))).toEqual(
      Array.from({ length: 15 }, (_, i) => 4_000 + i * 1_000),
    );
    expect(misfired.items.every((s) => s.misfirePolicy === 'immediate')).toBe(true);
    expect(second.getJobMetrics('tick').misfireCount).toBe(15);
    await second.stop();
  });

  it("'delayed' replays each missed instant with its own scheduledAt, paced", async () => {
    const { clock, second, runs, misfires, snapshots } = await outage(
      { cronSpec: '* * * * * *', misfirePolicy: 'delayed' },
      T0 + 23_500,
    );
    expect(misfires[0]).toMatchObject({ missedCount: 15, action: 'run-each' });
    await clock.advance(1_400); // 15 replays, one every 100 ms (the first at once)
    const replayed = runs.filter((r) => (r.scheduledAt as number) < T0 + 19_000 && (r.scheduledAt as number) > T0 + 3_000);
    expect(replayed.map((r) => rel(r.scheduledAt))).toEqual(Array.from({ length: 15 }, (_, i) => 4_000 + i * 1_000));
    expect(replayed.map((r) => r.startedAt - (T0 + 23_500))).toEqual(Array.from({ length: 15 }, (_, i) => i * 100));
    const all = runs.map((r) => r.scheduledAt);
    expect(new Set(all).size).toBe(all.length);
    const catchups = (await snapshots.list({ jobName: 'tick', limit: 1_000 })).items.filter((s) => s.kind === 'catch-up');
    expect(catchups).toHaveLength(15);
    expect((await snapshots.list({ jobName: 'tick', status: 'misfired' })).items).toHaveLength(0);
    await stopWith(second, clock);
  });

  it("'delayed' keeps to misfireMaxCatchup (the newest) and records the rest as misfired", async () => {
    const { clock, second, runs, snapshots } = await outage({ cronSpec: '* * * * * *', misfirePolicy: 'delayed' }, T0 + 23_500, {
      misfireMaxCatchup: 5,
    });
    await clock.advance(1_000);
    const replayed = runs.filter((r) => (r.scheduledAt as number) < T0 + 19_000 && (r.scheduledAt as number) > T0 + 3_000);
    expect(replayed.map((r) => rel(r.scheduledAt))).toEqual([14_000, 15_000, 16_000, 17_000, 18_000]);
    const misfired = (await snapshots.list({ jobName: 'tick', status: 'misfired', limit: 100 })).items;
    expect(misfired.map((s) => rel(s.scheduledAt)).sort((a, b) => (a as number) - (b as number))).toEqual(
      Array.from({ length: 10 }, (_, i) => 4_000 + i * 1_000),
    );
    await stopWith(second, clock);
  });

  it("'skip' runs none of the missed instants and records each", async () => {
    const { second, runs, misfires, snapshots } = await outage({ cronSpec: '* * * * * *', misfirePolicy: 'skip' }, T0 + 23_500);
    expect(runs.slice(3).map((r) => rel(r.scheduledAt))).toEqual([19_000, 20_000, 21_000, 22_000, 23_000]);
    expect(misfires[0]).toMatchObject({ missedCount: 15, action: 'recorded', policy: 'skip' });
    expect((await snapshots.list({ jobName: 'tick', status: 'misfired', limit: 100 })).items).toHaveLength(15);
    await second.stop();
  });

  it('a job that never claimed an instant is owed nothing after a restart', async () => {
    // No 12:00 instant passed before the first scheduler stopped: there is no mark, so no gap.
    const { second, runs, misfires } = await outage({ cronSpec: '0 0 12 * * *' }, T0 + 3 * 86_400_000 + 3_600_000);
    expect(runs).toHaveLength(0);
    expect(misfires).toHaveLength(0);
    await second.stop();
  });
});

describe('misfires of a long-running node', () => {
  it('a daily job whose node slept through days: immediate runs once for the latest instant', async () => {
    const { sched, clock } = setup();
    const { runs, job } = recorder(clock);
    const misfires: MisfireEvent[] = [];
    sched.on('misfire', (e) => misfires.push(e));
    let missed: number | undefined;
    sched.registerJob(
      job('daily', (ctx) => void (missed = ctx.missedCount)),
      { cronSpec: '0 0 12 * * *' },
    );
    await sched.start();
    await clock.advance(86_400_000); // runs at day 1, 12:00
    clock.setTime(T0 + 4 * 86_400_000 + 3_600_000); // wakes 3 days later at 01:00
    await clock.tick();
    expect(runs.map((r) => rel(r.scheduledAt))).toEqual([12 * 3_600_000, 3 * 86_400_000 + 12 * 3_600_000]);
    expect(missed).toBe(3);
    expect(misfires[0]).toMatchObject({ missedCount: 3, action: 'run-once' });
    await sched.stop();
  });

  it("with 'skip' the same sleep runs nothing and records 3 misfires", async () => {
    const { sched, clock } = setup();
    const { runs, job } = recorder(clock);
    sched.registerJob(job('daily'), { cronSpec: '0 0 12 * * *', misfirePolicy: 'skip' });
    await sched.start();
    await clock.advance(86_400_000);
    clock.setTime(T0 + 4 * 86_400_000 + 3_600_000);
    await clock.tick();
    expect(runs).toHaveLength(1);
    expect((await sched.snapshotRepository.list({ jobName: 'daily', status: 'misfired' })).items).toHaveLength(3);
    await sched.stop();
  });

  it('a saturated node leaves fires unclaimed, sweeps every grace, and records a misfire after the threshold', async () => {
    const { sched, clock } = setup({ maxConcurrency: 1, maxQueued: 0 });
    const { runs, job } = recorder(clock);
    const misfires: MisfireEvent[] = [];
    sched.on('misfire', (e) => misfires.push(e));
    sched.registerJob(
      job('hog', () => clock.sleep(3_000)),
      { cronSpec: '0 * * * * *', priority: 90 },
    );
    sched.registerJob(job('later'), { cronSpec: '0 * * * * *', priority: 10 });
    sched.registerJob(job('starved'), { cronSpec: '0 * * * * *', priority: 5 });
    await sched.start();
    await clock.advance(60_000);
    expect(runs.map((r) => r.jobName)).toEqual(['hog']);
    await clock.advance(3_000);
    // The slot freed at 63 s: the next sweep claims the higher-priority waiter first.
    expect(runs.map((r) => [r.jobName, r.startedAt - T0])).toEqual([
      ['hog', 60_000],
      ['later', 63_000],
      ['starved', 63_000],
    ]);
    await stopWith(sched, clock);
    expect(misfires).toHaveLength(0);
  });

  it('fires still unclaimed past the threshold are one recorded misfire each', async () => {
    const { sched, clock } = setup({ maxConcurrency: 1, maxQueued: 0 });
    const { runs, job } = recorder(clock);
    const misfires: MisfireEvent[] = [];
    sched.on('misfire', (e) => misfires.push(e));
    sched.registerJob(
      job('hog', () => clock.sleep(10_000)),
      { cronSpec: '0 * * * * *', priority: 90 },
    );
    sched.registerJob(job('starved'), { cronSpec: '0 * * * * *', priority: 5 });
    await sched.start();
    await clock.advance(70_000);
    expect(runs.map((r) => r.jobName)).toEqual(['hog']);
    expect(misfires).toEqual([expect.objectContaining({ jobName: 'starved', detectedBy: 'saturated', missedCount: 1 })]);
    const starved = (await sched.snapshotRepository.list({ jobName: 'starved' })).items;
    expect(starved.map((s) => [s.status, rel(s.scheduledAt)])).toEqual([['misfired', 60_000]]);
    await stopWith(sched, clock);
  });
});

describe('a store that is down', () => {
  it('runs nothing without its claim, retries with backoff, resumes by itself and reports the gap once', async () => {
    const { sched, clock, logger } = setup();
    const store = (sched.schedulerCache as MemorySchedulerCache).store;
    const { runs, job } = recorder(clock);
    const misfires: MisfireEvent[] = [];
    sched.on('misfire', (e) => misfires.push(e));
    const errors: string[] = [];
    sched.on('error', (e) => errors.push(e.operation));
    sched.registerJob(job('tick'), { cronSpec: '* * * * * *' });
    await sched.start();
    await clock.advance(2_000);
    store.setAvailable(false);
    await clock.advance(10_000);
    expect(runs).toHaveLength(2);
    expect(errors.filter((e) => e === 'claim').length).toBeGreaterThan(2);
    expect(logger.lines.some((l) => l.msg.includes('store is unreachable'))).toBe(true);
    store.setAvailable(true);
    await clock.advance(6_000);
    // Every instant of 1..18 s either ran once or is accounted for by the one misfire event
    // (found by the claim's gap when the store came back); nothing ran twice.
    const ran = runs.map((r) => rel(r.scheduledAt) as number);
    expect(new Set(ran).size).toBe(ran.length);
    expect(misfires).toHaveLength(1);
    const missed = (misfires[0] as MisfireEvent).instants.map((t) => t.getTime() - T0);
    expect(misfires[0]).toMatchObject({ action: 'run-once', detectedBy: 'claim-gap', missedCount: missed.length });
    for (let t = 1_000; t <= 18_000; t += 1_000) expect(ran.includes(t) || missed.includes(t)).toBe(true);
    // The store came back at 12 s: every instant from 8 s on (within the threshold by then) ran.
    for (let t = 8_000; t <= 18_000; t += 1_000) expect(ran).toContain(t);
    // 'immediate': exactly one run stands for the missed instants.
    expect(ran.filter((t) => missed.includes(t))).toHaveLength(1);
    await sched.stop();
  });
});
