import { beforeEach, describe, expect, it } from 'vitest';
import type { LockManager, StateStore, WonFire } from '@sched/core';

/** What a contract run needs: the adapters, and the faults the store can suffer. */
export interface ContractTarget {
  lockManager: LockManager;
  stateStore: StateStore;
  /** Forgets everything, like a restart without persistence or FLUSHALL. */
  flush(): Promise<void>;
  /** A fresh namespace per test. */
  reset(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// Long enough that consecutive calls of a test land inside a lease on a loaded 2-core CI machine.
const ttl = 400;
/** Waits well past `ttl` so a lease has lapsed by the store's own clock. */
const lapse = () => sleep(ttl * 2 + 50);

/**
 * The LockManager + StateStore contract (core/ports): run against core's memory
 * adapters and Redis, single and Cluster, so the simulated cluster stays
 * faithful to what real nodes see.
 */
export function lockContract(name: string, make: () => ContractTarget): void {
  describe(`LockManager + StateStore contract: ${name}`, () => {
    let t: ContractTarget;
    const a = { nodeId: 'a', leaseTtlMs: ttl };
    const b = { nodeId: 'b', leaseTtlMs: ttl };
    beforeEach(async () => {
      t = make();
      await t.reset();
    });
    /** One fire of each job at `instant`, claimed by `a` (marks read first, as a node does): the won fires in `names`' order. */
    const claimEach = async (
      names: string[],
      instant: number,
      startNow: (job: string) => boolean = () => false,
      options: typeof a = a,
    ) => {
      await t.stateStore.getMarks(names);
      const { won } = await t.lockManager.claimDue(
        names.map((jobName) => ({ jobName, instant, startNow: startNow(jobName) })),
        options,
      );
      return names.map((j) => won.find((w) => w.jobName === j)) as WonFire[];
    };

    it('claims each due fire once: the first caller wins all, a later one loses all', async () => {
      const now = Date.now();
      await t.stateStore.getMarks(['j1', 'j2', 'j3']);
      const fires = ['j1', 'j2', 'j3'].map((jobName) => ({ jobName, instant: now + 1000 }));
      const first = await t.lockManager.claimDue(fires, a);
      const second = await t.lockManager.claimDue(fires, b);
      expect(first.won.map((w) => w.jobName).sort()).toEqual(['j1', 'j2', 'j3']);
      expect(first.lost).toEqual([]);
      expect(second.won).toEqual([]);
      expect(second.lost).toHaveLength(3);
      for (const w of first.won) expect(w.fencingToken).toBeGreaterThan(2 ** 20);
      for (const w of first.won) {
        expect(w.fireId).toBe(`${w.jobName}@${now + 1000}`);
        expect(w.gapAfter).toBeUndefined();
        const rec = await t.stateStore.getFireRecord(w.fireId);
        expect(rec).toMatchObject({
          state: 'claimed',
          nodeId: 'a',
          token: w.token,
          fencingToken: w.fencingToken,
          jobName: w.jobName,
        });
      }
      expect(await t.stateStore.getMarks(['j1', 'j2', 'j3', 'none'])).toEqual(
        new Map([
          ['j1', now + 1000],
          ['j2', now + 1000],
          ['j3', now + 1000],
        ]),
      );
    });

    it('never wins an instant at or before the mark, and reports a gap to the one winner', async () => {
      const t0 = Date.now() + 10_000;
      await t.stateStore.getMarks(['j']);
      await t.lockManager.claimDue([{ jobName: 'j', instant: t0 }], a);
      expect((await t.lockManager.claimDue([{ jobName: 'j', instant: t0 - 1000 }], b)).lost).toHaveLength(1);
      const late = await t.lockManager.claimDue([{ jobName: 'j', instant: t0 + 3000, prevInstant: t0 + 2000 }], b);
      expect(late.won[0]?.gapAfter).toBe(t0);
      const next = await t.lockManager.claimDue([{ jobName: 'j', instant: t0 + 4000, prevInstant: t0 + 3000 }], a);
      expect(next.won[0]?.gapAfter).toBeUndefined();
      expect(await t.stateStore.advanceMark('j', t0)).toBe(t0 + 4000);
      expect(await t.stateStore.advanceMark('j', t0 + 9000)).toBe(t0 + 9000);
    });

    it('takes a record claimed → running → done only with its token, and keeps it after done', async () => {
      await t.stateStore.getMarks(['j']);
      const [w] = (await t.lockManager.claimDue([{ jobName: 'j', instant: Date.now() + 5000 }], a)).won;
      if (!w) throw new Error('not won');
      const forged = { ...w, token: 'b:1' };
      expect(await t.lockManager.startFire(forged)).toBe(false);
      expect(await t.lockManager.startFire(w)).toBe(true);
      expect(await t.lockManager.startFire(w)).toBe(false);
      const renewedAt = Date.now();
      expect(await t.lockManager.renewFire(w, { leaseTtlMs: 10_000 })).toBe(true);
      // A renewal moves the expiry only: state, owner and fencing token stay.
      const renewed = await t.stateStore.getFireRecord(w.fireId);
      expect(renewed).toMatchObject({ state: 'running', nodeId: 'a', token: w.token, fencingToken: w.fencingToken });
      expect(renewed?.expiresAt).toBeGreaterThanOrEqual(renewedAt + 9_000);
      expect(await t.lockManager.finishFire(forged, 'completed', { retentionMs: 10_000 })).toBe(false);
      // Tokens that are a prefix of the owner's, or extend it, are not the owner's either.
      for (const token of [`a:${String(w.fencingToken).slice(0, -1)}`, `a:${w.fencingToken}0`, `ab:${w.fencingToken}`]) {
        expect(await t.lockManager.renewFire({ ...w, token }, { leaseTtlMs: 10_000 })).toBe(false);
        expect(await t.lockManager.finishFire({ ...w, token }, 'completed', { retentionMs: 0 })).toBe(false);
      }
      expect(await t.lockManager.finishFire(w, 'completed', { retentionMs: 10_000 })).toBe(true);
      expect(await t.lockManager.finishFire(w, 'completed', { retentionMs: 10_000 })).toBe(false);
      expect(await t.lockManager.renewFire(w, { leaseTtlMs: ttl })).toBe(false);
      expect(await t.stateStore.getFireRecord(w.fireId)).toMatchObject({ state: 'done', status: 'completed' });
      expect(await t.lockManager.claimFire({ fireId: w.fireId, jobName: 'j', recoverAbandoned: true }, b)).toBeNull();
    });

    it('writes a fire won with startNow as running, and a release gives it back claimable', async () => {
      const [s1, s2] = await claimEach(['s1', 's2'], Date.now() + 5_000, (job) => job === 's1');
      expect(s1?.started).toBe(true);
      expect(s2?.started).toBeUndefined();
      expect((await t.stateStore.getFireRecord(s1!.fireId))?.state).toBe('running');
      expect((await t.stateStore.getFireRecord(s2!.fireId))?.state).toBe('claimed');
      expect(await t.lockManager.startFire(s1!)).toBe(false);
      await t.lockManager.releaseFire(s1!);
      expect(await t.stateStore.getFireRecord(s1!.fireId)).toMatchObject({ state: 'claimed' });
      expect(await t.lockManager.claimFire({ fireId: s1!.fireId, jobName: 's1' }, b)).not.toBeNull();
    });

    it('writes a fire claimed by id with startNow as running; it finishes without a start, and no one else takes it', async () => {
      const now = await t.lockManager.claimFire({ fireId: 'rem@1', jobName: 'rem', startNow: true }, a);
      const later = await t.lockManager.claimFire({ fireId: 'rem@2', jobName: 'rem' }, a);
      expect(now?.started).toBe(true);
      expect(later?.started).toBeUndefined();
      expect((await t.stateStore.getFireRecord('rem@1'))?.state).toBe('running');
      expect((await t.stateStore.getFireRecord('rem@2'))?.state).toBe('claimed');
      expect(await t.lockManager.claimFire({ fireId: 'rem@1', jobName: 'rem', startNow: true }, b)).toBeNull();
      expect(await t.lockManager.finishFire(now!, 'completed', { retentionMs: 10_000 })).toBe(true);
      expect(await t.stateStore.getFireRecord('rem@1')).toMatchObject({ state: 'done', status: 'completed' });
    });

    it('gives a retried claim back to the node whose earlier, unanswered call landed, and to no one else', async () => {
      const at = Date.now() + 5_000;
      await t.stateStore.getMarks(['r1', 'r2']);
      const first = await t.lockManager.claimDue(
        [
          { jobName: 'r1', instant: at, startNow: true },
          { jobName: 'r2', instant: at },
        ],
        a,
      );
      const retried = [
        { jobName: 'r1', instant: at, retry: true },
        { jobName: 'r2', instant: at, retry: true },
      ];
      expect((await t.lockManager.claimDue(retried, b)).won).toEqual([]);
      const again = await t.lockManager.claimDue(retried, a);
      const byJob = (r: { won: Array<{ jobName: string; token: string; started?: boolean }> }, j: string) =>
        r.won.find((w) => w.jobName === j);
      expect(byJob(again, 'r1')?.token).toBe(byJob(first, 'r1')?.token);
      expect(byJob(again, 'r1')?.started).toBe(true);
      expect(byJob(again, 'r2')?.token).toBe(byJob(first, 'r2')?.token);
      expect(byJob(again, 'r2')?.started).toBeUndefined();
      // Without the retry flag, an instant at the mark is lost, even for its owner.
      expect((await t.lockManager.claimDue([{ jobName: 'r1', instant: at }], a)).won).toEqual([]);
      // Fires given back and fires won now, interleaved in one call: each answered with its own token.
      await t.stateStore.getMarks(['r3', 'r4']);
      const mixed = await t.lockManager.claimDue(
        ['r1', 'r3', 'r2', 'r4'].map((jobName) => ({ jobName, instant: at, retry: true })),
        a,
      );
      expect(mixed.won.map((w) => w.jobName).sort()).toEqual(['r1', 'r2', 'r3', 'r4']);
      expect(byJob(mixed, 'r1')?.token).toBe(byJob(first, 'r1')?.token);
      expect(byJob(mixed, 'r2')?.token).toBe(byJob(first, 'r2')?.token);
      for (const w of mixed.won) expect((await t.stateStore.getFireRecord(w.fireId))?.fencingToken).toBe(w.fencingToken);
    });

    it('lets anyone claim a released or lapsed claim, but a lapsed run only with recoverAbandoned', async () => {
      const claimed = await t.lockManager.claimFire({ fireId: 'j@manual-1', jobName: 'j' }, a);
      const running = await t.lockManager.claimFire({ fireId: 'j@manual-2', jobName: 'j' }, a);
      if (!claimed || !running) throw new Error('not claimed');
      expect(await t.lockManager.claimFire({ fireId: 'j@manual-1', jobName: 'j' }, b)).toBeNull();
      expect(await t.lockManager.startFire(running)).toBe(true);
      await t.lockManager.releaseFire(claimed);
      const expiredNow = await t.stateStore.listExpiredFires(Date.now() + 5, 10);
      expect(expiredNow.map((r) => r.fireId)).toEqual(['j@manual-1']);
      await lapse();
      const expired = await t.stateStore.listExpiredFires(Date.now(), 10);
      expect(expired.map((r) => [r.fireId, r.state])).toEqual([
        ['j@manual-1', 'claimed'],
        ['j@manual-2', 'running'],
      ]);
      const taken = await t.lockManager.claimFire({ fireId: 'j@manual-1', jobName: 'j' }, b);
      expect(taken?.fencingToken).toBeGreaterThan(running.fencingToken);
      expect(await t.lockManager.claimFire({ fireId: 'j@manual-2', jobName: 'j' }, b)).toBeNull();
      const recovered = await t.lockManager.claimFire({ fireId: 'j@manual-2', jobName: 'j', recoverAbandoned: true }, b);
      expect(recovered?.fencingToken).toBeGreaterThan(taken?.fencingToken ?? 0);
      // The old holder wakes: every call on the record fails, and its finish is refused.
      expect(await t.lockManager.renewFire(running, { leaseTtlMs: ttl })).toBe(false);
      expect(await t.lockManager.finishFire(running, 'completed', { retentionMs: 1000 })).toBe(false);
      expect((await t.stateStore.getFireRecord('j@manual-2'))?.nodeId).toBe('b');
    });

    it('holds a named lease for one owner at a time, with growing fencing tokens', async () => {
      const first = await t.lockManager.acquireLease('overlap:j', { ttlMs: ttl, nodeId: 'a' });
      if (!first) throw new Error('not acquired');
      expect(await t.lockManager.acquireLease('overlap:j', { ttlMs: ttl, nodeId: 'b' })).toBeNull();
      expect(await first.renew()).toBe(true);
      expect(await first.release()).toBe(true);
      expect(await first.release()).toBe(false);
      const second = await t.lockManager.acquireLease('overlap:j', { ttlMs: ttl, nodeId: 'b' });
      expect(second?.fencingToken).toBeGreaterThan(first.fencingToken);
      await lapse();
      const third = await t.lockManager.acquireLease('overlap:j', { ttlMs: ttl, nodeId: 'a' });
      expect(third).not.toBeNull();
      expect(await second?.renew()).toBe(false);
      expect(await second?.release()).toBe(false);
      expect(await third?.release()).toBe(true);
    });

    it('after data loss, loses each instant that may have run once, keeps fencing tokens growing, and wins later ones', async () => {
      const now = Date.now();
      await t.stateStore.getMarks(['j', 'k']);
      // Instants before the namespace was first used may have run elsewhere: a fresh store already refuses them.
      expect((await t.lockManager.claimDue([{ jobName: 'k', instant: now - 5_000 }], a)).dataLoss).toHaveLength(1);
      const before = await t.lockManager.claimDue([{ jobName: 'j', instant: now + 50 }], a);
      const token = before.won[0]?.fencingToken ?? 0;
      expect(token).toBeGreaterThan(0);
      await sleep(100);
      await t.flush();
      const due = [
        { jobName: 'j', instant: now + 50 },
        { jobName: 'k', instant: now + 60 },
      ];
      const first = await t.lockManager.claimDue(due, b);
      expect(first.won).toEqual([]);
      expect(first.dataLoss?.map((f) => f.jobName).sort()).toEqual(['j', 'k']);
      const second = await t.lockManager.claimDue(due, a);
      expect(second.dataLoss ?? []).toEqual([]);
      expect(second.lost).toHaveLength(2);
      const later = await t.lockManager.claimDue([{ jobName: 'j', instant: Date.now() + 1000, prevInstant: Date.now() }], a);
      expect(later.won).toHaveLength(1);
      expect(later.won[0]?.fencingToken).toBeGreaterThan(token);
    });

    it('keeps DAG run state with set-if-absent, and catch-up lists until acknowledged', async () => {
      expect(await t.stateStore.getRunState('run-1')).toBeNull();
      expect(await t.stateStore.setRunFieldIfAbsent('run-1', 'released:x', 'a', 10_000)).toBe(true);
      expect(await t.stateStore.setRunFieldIfAbsent('run-1', 'released:x', 'b', 10_000)).toBe(false);
      await t.stateStore.setRunFields('run-1', { 'done:y': 'completed' }, 10_000);
      expect(await t.stateStore.getRunState('run-1')).toEqual({ 'released:x': 'a', 'done:y': 'completed' });
      expect(await t.stateStore.getRunFields('run-1', ['done:y', 'done:absent'])).toEqual({ 'done:y': 'completed' });
      expect(await t.stateStore.getRunFields('run-1', [])).toEqual({});
      expect(await t.stateStore.getRunFields('run-gone', ['done:y'])).toEqual({});
      const list = {
        jobName: 'j',
        policy: 'delayed' as const,
        instants: [1_700_000_000_000, 1_700_000_001_000],
        droppedCount: 2,
        createdBy: 'a',
        createdAt: 5,
      };
      await t.stateStore.saveCatchup(list);
      expect(await t.stateStore.getCatchup('j')).toEqual(list);
      await t.stateStore.ackCatchup('j', 1_700_000_000_000);
      expect((await t.stateStore.getCatchup('j'))?.instants).toEqual([1_700_000_001_000]);
      await t.stateStore.ackCatchup('j', 1_700_000_001_000);
      expect(await t.stateStore.getCatchup('j')).toBeNull();
    });

    it('a catch-up claim takes its instant off the stored list in the same step, won or lost; lists are read in one batch', async () => {
      const t1 = 1_700_000_000_000;
      const instants = [t1, t1 + 1_000, t1 + 2_000];
      for (const jobName of ['cj', 'ck'])
        await t.stateStore.saveCatchup({ jobName, policy: 'delayed', instants, droppedCount: 0, createdBy: 'a', createdAt: 1 });
      const claim = (node: string, instant: number) =>
        t.lockManager.claimFire(
          { fireId: `cj@${instant}`, jobName: 'cj', catchupInstant: instant },
          { nodeId: node, leaseTtlMs: 10_000 },
        );
      expect(await claim('a', t1)).not.toBeNull();
      expect((await t.stateStore.getCatchup('cj'))?.instants).toEqual([t1 + 1_000, t1 + 2_000]);
      // b resumes the list as it was before a's claim: the instant is claimed already, and stays off the list.
      expect(await claim('b', t1)).toBeNull();
      expect(await claim('b', t1 + 1_000)).not.toBeNull();
      const lists = await t.stateStore.getCatchups(['cj', 'ck', 'none']);
      expect([...lists.keys()].sort()).toEqual(['cj', 'ck']);
      expect(lists.get('cj')?.instants).toEqual([t1 + 2_000]);
      expect(lists.get('ck')?.instants).toEqual(instants);
      expect(await claim('a', t1 + 2_000)).not.toBeNull();
      expect(await t.stateStore.getCatchup('cj')).toBeNull();
    });

    it('claims fires of different instants, previous instants and flags in one call, a job twice among them', async () => {
      const t0 = Date.now() + 60_000;
      await t.stateStore.getMarks(['m1', 'm2', 'm3']);
      await t.lockManager.claimDue([{ jobName: 'm3', instant: t0 - 5000 }], a);
      const result = await t.lockManager.claimDue(
        [
          { jobName: 'm1', instant: t0, startNow: true },
          { jobName: 'm2', instant: t0 + 1000, prevInstant: t0 },
          { jobName: 'm1', instant: t0 + 1000, prevInstant: t0 },
          { jobName: 'm3', instant: t0, prevInstant: t0 - 1000 },
          { jobName: 'm1', instant: t0 - 1000 },
        ],
        a,
      );
      const won = result.won.map((w) => [w.fireId, w.started === true, w.gapAfter]);
      expect(won).toEqual(
        expect.arrayContaining([
          [`m1@${t0}`, true, undefined],
          [`m2@${t0 + 1000}`, false, undefined],
          [`m1@${t0 + 1000}`, false, undefined],
          [`m3@${t0}`, false, t0 - 5000],
        ]),
      );
      expect(result.won).toHaveLength(4);
      expect(result.lost.map((f) => `${f.jobName}@${f.instant}`)).toEqual([`m1@${t0 - 1000}`]);
      const fencingOf = (fireId: string) => result.won.find((w) => w.fireId === fireId)!.fencingToken;
      expect(fencingOf(`m1@${t0 + 1000}`)).toBeGreaterThan(fencingOf(`m1@${t0}`));
      expect(await t.stateStore.getMarks(['m1', 'm2', 'm3'])).toEqual(
        new Map([
          ['m1', t0 + 1000],
          ['m2', t0 + 1000],
          ['m3', t0],
        ]),
      );
    });

    it('applies record updates sent in the same turn each on its own: start, renew, finish, a forged token, one fire twice', async () => {
      const [u1, u2, u3, u4] = await claimEach(['u1', 'u2', 'u3', 'u4'], Date.now() + 60_000, (job) => job !== 'u1');
      const results = await Promise.all([
        t.lockManager.startFire(u1!),
        t.lockManager.renewFire(u2!, { leaseTtlMs: 10_000 }),
        t.lockManager.finishFire({ ...u3!, token: `a:${u3!.fencingToken + 1}` }, 'failed', { retentionMs: 10_000 }),
        t.lockManager.finishFire(u3!, 'completed', { retentionMs: 10_000 }),
        t.lockManager.renewFire(u4!, { leaseTtlMs: 10_000 }),
        t.lockManager.finishFire(u4!, 'timeout', { retentionMs: 10_000 }),
        t.lockManager.finishFire(u4!, 'completed', { retentionMs: 10_000 }),
      ]);
      expect(results).toEqual([true, true, false, true, true, true, false]);
      expect((await t.stateStore.getFireRecord(u1!.fireId))?.state).toBe('running');
      expect((await t.stateStore.getFireRecord(u2!.fireId))?.state).toBe('running');
      expect(await t.stateStore.getFireRecord(u3!.fireId)).toMatchObject({ state: 'done', status: 'completed' });
      expect(await t.stateStore.getFireRecord(u4!.fireId)).toMatchObject({ state: 'done', status: 'timeout' });
      // Finished fires left the live set: a lapse makes no takeover of them.
      await lapse();
      const expired = await t.stateStore.listExpiredFires(Date.now() + 20_000, 10);
      expect(expired.map((r) => r.fireId).sort()).toEqual([u1!.fireId, u2!.fireId]);
    });

    it('deletes a record finished with retention 0: the mark still guards the instant, a takeover of it loses', async () => {
      const at = Date.now() + 60_000;
      const [d1, d2, d3, d4] = await claimEach(['d1', 'd2', 'd3', 'd4'], at, (job) => job !== 'd1');
      // In one batch: started then dropped; dropped beside one kept; dropped twice; a forged drop.
      const results = await Promise.all([
        t.lockManager.startFire(d1!),
        t.lockManager.finishFire(d1!, 'completed', { retentionMs: 0 }),
        t.lockManager.finishFire(d2!, 'completed', { retentionMs: 0 }),
        t.lockManager.finishFire(d3!, 'failed', { retentionMs: 10_000 }),
        t.lockManager.finishFire({ ...d4!, token: `a:${d4!.fencingToken + 1}` }, 'completed', { retentionMs: 0 }),
        t.lockManager.finishFire(d2!, 'completed', { retentionMs: 0 }),
        t.lockManager.renewFire(d2!, { leaseTtlMs: 10_000 }),
      ]);
      expect(results).toEqual([true, true, true, true, false, false, false]);
      expect(await t.stateStore.getFireRecord(d1!.fireId)).toBeNull();
      expect(await t.stateStore.getFireRecord(d2!.fireId)).toBeNull();
      expect(await t.stateStore.getFireRecord(d3!.fireId)).toMatchObject({ state: 'done', status: 'failed' });
      expect((await t.stateStore.getFireRecord(d4!.fireId))?.state).toBe('running');
      // Nothing is left to sweep but d4, which is still its owner's.
      await lapse();
      const expired = await t.stateStore.listExpiredFires(Date.now() + 20_000, 10);
      expect(expired.map((r) => r.fireId)).toEqual([d4!.fireId]);
      // The instants stay taken: a sweep's claim loses to the mark, a takeover to the missing record.
      const again = await t.lockManager.claimDue(
        ['d1', 'd2'].map((jobName) => ({ jobName, instant: at })),
        b,
      );
      expect(again.won).toEqual([]);
      const takeover = { fireId: d2!.fireId, jobName: 'd2', recoverAbandoned: true, takeover: true };
      expect(await t.lockManager.claimFire(takeover, b)).toBeNull();
      // A takeover of a record that is there and lapsed wins it.
      const taken = await t.lockManager.claimFire(
        { fireId: d4!.fireId, jobName: 'd4', recoverAbandoned: true, takeover: true },
        b,
      );
      expect(taken?.nodeId).toBe('b');
      expect(await t.stateStore.getFireRecord(d4!.fireId)).toMatchObject({ nodeId: 'b', state: 'claimed' });
    });

    it('a start keeps the lease the claim gave (the watchdog renews it), so it lapses on time without a renewal', async () => {
      // A lease long enough that the starts land inside it on a loaded CI machine (500 ms of margin).
      const longTtl = 600;
      // Claimed in two calls: on Redis the fires one call wins share a lease (a claim batch), so a
      // renewal of k2 would renew k1 too (lock.test.ts).
      const instant = Date.now() + 60_000;
      const [k1] = await claimEach(['k1'], instant, undefined, { ...a, leaseTtlMs: longTtl });
      const [k2] = await claimEach(['k2'], instant, undefined, { ...a, leaseTtlMs: longTtl });
      const claimed = (await t.stateStore.getFireRecord(k1!.fireId))!.expiresAt;
      // Later than the claim, so a start that moved the expiry would show.
      await sleep(100);
      expect(await t.lockManager.startFire(k1!)).toBe(true);
      expect(await t.lockManager.startFire(k2!)).toBe(true);
      expect(await t.lockManager.renewFire(k2!, { leaseTtlMs: 10_000 })).toBe(true);
      expect(await t.stateStore.getFireRecord(k1!.fireId)).toMatchObject({ state: 'running', expiresAt: claimed });
      await sleep(longTtl + 300);
      const expired = await t.stateStore.listExpiredFires(Date.now(), 10);
      expect(expired.map((r) => r.fireId)).toEqual([k1!.fireId]);
      // Lapsed: a start of a claim this old fails.
      const [late] = (await t.lockManager.claimDue([{ jobName: 'k1', instant: Date.now() + 70_000 }], a)).won;
      await lapse();
      expect(await t.lockManager.startFire(late!)).toBe(false);
    });

    it('claims many jobs over every bucket in one call', async () => {
      const names = Array.from({ length: 200 }, (_, i) => `job-${i}`);
      await t.stateStore.getMarks(names);
      const at = Date.now() + 60_000;
      const result = await t.lockManager.claimDue(
        names.map((jobName) => ({ jobName, instant: at })),
        a,
      );
      expect(result.won).toHaveLength(200);
      expect(new Set(result.won.map((w) => w.token)).size).toBeGreaterThan(1);
    });
  });
}
