import { describe, expect, it } from 'vitest';
import { ErrorCode, MemoryConfigStore, MemoryStore, type ConfigDocument } from '@sched/core';
import { checkConfigDocument, editSharedConfig } from '../src/index.js';

const meta = { nodeId: 'console', actor: 'alice', reason: 'test' };

describe('editSharedConfig', () => {
  it('reads, edits, checks and writes a new version with who made it', async () => {
    const store = new MemoryConfigStore(new MemoryStore());
    const first = await editSharedConfig(store, (doc) => ({ ...doc, jobs: { report: { cronSpec: '0 * * * * *' } } }), { meta });
    expect(first).toMatchObject({
      version: 1,
      actor: 'alice',
      reason: 'test',
      document: { jobs: { report: { cronSpec: '0 * * * * *' } } },
    });
    const second = await editSharedConfig(
      store,
      (doc, current) => {
        expect(current?.version).toBe(1);
        doc.jobs.report = { ...doc.jobs.report, paused: true };
        return doc;
      },
      { meta },
    );
    expect(second.document.jobs.report).toEqual({ cronSpec: '0 * * * * *', paused: true });
  });

  it('another writer first: the edit is applied again on their version, up to `retries` times', async () => {
    const store = new MemoryConfigStore(new MemoryStore());
    await store.compareAndSet({ jobs: { a: {} } }, 0, meta);
    let calls = 0;
    const saved = await editSharedConfig(
      store,
      (doc: ConfigDocument) => {
        calls++;
        // The first time, someone else writes between this read and the write.
        if (calls === 1) void store.compareAndSet({ jobs: { a: {}, b: { priority: 7 } } }, 1, { nodeId: 'other' });
        doc.jobs.c = { paused: true };
        return doc;
      },
      { meta },
    );
    expect(calls).toBe(2);
    expect(saved.version).toBe(3);
    expect(Object.keys(saved.document.jobs).sort()).toEqual(['a', 'b', 'c']);

    // With no retry left (or a reader that keeps seeing an old version), the conflict is the caller's to handle.
    const stale = await store.history(10).then((h) => h.find((v) => v.version === 1) ?? null);
    const staleReader = { get: async () => stale, compareAndSet: store.compareAndSet.bind(store) };
    await expect(editSharedConfig(staleReader, (doc) => doc, { meta, retries: 0 })).rejects.toMatchObject({
      code: ErrorCode.ConfigConflict,
    });
    await expect(editSharedConfig(staleReader, (doc) => doc, { meta, retries: 2 })).rejects.toMatchObject({
      code: ErrorCode.ConfigConflict,
    });
    expect((await store.get())?.version).toBe(3);
  });

  it('an invalid document is refused before anything is written, naming the path', async () => {
    const store = new MemoryConfigStore(new MemoryStore());
    await expect(
      editSharedConfig(store, () => ({ jobs: { report: { cronSpec: 'soon' } } }), { meta, api: 'pause report' }),
    ).rejects.toThrow(/pause report: jobs\.report\.cronSpec/);
    await expect(
      editSharedConfig(store, () => ({ jobs: { report: { priority: 'high' } } }) as never, { meta }),
    ).rejects.toMatchObject({
      code: ErrorCode.InvalidConfig,
    });
    expect(await store.get()).toBeNull();
    expect(() =>
      checkConfigDocument({ timezone: 'Europe/Berlin', jobs: { a: { cronSpec: '0 30 2 * * *' } } }, 'x'),
    ).not.toThrow();
  });
});
