import { describe, expect, it } from 'vitest';
import { InvalidConfigError, type Clock, type SkipEvent, type TimerHandle } from '../src/index.js';
import { FakeClock } from '../src/testing/index.js';
import { T0, recorder, setup } from './helpers.js';

/**
 * A clock corrected onto another's time, as the cluster clock is onto Redis `TIME`: timers are
 * armed on the base clock shifted by the correction at arming, so one that changes meanwhile
 * makes a timer wake while `now()` is still a little before its instant.
 */
class CorrectedClock implements Clock {
  correction = 0;
  constructor(readonly base: FakeClock) {}
  now(): number {
    return this.base.now() + this.correction;
  }
  setTimer(at: number, fn: () => void): TimerHandle {
    const inner = this.base.setTimer(at - this.correction, fn);
    return { at, inner } as TimerHandle;
  }
  clearTimer(handle: TimerHandle): void {
    this.base.clearTimer((handle as TimerHandle & { inner: TimerHandle }).inner);
  }
}

/** The times the scheduler called `claimDue`, with the instants it asked for. */
function spyClaims(sched: ReturnType<typeof setup>['sched'], now: () => number) {
  const calls: Array<{ at: number; instants: number[] }> = [];
  const lockManager = sched.schedulerCache.lockManager;
  const claimDue = lockManager.claimDue.bind(lockManager);
  lockManager.claimDue = (fires, options) => {
    calls.push({ at: now(), instants: fires.map((f) => f.instant) });
    return claimDue(fires, options);
  };
  return calls;
}

describe('claimAheadMs: fires claimed before their instant, started at it', () => {
  it('claims 50 ms ahead, holds the fire claimed (not running) until the instant, and starts it at the instant, never before', async () => {
    const { sched, clock } = setup({ claimAheadMs: 50 });
    const { runs, job } = recorder(clock);
    sched.registerJob(job('tick'), { cronSpec: '* * * * * *' });
    const calls = spyClaims(sched, () => clock.now());
    await sched.start();
    await clock.advance(1_000);
    // The first instant was put on the timer at registration; from then on each is claimed 50 ms ahead.
    await clock.advance(960); // T0 + 1960: the claim of T0 + 2000 went out at T0 + 1950
    expect(calls.at(-1)).toEqual({ at: T0 + 1_950, instants: [T0 + 2_000] });
    const record = await sched.schedulerCache.stateStore.getFireRecord(`tick@${T0 + 2_000}`);
    expect(record?.state).toBe('claimed');
    expect(runs.map((r) => r.scheduledAt)).toEqual([T0 + 1_000]);
    await clock.advance(40);
    await clock.advance(5_000);
    expect(runs.map((r) => r.scheduledAt)).toEqual([1, 2, 3, 4, 5, 6, 7].map((s) => T0 + s * 1_000));
    for (const r of runs) expect(r.startedAt).toBe(r.scheduledAt);
    for (const c of calls.slice(1)) expect(c.at).toBe((c.instants[0] as number) - 50);
    await sched.stop();
  });

  it('a job paused between its claim and its instant does not run: skipped (paused), its claim closed; resumed before the next, that one runs', async () => {
    const { sched, clock } = setup({ claimAheadMs: 50 });
    const { runs, job } = recorder(clock);
    const skips: SkipEvent[] = [];
    sched.on('skip', (e) => skips.push(e));
    sched.registerJob(job('tick'), { cronSpec: '* * * * * *' });
    await sched.start();
    await clock.advance(1_960);
    await sched.pause('tick');
    await clock.advance(1_000);
    expect(runs.map((r) => r.scheduledAt)).toEqual([T0 + 1_000]);
    // The held fire, at its instant; the next one is judged at its own instant, not ahead (see below).
    expect(skips.map((s) => [s.fireId, s.reason])).toEqual([[`tick@${T0 + 2_000}`, 'paused']]);
    const record = await sched.schedulerCache.stateStore.getFireRecord(`tick@${T0 + 2_000}`);
    expect(record?.state ?? 'deleted').not.toBe('claimed');
    // Resumed before 3 s: 3 s runs, and no skip was reported for it.
    await sched.resume('tick');
    await clock.advance(2_000);
    expect(runs.map((r) => r.scheduledAt)).toEqual([T0 + 1_000, T0 + 3_000, T0 + 4_000]);
    expect(skips).toHaveLength(1);
    await sched.stop();
  });

  it('a spec changed between the claim and the instant: the held fire runs only if the new spec has that instant', async () => {
    const { sched, clock } = setup({ claimAheadMs: 50 });
    const { runs, job } = recorder(clock);
    sched.registerJob(job('a'), { cronSpec: '* * * * * *' });
    sched.registerJob(job('b'), { cronSpec: '* * * * * *' });
    await sched.start();
    await clock.advance(2_960); // both hold T0 + 3000
    await sched.updateCronSpec('a', '*/2 * * * * *'); // 3 s is not even: a's held fire is dropped
    await sched.updateCronSpec('b', '*/3 * * * * *'); // 3 s is b's: it runs
    await clock.advance(3_040);
    const of = (name: string) => runs.filter((r) => r.jobName === name).map((r) => (r.scheduledAt as number) - T0);
    expect(of('a')).toEqual([1_000, 2_000, 4_000, 6_000]);
    expect(of('b')).toEqual([1_000, 2_000, 3_000, 6_000]);
    await sched.stop();
  });

  it('a held fire whose timer wakes a little before its instant by the clock (a correction moved it back) waits for it and runs once', async () => {
    const base = new FakeClock(T0);
    const clock = new CorrectedClock(base);
    const { sched } = setup({ clock, claimAheadMs: 50, leaseTtlMs: 3_000, leaseRenewMs: 1_000 });
    const runs: Array<{ scheduledAt: number | undefined; startedAt: number }> = [];
    const skips: SkipEvent[] = [];
    sched.on('skip', (e) => skips.push(e));
    sched.registerJob(
      { name: 'tick', execute: (ctx) => void runs.push({ scheduledAt: ctx.scheduledAt?.getTime(), startedAt: clock.now() }) },
      { cronSpec: '* * * * * *' },
    );
    await sched.start();
    await base.advance(1_960); // T0 + 2000 claimed at 1950 and held; its timer is armed on the base clock
    clock.correction = -3; // a new sample puts the clock 3 ms back: the timer wakes at 1997 by it
    await base.advance(40);
    expect(runs.map((r) => r.scheduledAt)).toEqual([T0 + 1_000]);
    await base.advance(4_000);
    expect(runs.map((r) => r.scheduledAt)).toEqual([1, 2, 3, 4, 5].map((s) => T0 + s * 1_000));
    for (const r of runs) expect(r.startedAt).toBeGreaterThanOrEqual(r.scheduledAt as number);
    expect(skips).toEqual([]);
    // Nothing left running under a lease no one renews (the others' sweep would end it abandoned).
    const record = await sched.schedulerCache.stateStore.getFireRecord(`tick@${T0 + 2_000}`);
    expect(record?.state ?? 'deleted').toBe('deleted');
    await sched.stop();
  });

  it('must be shorter than half of leaseTtlMs', () => {
    expect(() => setup({ claimAheadMs: 500, leaseTtlMs: 1_000, leaseRenewMs: 300 })).toThrow(InvalidConfigError);
    expect(() => setup({ claimAheadMs: 500, leaseTtlMs: 1_000, leaseRenewMs: 300 })).toThrow(/claimAheadMs/);
    expect(() => setup({ claimAheadMs: -1 })).toThrow(InvalidConfigError);
    expect(() => setup({ claimAheadMs: 499, leaseTtlMs: 1_000, leaseRenewMs: 300 })).not.toThrow();
  });
});
