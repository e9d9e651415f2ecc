import { describe, expect, it } from 'vitest';
import { SnapshotWriter } from './snapshot-writer.js';
import { MemorySnapshotRepository } from '../memory/snapshot-repository.js';
import { FakeClock } from '../testing/fake-clock.js';
import { silentLogger } from '../ports/logger.js';
import { StoreUnavailableError } from '../errors.js';
import type { ExecutionSnapshot } from '../model.js';
import type { SnapshotRepository } from '../ports/snapshot-repository.js';

const T0 = Date.UTC(2025, 0, 1);
const snap = (i: number): ExecutionSnapshot => ({
  executionId: `e${i}`,
  jobName: 'j',
  fireId: `j@${i}`,
  scheduledAt: T0 + i,
  startedAt: T0 + i,
  finishedAt: undefined,
  durationMs: undefined,
  status: 'running',
  nodeId: 'n',
  attempt: 1,
  kind: 'cron',
});

/** A repository that can be switched off, as a store that goes down. */
function flaky(inner: SnapshotRepository) {
  let down = false;
  let writes = 0;
  const guard = () => {
    if (down) throw new StoreUnavailableError('record', 'store down (test)');
    writes += 1;
  };
  const repo: SnapshotRepository = {
    record: async (s) => (guard(), inner.record(s)),
    update: async (id, p) => (guard(), inner.update(id, p)),
    get: (id) => inner.get(id),
    list: (f) => inner.list(f),
    getStatistics: (j, s, e) => inner.getStatistics(j, s, e),
  };
  return {
    repo,
    setDown: (d: boolean) => (down = d),
    get writes() {
      return writes;
    },
  };
}

describe('SnapshotWriter', () => {
  it('writes behind, in order; a run that ended before its record was written is written once', async () => {
    const clock = new FakeClock(T0);
    const inner = new MemorySnapshotRepository({ maxPerJob: 1_000 });
    const store = flaky(inner);
    const writer = new SnapshotWriter(store.repo, { clock, logger: silentLogger, onError: () => {} });
    writer.record(snap(1));
    writer.update('e1', { status: 'completed', durationMs: 5 });
    expect(await inner.get('e1')).toBeNull(); // nothing written synchronously
    await writer.drain();
    expect(await inner.get('e1')).toMatchObject({ status: 'completed', durationMs: 5 });
    expect(store.writes).toBe(1);
    writer.update('e1', { errorMessage: 'late note' });
    await writer.drain();
    expect(await inner.get('e1')).toMatchObject({ errorMessage: 'late note' });
    expect(store.writes).toBe(2);
  });

  it('buffers while the store fails, retries with backoff, and loses nothing once it is back', async () => {
    const clock = new FakeClock(T0);
    const inner = new MemorySnapshotRepository({ maxPerJob: 1_000 });
    const store = flaky(inner);
    const errors: Error[] = [];
    const writer = new SnapshotWriter(store.repo, { clock, logger: silentLogger, onError: (e) => errors.push(e) });
    store.setDown(true);
    for (let i = 0; i < 50; i++) writer.record(snap(i));
    await clock.advance(0);
    expect(writer.buffered).toBe(50);
    expect(errors[0]).toBeInstanceOf(StoreUnavailableError);
    await clock.advance(1_000);
    expect(writer.buffered).toBe(50);
    store.setDown(false);
    await clock.advance(30_000);
    expect(writer.buffered).toBe(0);
    expect((await inner.list({ limit: 1_000 })).items).toHaveLength(50);
    expect(writer.dropped).toBe(0);
  });

  it('past its bound drops the oldest writes, counted', async () => {
    const clock = new FakeClock(T0);
    const inner = new MemorySnapshotRepository({ maxPerJob: 1_000 });
    const store = flaky(inner);
    const writer = new SnapshotWriter(store.repo, { clock, logger: silentLogger, onError: () => {}, maxBuffered: 10 });
    store.setDown(true);
    writer.record(snap(0));
    await clock.advance(0);
    for (let i = 1; i < 25; i++) writer.record(snap(i));
    expect(writer.buffered).toBe(10);
    expect(writer.dropped).toBe(15);
    store.setDown(false);
    await clock.advance(30_000);
    const kept = (await inner.list({ limit: 1_000 })).items.map((s) => s.executionId).sort();
    expect(kept).toEqual(Array.from({ length: 10 }, (_, i) => `e${15 + i}`).sort());
  });

  it('writes through to a store in memory at once, and keeps the order once a write is queued', async () => {
    const clock = new FakeClock(T0);
    const repo = new MemorySnapshotRepository({ maxPerJob: 1_000 });
    const errors: Error[] = [];
    const writer = new SnapshotWriter(repo, { clock, logger: silentLogger, onError: (e) => errors.push(e) });
    writer.record(snap(1));
    writer.update('e1', { status: 'completed', durationMs: 5 });
    // No queue and nothing to drain: the store has it before the call returns.
    expect(writer.buffered).toBe(0);
    expect(await repo.get('e1')).toMatchObject({ status: 'completed', durationMs: 5 });

    // A synchronous write that throws (a bug of the store) is reported and queued; what follows
    // queues behind it, so the record still comes before its update.
    const recordNow = repo.recordNow as (s: ExecutionSnapshot) => void;
    let broken = true;
    (repo as { recordNow: unknown }).recordNow = (s: ExecutionSnapshot) => {
      if (broken) throw new Error('store bug');
      recordNow(s);
    };
    writer.record(snap(2));
    broken = false;
    writer.update('e2', { status: 'failed' });
    expect(errors.map((e) => e.message)).toEqual(['store bug']);
    expect(writer.buffered).toBe(1); // the update folded into the queued record
    await writer.drain();
    expect(await repo.get('e2')).toMatchObject({ status: 'failed' });
    // The queue empty again: back to writing through.
    writer.record(snap(3));
    expect(writer.buffered).toBe(0);
    expect(await repo.get('e3')).toMatchObject({ executionId: 'e3' });
  });
});
