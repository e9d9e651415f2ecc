import { describe, expect, it } from 'vitest';
import { CLAIM_CHUNK, ClaimQueue, type PendingFire } from './claim-queue.js';
import { MemorySchedulerCache } from '../memory/scheduler-cache.js';
import { FakeClock } from '../testing/fake-clock.js';
import { silentLogger } from '../ports/logger.js';
import { StoreUnavailableError } from '../errors.js';
import type { JobEntry } from './job-entry.js';
import type { LockManager } from '../ports/lock-manager.js';

const T0 = Date.UTC(2026, 10, 27);

/** The memory lock manager, with each claimDue call held until the test answers it (a slow store). */
function heldStore(clock: FakeClock) {
  const inner = new MemorySchedulerCache({ clock }).lockManager;
  const calls: Array<{ size: number; answer: (fail?: boolean) => void }> = [];
  const lockManager: LockManager = Object.create(inner) as LockManager;
  lockManager.claimDue = (fires, options) =>
    new Promise((resolve, reject) => {
      calls.push({
        size: fires.length,
        answer: (fail) =>
          fail ? reject(new StoreUnavailableError('claimDue', 'no answer (test)')) : resolve(inner.claimDue(fires, options)),
      });
    });
  return { lockManager, calls };
}

function queue(clock: FakeClock, lockManager: LockManager) {
  const won: string[][] = [];
  const errors: Error[] = [];
  const q = new ClaimQueue({
    clock,
    logger: silentLogger,
    lockManager,
    nodeId: 'n1',
    leaseTtlMs: 30_000,
    graceMs: 1_000,
    thresholdMs: 60_000,
    budget: () => 100_000,
    freeSlots: () => 100_000,
    onWon: (pairs) => won.push(pairs.map((p) => p.claim.jobName)),
    onExpired: () => undefined,
    onDataLoss: () => undefined,
    onError: (e) => errors.push(e),
  });
  return { q, won, errors };
}

const fires = (n: number, instant = T0 + 1_000): PendingFire[] =>
  Array.from({ length: n }, (_, i) => ({ jobName: `j${i}`, instant, entry: {} as JobEntry, priority: 0 }));

const settle = () => new Promise((r) => setImmediate(r));

describe('ClaimQueue', () => {
  it('claims a big instant in chunks sent together, and starts each chunk as soon as it is answered', async () => {
    const clock = new FakeClock(T0);
    const { lockManager, calls } = heldStore(clock);
    const { q, won, errors } = queue(clock, lockManager);
    q.add(fires(2 * CLAIM_CHUNK + 5));
    await settle();
    // All three calls are out before any answer.
    expect(calls.map((c) => c.size)).toEqual([CLAIM_CHUNK, CLAIM_CHUNK, 5]);
    calls[0]?.answer();
    await settle();
    expect(won.map((w) => w.length)).toEqual([CLAIM_CHUNK]);
    expect(won[0]?.[0]).toBe('j0');
    calls[1]?.answer();
    calls[2]?.answer();
    await settle();
    expect(won.map((w) => w.length)).toEqual([CLAIM_CHUNK, CLAIM_CHUNK, 5]);
    expect(new Set(won.flat()).size).toBe(2 * CLAIM_CHUNK + 5);
    expect(errors).toEqual([]);
    expect(q.size).toBe(0);
  });

  it('a chunk the store did not answer goes back and is retried; the answered ones are not claimed twice', async () => {
    const clock = new FakeClock(T0);
    const { lockManager, calls } = heldStore(clock);
    const { q, won, errors } = queue(clock, lockManager);
    q.add(fires(CLAIM_CHUNK + 10));
    await settle();
    calls[0]?.answer();
    calls[1]?.answer(true);
    await settle();
    expect(errors).toHaveLength(1);
    expect(q.size).toBe(10);
    await clock.advance(1_000); // the retry after the grace (backoff 1 × grace)
    await settle();
    expect(calls.map((c) => c.size)).toEqual([CLAIM_CHUNK, 10, 10]);
    calls[2]?.answer();
    await settle();
    expect(won.map((w) => w.length)).toEqual([CLAIM_CHUNK, 10]);
    expect(new Set(won.flat()).size).toBe(CLAIM_CHUNK + 10);
    expect(q.size).toBe(0);
  });
});
