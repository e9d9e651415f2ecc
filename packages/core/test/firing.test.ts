import { describe, expect, it } from 'vitest';
import { Scheduler, silentLogger, type Clock, type FireEvent, type TimerHandle } from '../src/index.js';
import { FakeClock } from '../src/testing/index.js';
import { T0, iso, recorder, setup } from './helpers.js';

describe('firing on the spec', () => {
  it('runs a week of a per-minute schedule on FakeClock, each instant once, never drifting', async () => {
    const { sched, clock } = setup();
    const { runs, job } = recorder(clock);
    sched.registerJob(job('minutely'), { cronSpec: '0 * * * * *' });
    await sched.start();
    await clock.advance(7 * 24 * 3_600_000);
    expect(runs.length).toBe(7 * 24 * 60);
    runs.forEach((r, i) => {
      expect(r.scheduledAt).toBe(T0 + (i + 1) * 60_000);
      expect(r.startedAt).toBe(r.scheduledAt);
    });
    await sched.stop();
  });

  it('ctx carries the SPEC.md fields', async () => {
    const { sched, clock } = setup({ nodeId: 'n1' });
    let seen: Record<string, unknown> | undefined;
    sched.registerJob(
      {
        name: 'ctx',
        execute(ctx) {
          seen = { ...ctx, signal: ctx.signal.aborted, logger: typeof ctx.logger.info };
        },
      },
      { cronSpec: '*/5 * * * * *' },
    );
    await sched.start();
    await clock.advance(5_000);
    expect(seen).toMatchObject({
      jobName: 'ctx',
      fireId: `ctx@${T0 + 5_000}`,
      scheduledAt: new Date(T0 + 5_000),
      nodeId: 'n1',
      attempt: 1,
      signal: false,
      logger: 'function',
      params: undefined,
      missedCount: undefined,
      missedFrom: undefined,
      shard: undefined,
    });
    expect(typeof seen?.executionId).toBe('string');
    expect(typeof seen?.fencingToken).toBe('number');
    await sched.stop();
  });

  it('one timer serves every job: 1,000 jobs arm as many clock timers as one job does', async () => {
    const one = setup();
    one.sched.registerJob({ name: 'j', execute() {} }, { cronSpec: '* * * * * *' });
    await one.sched.start();
    const baseline = one.clock.pendingTimers; // the schedule timer and the registry's heartbeat
    const { sched, clock } = setup();
    for (let i = 0; i < 1_000; i++) sched.registerJob({ name: `j${i}`, execute() {} }, { cronSpec: `${i % 60} * * * * *` });
    await sched.start();
    expect(clock.pendingTimers).toBe(baseline);
    await clock.advance(61_000);
    // In (T0, T0 + 61 s] every job fires once, and the 17 jobs on second 1 fire again at 61 s.
    expect(sched.getMetrics().totals.fireCount).toBe(1_000 + 17);
    expect(clock.pendingTimers).toBe(baseline);
    await Promise.all([sched.stop(), one.sched.stop()]);
  });

  it('a late wake fires with the instant the spec named and reports its lateness', async () => {
    // A clock whose timers wake 1.2 s late, as after an event-loop stall.
    const clock = new FakeClock(T0);
    const lateClock: Clock = {
      now: () => clock.now(),
      setTimer: (at, fn) => clock.setTimer(at + 1_200, fn),
      clearTimer: (h) => clock.clearTimer(h),
    };
    const sched = new Scheduler({ clock: lateClock, logger: silentLogger });
    const fires: FireEvent[] = [];
    sched.on('fire', (e) => fires.push(e));
    const { runs, job } = recorder(clock);
    sched.registerJob(job('late'), { cronSpec: '*/10 * * * * *' });
    await sched.start();
    await clock.advance(12_000);
    expect(runs.map((r) => iso(r.scheduledAt))).toEqual(['2025-01-01T00:00:10.000Z']);
    expect(runs[0]?.startedAt).toBe(T0 + 11_200);
    expect(fires[0]?.lateMs).toBe(1_200);
    await sched.stop();
  });

  it('a timer that fires early re-arms and never fires before the instant', async () => {
    const clock = new FakeClock(T0);
    let early = 0;
    const earlyClock: Clock = {
      now: () => clock.now(),
      setTimer: (at, fn): TimerHandle => {
        // Node may fire a timer up to 1 ms early when it is further away than that.
        if (at - clock.now() > 1) {
          early += 1;
          return clock.setTimer(at - 1, fn);
        }
        return clock.setTimer(at, fn);
      },
      clearTimer: (h) => clock.clearTimer(h),
    };
    const sched = new Scheduler({ clock: earlyClock, logger: silentLogger });
    const { runs, job } = recorder(clock);
    sched.registerJob(job('early'), { cronSpec: '* * * * * *' });
    await sched.start();
    await clock.advance(3_000);
    expect(runs.map((r) => r.startedAt - (r.scheduledAt as number))).toEqual([0, 0, 0]);
    expect(early).toBeGreaterThanOrEqual(3); // each instant: an early wake, then a re-arm
    await sched.stop();
  });

  it('a clock jumping forward past a few instants fires each of them, late, in order', async () => {
    const { sched, clock } = setup();
    const { runs, job } = recorder(clock);
    sched.registerJob(job('tick'), { cronSpec: '* * * * * *' });
    await sched.start();
    await clock.advance(1_000);
    clock.setTime(T0 + 4_500); // within the 5 s misfire threshold
    await clock.tick();
    expect(runs.map((r) => (r.scheduledAt as number) - T0)).toEqual([1_000, 2_000, 3_000, 4_000]);
    expect(runs.slice(1).every((r) => r.startedAt === T0 + 4_500)).toBe(true);
    await sched.stop();
  });

  it('a clock jumping backwards never fires an instant twice', async () => {
    const { sched, clock } = setup();
    const { runs, job } = recorder(clock);
    sched.registerJob(job('tick'), { cronSpec: '* * * * * *' });
    await sched.start();
    await clock.advance(3_000);
    clock.setTime(T0 + 1_000);
    await clock.advance(4_000);
    const instants = runs.map((r) => r.scheduledAt);
    expect(new Set(instants).size).toBe(instants.length);
    expect(instants.map((t) => (t as number) - T0)).toEqual([1_000, 2_000, 3_000, 4_000, 5_000]);
    await sched.stop();
  });

  it('runs the seed example order: jobs due at the same instant all fire', async () => {
    const { sched, clock } = setup();
    const { runs, job } = recorder(clock);
    sched.registerJob(job('jobA'), { cronSpec: '0 0 1 * * *', priority: 100 });
    sched.registerJob(job('jobB'), { cronSpec: '0 0 1 * * *' });
    await sched.start();
    await clock.advance(2 * 86_400_000);
    expect(runs.map((r) => `${r.jobName}@${iso(r.scheduledAt)}`)).toEqual([
      'jobA@2025-01-01T01:00:00.000Z',
      'jobB@2025-01-01T01:00:00.000Z',
      'jobA@2025-01-02T01:00:00.000Z',
      'jobB@2025-01-02T01:00:00.000Z',
    ]);
    await sched.stop();
  });
});

describe('DST through the scheduler (America/New_York)', () => {
  it('spring forward: 02:30 daily fires once at 03:30 EDT; nextFireTimes shows it', async () => {
    const start = Date.UTC(2025, 2, 8, 12);
    const { sched, clock } = setup({}, start);
    const { runs, job } = recorder(clock);
    sched.registerJob(job('nightly'), { cronSpec: '0 30 2 * * *', timezone: 'America/New_York' });
    const preview = sched.nextFireTimes('nightly', 2);
    expect(preview.map((p) => [p.local, p.dst])).toEqual([
      ['2025-03-09T03:30:00-04:00', 'shifted'],
      ['2025-03-10T02:30:00-04:00', undefined],
    ]);
    await sched.start();
    await clock.advance(2 * 86_400_000);
    expect(runs.map((r) => iso(r.scheduledAt))).toEqual(['2025-03-09T07:30:00.000Z', '2025-03-10T06:30:00.000Z']);
    await sched.stop();
  });

  it('fall back: an hourly job runs at both 01:00s, a 01:30 daily job once', async () => {
    const start = Date.UTC(2025, 10, 2, 3, 30);
    const { sched, clock } = setup({}, start);
    const { runs, job } = recorder(clock);
    sched.registerJob(job('hourly'), { cronSpec: '0 0 * * * *', timezone: 'America/New_York' });
    sched.registerJob(job('daily'), { cronSpec: '0 30 1 * * *', timezone: 'America/New_York' });
    expect(sched.nextFireTimes('hourly', 3).map((p) => p.dst)).toEqual([undefined, undefined, 'repeated']);
    await sched.start();
    await clock.advance(4 * 3_600_000);
    const hourly = runs.filter((r) => r.jobName === 'hourly').map((r) => iso(r.scheduledAt));
    const daily = runs.filter((r) => r.jobName === 'daily').map((r) => iso(r.scheduledAt));
    expect(hourly).toEqual([
      '2025-11-02T04:00:00.000Z',
      '2025-11-02T05:00:00.000Z',
      '2025-11-02T06:00:00.000Z',
      '2025-11-02T07:00:00.000Z',
    ]);
    expect(daily).toEqual(['2025-11-02T05:30:00.000Z']);
    await sched.stop();
  });
});
