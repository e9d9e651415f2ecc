import { describe, expect, it } from 'vitest';
import { CLAIM_CHUNK, ClaimQueue, type ClaimQueueDeps, type PendingFire } from './claim-queue.js';
import { MemorySchedulerCache } from '../memory/scheduler-cache.js';
import { FakeClock } from '../testing/fake-clock.js';
import { silentLogger } from '../ports/logger.js';
import { StoreUnavailableError } from '../errors.js';
import type { JobEntry } from './job-entry.js';
import type { LockManager } from '../ports/lock-manager.js';
import type { PreparedMessage } from '../ports/pubsub.js';

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

function queue(clock: FakeClock, lockManager: LockManager, more: Partial<ClaimQueueDeps> = {}) {
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
    ...more,
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

  it('hands each fire won on with the pending fire it answers, also for a job with several instants in one claim', async () => {
    const clock = new FakeClock(T0);
    const { lockManager, calls } = heldStore(clock);
    const pairs: Array<[PendingFire, number]> = [];
    const { q } = queue(clock, lockManager, { onWon: (won) => won.forEach((p) => pairs.push([p.fire, p.claim.instant])) });
    const one = fires(3);
    // A catch-up: job j0's three instants in one claim, beside two jobs of one instant.
    const several: PendingFire[] = [0, 1, 2].map((k) => ({
      jobName: 'j0',
      instant: T0 + 2_000 + k * 1_000,
      entry: {} as JobEntry,
      priority: 0,
    }));
    q.add(one.slice(1));
    await settle();
    calls[0]?.answer();
    await settle();
    q.add(several);
    await settle();
    calls[1]?.answer();
    await settle();
    expect(pairs).toHaveLength(5);
    for (const [fire, instant] of pairs) expect(fire.instant).toBe(instant);
    expect(pairs.map(([f]) => f)).toEqual(expect.arrayContaining([...one.slice(1), ...several]));
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

  describe('the announcement a claim may carry (ClaimOptions.announce)', () => {
    /**
     * The memory lock manager, carrying the announcement when `carries` (a store that can): only
     * then does it ask for it, as a store must (a claim that cannot carry it costs no encoding).
     */
    function announcingStore(clock: FakeClock, carries: boolean) {
      const inner = new MemorySchedulerCache({ clock }).lockManager;
      const sent: Array<string | undefined> = [];
      const lockManager: LockManager = Object.create(inner) as LockManager;
      lockManager.claimDue = async (due, options) => {
        const message = carries ? options.announce?.() : undefined;
        if (carries) sent.push(message?.payload);
        const result = await inner.claimDue(due, options);
        return message ? { ...result, announced: true } : result;
      };
      return { lockManager, sent };
    }

    function announcingQueue(
      clock: FakeClock,
      lockManager: LockManager,
      prepare: (f: PendingFire[]) => PreparedMessage | undefined,
    ) {
      const prepared: string[][] = [];
      const claimed: string[][] = [];
      const { q, won, errors } = queue(clock, lockManager, {
        prepareAnnouncement: (f) => {
          prepared.push(f.map((x) => x.jobName));
          return prepare(f);
        },
        onClaimed: (f) => claimed.push(f.map((x) => x.jobName)),
      });
      /** Until the claim's answer was handled (its three fires won). */
      const answered = async () => {
        for (let i = 0; i < 50 && won.flat().length < 3; i++) await settle();
        expect(won.flat().sort()).toEqual(['j0', 'j1', 'swept']);
      };
      return { q, prepared, claimed, errors, answered };
    }

    const message = (f: PendingFire[]): PreparedMessage => ({
      transport: {},
      channel: 'c',
      payload: f.map((x) => x.jobName).join(),
    });
    // Two of the owner's fires and one of the sweep (not this node's at the instant: its `notBefore` came).
    // Instants after the store's first use: earlier ones a fresh store refuses as lost to data loss.
    const mixed = (): PendingFire[] => [
      ...fires(2),
      { jobName: 'swept', instant: T0 + 1_000, notBefore: T0, entry: {} as JobEntry, priority: 0 },
    ];

    it("hands the owner's fires (not the sweep's) to the claim; carried, they are not announced again", async () => {
      const clock = new FakeClock(T0);
      const { lockManager, sent } = announcingStore(clock, true);
      const { q, prepared, claimed, errors, answered } = announcingQueue(clock, lockManager, message);
      q.add(mixed());
      await answered();
      expect(prepared).toEqual([['j0', 'j1']]);
      expect(sent).toEqual(['j0,j1']);
      expect(claimed).toEqual([]);
      expect(errors).toEqual([]);
    });

    it('announces them after the answer when the store could not carry it (not encoded before), had none to carry, or preparing threw', async () => {
      const throws = (): PreparedMessage => {
        throw new Error('prepare bug');
      };
      // A store that cannot carry it never asks: nothing encoded but the announcement after the answer.
      const cases = [
        { carries: false, prepare: message, prepared: [], sent: [], errors: [] },
        { carries: true, prepare: () => undefined, prepared: [['j0', 'j1']], sent: [undefined], errors: [] },
        { carries: true, prepare: throws, prepared: [['j0', 'j1']], sent: [undefined], errors: ['prepare bug'] },
      ];
      for (const c of cases) {
        const clock = new FakeClock(T0);
        const { lockManager, sent } = announcingStore(clock, c.carries);
        const { q, prepared, claimed, errors, answered } = announcingQueue(clock, lockManager, c.prepare);
        q.add(mixed());
        await answered();
        expect(prepared).toEqual(c.prepared);
        expect(sent).toEqual(c.sent);
        expect(claimed).toEqual([['j0', 'j1']]);
        expect(errors.map((e) => e.message)).toEqual(c.errors);
      }
    });
  });
});
