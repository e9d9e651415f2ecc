import { describe, expect, it } from 'vitest';
import { FakeClock } from '../testing/fake-clock.js';
import { MemoryStore } from './store.js';
import { MemoryLockManager } from './lock-manager.js';
import { MemoryStateStore } from './state-store.js';
import { MemoryConfigStore } from './config-store.js';
import { MemoryPubSub, MemoryPubSubHub } from './pubsub.js';
import { MemoryNodeRegistry, MemoryRegistryHub } from './node-registry.js';
import { ConfigConflictError, ErrorCode, StoreUnavailableError, isSchedError } from '../errors.js';
import type { NodeInfo } from '../ports/node-registry.js';

const T0 = Date.UTC(2025, 0, 1);
const opts = { nodeId: 'n1', leaseTtlMs: 1_000 };

function stores() {
  const clock = new FakeClock(T0);
  const store = new MemoryStore({ clock });
  return { clock, store, locks: new MemoryLockManager(store), state: new MemoryStateStore(store) };
}

describe('MemoryLockManager: high-water-mark claims', () => {
  it('wins an instant once; an earlier or equal instant always loses', async () => {
    const { locks } = stores();
    const a = await locks.claimDue([{ jobName: 'j', instant: T0 + 2_000 }], opts);
    expect(a.won.map((w) => w.fireId)).toEqual([`j@${T0 + 2_000}`]);
    const b = await locks.claimDue(
      [
        { jobName: 'j', instant: T0 + 2_000 },
        { jobName: 'j', instant: T0 + 1_000 },
      ],
      { ...opts, nodeId: 'n2' },
    );
    expect(b.won).toEqual([]);
    expect(b.lost.map((f) => f.instant)).toEqual([T0 + 2_000, T0 + 1_000]);
  });

  it('claims many jobs in one call and reports a gap to the one winner', async () => {
    const { locks } = stores();
    await locks.claimDue(
      [
        { jobName: 'a', instant: T0 + 1_000 },
        { jobName: 'b', instant: T0 + 1_000 },
      ],
      opts,
    );
    const r = await locks.claimDue(
      [
        { jobName: 'a', instant: T0 + 5_000, prevInstant: T0 + 4_000 },
        { jobName: 'b', instant: T0 + 2_000, prevInstant: T0 + 1_000 },
        { jobName: 'c', instant: T0 + 2_000, prevInstant: T0 + 1_000 },
      ],
      opts,
    );
    expect(r.won.map((w) => [w.jobName, w.gapAfter])).toEqual([
      ['a', T0 + 1_000],
      ['b', undefined],
      ['c', undefined],
    ]);
    const again = await locks.claimDue([{ jobName: 'a', instant: T0 + 6_000, prevInstant: T0 + 5_000 }], {
      ...opts,
      nodeId: 'n2',
    });
    expect(again.won[0]?.gapAfter).toBeUndefined();
  });

  it('fencing tokens grow across claims and across a flush', async () => {
    const { locks, store, clock } = stores();
    const t1 = (await locks.claimDue([{ jobName: 'j', instant: T0 + 1 }], opts)).won[0]!.fencingToken;
    const t2 = (await locks.claimFire({ fireId: 'x', jobName: 'j' }, opts))!.fencingToken;
    await clock.advance(5_000);
    store.flush();
    // After the flush, the instant that may have run is lost to data loss; a later one is won.
    expect((await locks.claimDue([{ jobName: 'j', instant: T0 + 1 }], opts)).dataLoss).toHaveLength(1);
    const t3 = (await locks.claimDue([{ jobName: 'j', instant: T0 + 6_000 }], opts)).won[0]!.fencingToken;
    expect(t1).toBeLessThan(t2);
    expect(t2).toBeLessThan(t3);
    expect(Number.isSafeInteger(t3)).toBe(true);
  });
});

describe('MemoryLockManager: per-fire records and leases', () => {
  it('claimed → running → done; a done record is never claimed again within retention', async () => {
    const { locks, state, clock } = stores();
    const lease = (await locks.claimFire({ fireId: 'f', jobName: 'j' }, opts))!;
    expect(await locks.claimFire({ fireId: 'f', jobName: 'j' }, { ...opts, nodeId: 'n2' })).toBeNull();
    expect(await locks.startFire(lease)).toBe(true);
    expect((await state.getFireRecord('f'))?.state).toBe('running');
    expect(await locks.finishFire(lease, 'completed', { retentionMs: 60_000 })).toBe(true);
    await clock.advance(30_000);
    expect(await locks.claimFire({ fireId: 'f', jobName: 'j' }, opts)).toBeNull();
    expect(await state.getFireRecord('f')).toMatchObject({ state: 'done', status: 'completed' });
    await clock.advance(31_000);
    expect(await state.getFireRecord('f')).toBeNull();
  });

  it('a claim that lapses before it started is taken over; the old owner can no longer start it', async () => {
    const { locks, state, clock } = stores();
    const first = (await locks.claimFire({ fireId: 'f', jobName: 'j' }, opts))!;
    await clock.advance(1_500);
    expect((await state.listExpiredFires(clock.now(), 10)).map((r) => r.fireId)).toEqual(['f']);
    const second = (await locks.claimFire({ fireId: 'f', jobName: 'j' }, { ...opts, nodeId: 'n2' }))!;
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    expect(await locks.startFire(first)).toBe(false);
    expect(await locks.renewFire(first, opts)).toBe(false);
    expect(await locks.startFire(second)).toBe(true);
  });

  it('a running fire whose lease lapsed is taken only for recoverAbandoned', async () => {
    const { locks, clock } = stores();
    const first = (await locks.claimFire({ fireId: 'f', jobName: 'j' }, opts))!;
    await locks.startFire(first);
    await clock.advance(2_000);
    expect(await locks.claimFire({ fireId: 'f', jobName: 'j' }, { ...opts, nodeId: 'n2' })).toBeNull();
    expect(
      await locks.claimFire({ fireId: 'f', jobName: 'j', recoverAbandoned: true }, { ...opts, nodeId: 'n2' }),
    ).not.toBeNull();
    expect(await locks.finishFire(first, 'completed', { retentionMs: 1_000 })).toBe(false);
  });

  it('renewal keeps a lease; release gives a claim back to the sweep', async () => {
    const { locks, state, clock } = stores();
    const lease = (await locks.claimFire({ fireId: 'f', jobName: 'j' }, opts))!;
    await clock.advance(800);
    expect(await locks.renewFire(lease, opts)).toBe(true);
    await clock.advance(800);
    expect(await state.listExpiredFires(clock.now(), 10)).toEqual([]);
    await locks.releaseFire(lease);
    expect((await state.listExpiredFires(clock.now(), 10)).map((r) => r.fireId)).toEqual(['f']);
  });

  it('named leases: one holder, compare-and-delete release, expiry', async () => {
    const { locks, clock } = stores();
    const a = (await locks.acquireLease('overlap:j', { ttlMs: 1_000, nodeId: 'n1' }))!;
    expect(await locks.acquireLease('overlap:j', { ttlMs: 1_000, nodeId: 'n2' })).toBeNull();
    await clock.advance(1_001);
    const b = (await locks.acquireLease('overlap:j', { ttlMs: 1_000, nodeId: 'n2' }))!;
    expect(b.fencingToken).toBeGreaterThan(a.fencingToken);
    expect(await a.renew()).toBe(false);
    expect(await a.release()).toBe(false);
    expect(await b.renew()).toBe(true);
    expect(await b.release()).toBe(true);
    expect(await locks.acquireLease('overlap:j', { ttlMs: 1_000, nodeId: 'n1' })).not.toBeNull();
  });

  it('a store marked down rejects with StoreUnavailableError', async () => {
    const { locks, store } = stores();
    store.setAvailable(false);
    await expect(locks.claimDue([{ jobName: 'j', instant: 1 }], opts)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(locks.acquireLease('k', { ttlMs: 1, nodeId: 'n' })).rejects.toMatchObject({ code: ErrorCode.StoreUnavailable });
  });
});

describe('MemoryStateStore', () => {
  it('marks only move forward', async () => {
    const { state } = stores();
    expect(await state.advanceMark('j', 10)).toBe(10);
    expect(await state.advanceMark('j', 5)).toBe(10);
    expect(await state.getMarks(['j', 'k'])).toEqual(new Map([['j', 10]]));
  });

  it('run state: set-if-absent decides once; runs expire', async () => {
    const { state, clock } = stores();
    expect(await state.setRunFieldIfAbsent('r', 'B', 'n1', 1_000)).toBe(true);
    expect(await state.setRunFieldIfAbsent('r', 'B', 'n2', 1_000)).toBe(false);
    await state.setRunFields('r', { A: 'completed' }, 1_000);
    expect(await state.getRunState('r')).toEqual({ B: 'n1', A: 'completed' });
    await clock.advance(1_001);
    expect(await state.getRunState('r')).toBeNull();
  });

  it('catch-up lists survive until every instant is acknowledged', async () => {
    const { state } = stores();
    await state.saveCatchup({
      jobName: 'j',
      policy: 'delayed',
      instants: [1, 2, 3],
      droppedCount: 0,
      createdBy: 'n1',
      createdAt: 0,
    });
    await state.ackCatchup('j', 2);
    expect((await state.getCatchup('j'))?.instants).toEqual([1, 3]);
    await state.ackCatchup('j', 1);
    await state.ackCatchup('j', 3);
    expect(await state.getCatchup('j')).toBeNull();
  });
});

describe('MemoryConfigStore', () => {
  it('versions, compare-and-set, history and watch', async () => {
    const { store } = stores();
    const config = new MemoryConfigStore(store);
    const seen: number[] = [];
    config.watch((c) => seen.push(c.version));
    const v1 = await config.compareAndSet({ jobs: { a: { cronSpec: '* * * * * *' } } }, 0, { nodeId: 'n1', actor: 'alice' });
    expect(v1).toMatchObject({ version: 1, nodeId: 'n1', actor: 'alice', updatedAt: T0 });
    const err = await config.compareAndSet({ jobs: {} }, 0, { nodeId: 'n2' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigConflictError);
    expect((err as ConfigConflictError).message).toBe(
      'sched: compareAndSet: configuration changed concurrently (expected version 0, found 1)',
    );
    await config.compareAndSet({ jobs: {} }, 1, { nodeId: 'n2' });
    expect((await config.get())?.version).toBe(2);
    expect((await config.history()).map((c) => c.version)).toEqual([2, 1]);
    await Promise.resolve();
    expect(seen).toEqual([1, 2]);
  });
});

describe('MemoryPubSub', () => {
  it('delivers JSON copies asynchronously to every subscriber of the channel; a throwing handler is isolated', async () => {
    const hub = new MemoryPubSubHub();
    const a = new MemoryPubSub({ hub });
    const b = new MemoryPubSub({ hub });
    const got: unknown[] = [];
    await a.subscribe('ch', () => {
      throw new Error('handler bug');
    });
    const off = await b.subscribe('ch', (m) => got.push(m));
    const msg = { n: 1, when: new Date(0) };
    const sent = a.publish('ch', msg);
    expect(got).toEqual([]); // never delivered inside publish()
    await sent;
    await new Promise((r) => setImmediate(r));
    expect(got).toEqual([{ n: 1, when: '1970-01-01T00:00:00.000Z' }]);
    await off();
    await a.publish('ch', { n: 2 });
    await new Promise((r) => setImmediate(r));
    expect(got).toHaveLength(1);
    hub.setAvailable(false);
    await expect(a.publish('ch', {})).rejects.toSatisfy((e: unknown) => isSchedError(e, ErrorCode.StoreUnavailable));
  });
});

describe('MemoryNodeRegistry', () => {
  const info = { jobs: ['a'], jobsHash: 'h', version: '0.0.0', clockOffsetMs: 0 };

  it('join and leave are announced at once; a silent node leaves after its TTL', async () => {
    const clock = new FakeClock(T0);
    const hub = new MemoryRegistryHub();
    const make = (nodeId: string) => new MemoryNodeRegistry({ nodeId, clock, hub, heartbeatIntervalMs: 100, nodeTtlMs: 300 });
    const n1 = make('n1');
    const n2 = make('n2');
    const n3 = make('n3');
    const events: string[] = [];
    n1.on('join', (n: NodeInfo) => events.push(`join ${n.nodeId}`));
    n1.on('leave', (n: NodeInfo) => events.push(`leave ${n.nodeId}`));
    await n1.register(info);
    await n2.register(info);
    await n3.register(info);
    await clock.advance(0);
    expect(events).toEqual(['join n2', 'join n3']);
    expect((await n1.getAllNodes()).map((n) => n.nodeId)).toEqual(['n1', 'n2', 'n3']);
    await n2.deregister();
    await clock.advance(0);
    expect(events).toEqual(['join n2', 'join n3', 'leave n2']);
    n3.crash();
    await clock.advance(250);
    expect((await n1.getAllNodes()).map((n) => n.nodeId)).toEqual(['n1', 'n3']);
    await clock.advance(200);
    expect((await n1.getAllNodes()).map((n) => n.nodeId)).toEqual(['n1']);
    expect(events).toEqual(['join n2', 'join n3', 'leave n2', 'leave n3']);
    await n1.deregister();
  });

  it('refuses a node id held by a live instance; takes over a dead one', async () => {
    const clock = new FakeClock(T0);
    const hub = new MemoryRegistryHub();
    const a = new MemoryNodeRegistry({ nodeId: 'same', clock, hub, heartbeatIntervalMs: 100, nodeTtlMs: 300 });
    const b = new MemoryNodeRegistry({ nodeId: 'same', clock, hub, heartbeatIntervalMs: 100, nodeTtlMs: 300 });
    await a.register(info);
    await expect(b.register(info)).rejects.toThrow(/node id "same" is held by a live instance/);
    a.crash();
    await clock.advance(400);
    await b.register(info);
    expect((await b.getAllNodes()).map((n) => n.nodeId)).toEqual(['same']);
    await b.deregister();
  });
});
