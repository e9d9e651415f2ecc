import { describe, expect, it } from 'vitest';
import { ErrorCode, type ConfigDocument, type ConfigStore, type VersionedConfig } from '@sched/core';

export interface ConfigStoreUnderTest {
  /** A store on a fresh, empty configuration. */
  store: ConfigStore;
  /** Another node's view of the same configuration (its own connection where there are connections). */
  other: ConfigStore;
}

const doc = (spec: string): ConfigDocument => ({ jobs: { report: { cronSpec: spec, dependencies: [] } } });

/** Waits until `check` holds, polling every 20 ms; the bound is a generous margin, not a timing claim. */
async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The ConfigStore contract (core/ports/config-store.ts), for core's memory store and every adapter. */
export function configStoreContract(name: string, make: () => Promise<ConfigStoreUnderTest>): void {
  describe(`ConfigStore contract: ${name}`, () => {
    it('starts empty; each compare-and-set writes the next version with its meta; history is newest first', async () => {
      const { store, other } = await make();
      expect(await store.get()).toBeNull();
      expect(await store.history()).toEqual([]);
      const before = Date.now();
      const v1 = await store.compareAndSet(doc('0 * * * * *'), 0, { nodeId: 'n1', actor: 'alice', reason: 'first' });
      expect(v1).toMatchObject({ version: 1, nodeId: 'n1', actor: 'alice', reason: 'first', document: doc('0 * * * * *') });
      expect(v1.updatedAt).toBeGreaterThanOrEqual(before - 1_000);
      const v2 = await other.compareAndSet(doc('*/5 * * * * *'), 1, { nodeId: 'n2' });
      expect(v2).toMatchObject({ version: 2, nodeId: 'n2', document: doc('*/5 * * * * *') });
      expect(v2.actor).toBeUndefined();
      expect(await store.get()).toEqual(v2);
      expect((await store.history()).map((h) => h.version)).toEqual([2, 1]);
      expect(await store.history(1)).toEqual([v2]);
    });

    it('a change against a stale version is a conflict naming both versions, and changes nothing', async () => {
      const { store, other } = await make();
      await store.compareAndSet(doc('0 * * * * *'), 0, { nodeId: 'n1' });
      const error = await other.compareAndSet(doc('1 * * * * *'), 0, { nodeId: 'n2' }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: ErrorCode.ConfigConflict, expectedVersion: 0, actualVersion: 1 });
      expect((await store.get())?.document).toEqual(doc('0 * * * * *'));
      expect(await store.history()).toHaveLength(1);
    });

    it('of many changes made at once against one version, exactly one wins', async () => {
      const { store, other } = await make();
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 ? store : other).compareAndSet(doc(`${i} * * * * *`), 0, { nodeId: `n${i}` }),
        ),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: ErrorCode.ConfigConflict });
      expect((await store.get())?.version).toBe(1);
    });

    it('watch delivers the version stored at its start, then every later one once, in version order, whoever wrote it', async () => {
      const { store, other } = await make();
      await store.compareAndSet(doc('0 * * * * *'), 0, { nodeId: 'n1' });
      const seen: VersionedConfig[] = [];
      const stop = store.watch((c) => seen.push(c));
      // The watcher starts from the stored version 1, which it delivers first.
      await until(() => seen.length >= 1, 'the stored version');
      let version = 1;
      for (const spec of ['1 * * * * *', '2 * * * * *', '3 * * * * *']) {
        version = (await (version % 2 ? other : store).compareAndSet(doc(spec), version, { nodeId: 'x' })).version;
      }
      // Notices or, if one is lost, the 5 s poll deliver them; 30 s leaves room for a loaded CI machine
      // (one CI run on a 3-master cluster under load missed the 10 s bound).
      await until(() => seen.length >= 4, 'three changes', 30_000).catch(async (error: Error) => {
        // Say what the watcher had and what the store holds, so a failure here can be told apart.
        const stored = await store.get().catch((e: unknown) => String(e));
        throw new Error(
          `${error.message}: delivered ${JSON.stringify(seen.map((c) => c.version))}, stored ${JSON.stringify(typeof stored === 'string' ? stored : stored?.version)}`,
        );
      });
      await new Promise((r) => setTimeout(r, 100));
      stop();
      expect(seen.map((c) => c.version)).toEqual([1, 2, 3, 4]);
      expect(seen[3]?.document).toEqual(doc('3 * * * * *'));
      await store.compareAndSet(doc('4 * * * * *'), 4, { nodeId: 'x' });
      await new Promise((r) => setTimeout(r, 100));
      expect(seen).toHaveLength(4);
    });

    it('refuses an invalid document with a typed error naming the field, storing nothing', async () => {
      const { store } = await make();
      const bad = { jobs: { report: { cronSpec: 42 } } } as unknown as ConfigDocument;
      await expect(store.compareAndSet(bad, 0, { nodeId: 'n1' })).rejects.toMatchObject({
        code: ErrorCode.InvalidConfig,
        message: expect.stringMatching(/jobs\.report\.cronSpec/),
      });
      expect(await store.get()).toBeNull();
    });
  });
}
