import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, Redis } from 'ioredis';
import { MemorySchedulerCache } from '@sched/core';
import { RedisServer, canRunRedis, startRedisCluster, type RedisClusterInfo } from '@sched/testkit';
import { RedisConnection } from '@sched/redis';
import type { FireLease } from '@sched/core';
import { RedisLockManager, RedisStateStore } from '../src/index.js';
import { lockContract } from './contract.js';

let memory = new MemorySchedulerCache();
lockContract('memory (core)', () => ({
  get lockManager() {
    return memory.lockManager;
  },
  get stateStore() {
    return memory.stateStore;
  },
  flush: async () => memory.store.flush(),
  reset: async () => {
    memory = new MemorySchedulerCache();
  },
}));

describe.skipIf(!canRunRedis())('on Redis', () => {
  let server: RedisServer;
  let client: Redis;
  let prefixes = 0;
  let connection: RedisConnection;
  beforeAll(async () => {
    server = await RedisServer.start();
    client = new Redis(server.url);
  });
  afterAll(async () => {
    client?.disconnect();
    await server?.dispose();
  });
  lockContract('one redis-server', () => ({
    get lockManager() {
      return new RedisLockManager(connection);
    },
    get stateStore() {
      return new RedisStateStore(connection);
    },
    flush: async () => {
      await client.flushall();
    },
    reset: async () => {
      connection = new RedisConnection(client, { keyPrefix: `t${++prefixes}` });
    },
  }));

  it('keeps memory to what is in flight: finished records are purged after their retention as claims go on', async () => {
    const conn = new RedisConnection(client, { keyPrefix: 'purge' });
    const locks = new RedisLockManager(conn);
    await new RedisStateStore(conn).getMarks(['x']);
    const jobs = Array.from({ length: 500 }, (_, i) => `p${i}`);
    let instant = Date.now() + 60_000;
    for (let round = 0; round < 5; round++) {
      const { won } = await locks.claimDue(
        jobs.map((jobName) => ({ jobName, instant, startNow: true })),
        { nodeId: 'n', leaseTtlMs: 5_000 },
      );
      expect(won).toHaveLength(500);
      await Promise.all(won.map((w) => locks.finishFire(w, 'completed', { retentionMs: 50 })));
      await new Promise((r) => setTimeout(r, 100));
      instant += 1_000;
    }
    // Each batch of finishes purged the batch before it: only the last batch remains.
    expect(await client.hlen(conn.bucketKey(0, 'fires'))).toBe(500);
    expect(await client.zcard(conn.bucketKey(0, 'done'))).toBe(500);
    expect(await client.zcard(conn.bucketKey(0, 'live'))).toBe(0);
  });

  it('keeps a small marks hash a hashtable (a listpack makes a claim of n jobs O(n²)), also one written before and one lost', async () => {
    const conn = new RedisConnection(client, { keyPrefix: 'encoding' });
    const locks = new RedisLockManager(conn);
    const store = new RedisStateStore(conn);
    const marks = conn.bucketKey(0, 'marks');
    const compact = ['listpack', 'ziplist']; // Redis 7, Redis 6
    const a = { nodeId: 'a', leaseTtlMs: 5_000 };
    const jobs = ['m1', 'm2', 'm3'];
    const claim = async (instant: number) =>
      (
        await locks.claimDue(
          jobs.map((jobName) => ({ jobName, instant })),
          a,
        )
      ).won.map((w) => w.jobName);
    let instant = Date.now() + 60_000;
    // Marks an older version wrote: a small hash, so a listpack.
    await store.getMarks(jobs);
    await client.hset(marks, 'm1', instant - 1_000);
    expect(compact).toContain(await client.object('ENCODING', marks));
    expect(await claim(instant)).toEqual(jobs);
    expect(await client.object('ENCODING', marks)).toBe('hashtable');
    // The field is no job's: the marks read as before, and the next instant is won as usual.
    expect(await store.getMarks(jobs)).toEqual(new Map(jobs.map((j) => [j, instant])));
    expect(await claim(instant)).toEqual([]);
    expect(await claim(++instant)).toEqual(jobs);
    expect(await client.hlen(marks)).toBe(jobs.length + 1);
    // Lost data: the hash is written afresh by the first claim after the loss, a hashtable again.
    await client.del(marks);
    await client.hset(marks, 'm1', instant);
    expect(compact).toContain(await client.object('ENCODING', marks));
    expect(await claim(++instant)).toEqual(jobs);
    expect(await client.object('ENCODING', marks)).toBe('hashtable');
    // A lost claim (nothing written) converts it too.
    await client.del(marks);
    await client.hset(marks, 'm1', instant + 10_000, 'm2', instant + 10_000, 'm3', instant + 10_000);
    expect(await claim(++instant)).toEqual([]);
    expect(await client.object('ENCODING', marks)).toBe('hashtable');
  });

  describe('a claim that carries its announcement (ClaimOptions.announce)', () => {
    const published = async () => Number(/cmdstat_publish:calls=(\d+)/.exec(await client.info('commandstats'))?.[1] ?? 0);

    it('publishes it after its writes when it is one call on the same client, won or lost alike', async () => {
      const conn = new RedisConnection(client, { keyPrefix: 'announce1' });
      const locks = new RedisLockManager(conn);
      await new RedisStateStore(conn).getMarks(['x']); // the namespace in use before the instant
      const channel = conn.key('scheduler:claimed');
      const sub = new Redis(server.url);
      const heard: string[] = [];
      // On receipt the claim is already written: another node's claim of the same fires loses them.
      const lostOnReceipt = new Promise<number>((resolve) =>
        sub.on('message', (_c: string, m: string) => {
          heard.push(m);
          if (heard.length === 1) {
            void locks.claimDue(due, { nodeId: 'n2', leaseTtlMs: 30_000 }).then((r) => resolve(r.lost.length));
          }
        }),
      );
      await sub.subscribe(channel);
      const instant = Date.now() + 60_000;
      const due = [
        { jobName: 'a', instant },
        { jobName: 'b', instant },
      ];
      const payload = JSON.stringify({ v: 1, msg: 'claimed: ü' });
      const first = await locks.claimDue(due, {
        nodeId: 'n1',
        leaseTtlMs: 30_000,
        announce: () => ({ transport: client, channel, payload }),
      });
      expect(first.won).toHaveLength(2);
      expect(first.announced).toBe(true);
      expect(await lostOnReceipt).toBe(2);
      expect(heard).toEqual([payload]);
      // A claim that loses every fire settled them too: announced the same.
      const again = await locks.claimDue(due, {
        nodeId: 'n3',
        leaseTtlMs: 30_000,
        announce: () => ({ transport: client, channel, payload: 'p2' }),
      });
      expect(again.lost).toHaveLength(2);
      expect(again.announced).toBe(true);
      sub.disconnect();
    });

    it('leaves it to the caller on another client, over two buckets, or when a fire was lost to data loss', async () => {
      const before = await published();
      const other = new Redis(server.url);
      const instant = Date.now() + 60_000;
      const one = new RedisConnection(client, { keyPrefix: 'announce2' });
      await new RedisStateStore(one).getMarks(['x']);
      const channel = one.key('scheduler:claimed');
      // The message is encoded only when the call could carry it: `encoded` counts.
      let encoded = 0;
      const message = { transport: client, channel, payload: 'never sent' };
      const announce = () => {
        encoded += 1;
        return message;
      };
      // Another client may be another server: not the subscribers' transport.
      const elsewhere = await new RedisLockManager(one).claimDue([{ jobName: 'a', instant }], {
        nodeId: 'n1',
        leaseTtlMs: 30_000,
        announce: () => ({ ...announce(), transport: other }),
      });
      expect(elsewhere.won).toHaveLength(1);
      expect(elsewhere.announced).toBeUndefined();
      expect(encoded).toBe(1);
      // Two buckets are two calls: the message names the fires of both.
      const four = new RedisConnection(client, { keyPrefix: 'announce3', buckets: 4 });
      await new RedisStateStore(four).getMarks(['x']);
      const names = Array.from({ length: 20 }, (_, i) => `j${i}`);
      const pair = [names[0] as string, names.find((n) => four.bucketOf(n) !== four.bucketOf(names[0] as string)) as string];
      const split = await new RedisLockManager(four).claimDue(
        pair.map((jobName) => ({ jobName, instant })),
        { nodeId: 'n1', leaseTtlMs: 30_000, announce },
      );
      expect(split.won).toHaveLength(2);
      expect(split.announced).toBeUndefined();
      expect(encoded).toBe(1); // two calls can carry nothing: not even encoded
      // A fresh namespace refuses an instant before its first use (lost to data loss): everyone sweeps.
      const fresh = new RedisConnection(client, { keyPrefix: 'announce4' });
      const lost = await new RedisLockManager(fresh).claimDue(
        [
          { jobName: 'k', instant: Date.now() - 5_000 },
          { jobName: 'a', instant },
        ],
        { nodeId: 'n1', leaseTtlMs: 30_000, announce },
      );
      expect(lost.dataLoss).toHaveLength(1);
      expect(lost.won).toHaveLength(1);
      expect(lost.announced).toBeUndefined();
      expect(await published()).toBe(before);
      other.disconnect();
    });
  });

  describe('claim batches: the fires one claim call wins, under one lease', () => {
    const ttl = 400;
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    let n = 0;
    const setup = async () => {
      const conn = new RedisConnection(client, { keyPrefix: `batch${++n}` });
      const store = new RedisStateStore(conn);
      await store.getMarks(['x']);
      const fields = () => client.hlen(conn.bucketKey(0, 'fires'));
      const live = () => client.zcard(conn.bucketKey(0, 'live'));
      return { conn, locks: new RedisLockManager(conn), store, fields, live };
    };

    it('stores one batch, not a record a fire; shares its lease; is taken over fire by fire; goes when its last fire leaves', async () => {
      const { conn, locks, store, fields, live } = await setup();
      const instant = Date.now() + 60_000;
      const a = { nodeId: 'a', leaseTtlMs: ttl };
      const { won } = await locks.claimDue(
        ['b1', 'b2', 'b3'].map((jobName) => ({ jobName, instant })),
        a,
      );
      const [w1, w2, w3] = ['b1', 'b2', 'b3'].map((j) => won.find((w) => w.jobName === j)!);
      expect(await locks.startFire(w1!)).toBe(true);
      expect(await locks.startFire(w1!)).toBe(false);
      // The batch's jobs, their offsets and their states: three fields for any number of fires; one lease,
      // one entry in the batches' index.
      expect(await fields()).toBe(3);
      expect(await client.zcard(conn.bucketKey(0, 'batches'))).toBe(1);
      expect(await live()).toBe(1);
      expect([w2!.fencingToken - w1!.fencingToken, w3!.fencingToken - w2!.fencingToken]).toEqual([1, 1]);
      const r1 = await store.getFireRecord(w1!.fireId);
      expect(r1).toMatchObject({ state: 'running', nodeId: 'a', fencingToken: w1!.fencingToken, token: w1!.token });
      expect(await store.getFireRecord(w3!.fireId)).toMatchObject({ state: 'claimed', fencingToken: w3!.fencingToken });
      // One renewal renews the lot.
      await sleep(50);
      expect(await locks.renewFire(w2!, { leaseTtlMs: ttl })).toBe(true);
      expect((await store.getFireRecord(w1!.fireId))!.expiresAt).toBeGreaterThan(r1!.expiresAt);
      // A token is taken only with the fire it was given for (b2's id with b3's token: no).
      expect(
        await locks.finishFire({ ...w2!, token: w3!.token, fencingToken: w3!.fencingToken }, 'completed', { retentionMs: 0 }),
      ).toBe(false);
      expect(await locks.finishFire(w1!, 'completed', { retentionMs: 0 })).toBe(true);
      expect(await locks.finishFire(w2!, 'completed', { retentionMs: 10_000 })).toBe(true);
      expect(await store.getFireRecord(w1!.fireId)).toBeNull();
      expect(await store.getFireRecord(w2!.fireId)).toMatchObject({ state: 'done', status: 'completed', nodeId: 'a' });
      // Its node stops renewing: the fire still in the batch lapses and is taken over by id.
      await sleep(ttl * 2 + 50);
      const expired = await store.listExpiredFires(Date.now(), 10);
      expect(expired.map((r) => [r.fireId, r.state, r.fencingToken])).toEqual([[w3!.fireId, 'claimed', w3!.fencingToken]]);
      const taken = await locks.claimFire(
        { fireId: w3!.fireId, jobName: 'b3', takeover: true },
        { nodeId: 'b', leaseTtlMs: 10_000 },
      );
      expect(taken!.fencingToken).toBeGreaterThan(w3!.fencingToken);
      expect(await locks.claimFire({ fireId: w3!.fireId, jobName: 'b3', takeover: true }, a)).toBeNull();
      // The batch is gone with its last fire: b2's kept record and b3's own record remain.
      expect(await fields()).toBe(2);
      expect(await live()).toBe(1);
      expect(await locks.finishFire(w3!, 'completed', { retentionMs: 0 })).toBe(false);
      expect(await locks.finishFire(taken!, 'completed', { retentionMs: 0 })).toBe(true);
      expect(await fields()).toBe(1);
      expect(await live()).toBe(0);
      expect(await client.zcard(conn.bucketKey(0, 'batches'))).toBe(0);
    });

    it("finds a fire in its batch after its job's mark moved on (a run longer than its period), and a release gives it a lease of its own", async () => {
      const { locks, store, fields, live } = await setup();
      const t1 = Date.now() + 60_000;
      const a = { nodeId: 'a', leaseTtlMs: 10_000 };
      const [first] = (await locks.claimDue([{ jobName: 'long', instant: t1, startNow: true }], a)).won;
      const [second] = (
        await locks.claimDue(
          [
            { jobName: 'long', instant: t1 + 1_000, prevInstant: t1 },
            { jobName: 'other', instant: t1 + 1_000 },
          ],
          a,
        )
      ).won;
      expect(await store.getFireRecord(first!.fireId)).toMatchObject({ state: 'running', fencingToken: first!.fencingToken });
      // Claimed by anyone else, by id: it is live in its batch, so no.
      expect(await locks.claimFire({ fireId: first!.fireId, jobName: 'long' }, { nodeId: 'b', leaseTtlMs: 1_000 })).toBeNull();
      await locks.releaseFire(second!);
      expect(await store.getFireRecord(second!.fireId)).toMatchObject({ state: 'claimed', nodeId: 'a' });
      const lapsed = await store.listExpiredFires(Date.now() + 1, 10);
      expect(lapsed.map((r) => r.fireId)).toEqual([second!.fireId]);
      expect(await locks.finishFire(first!, 'completed', { retentionMs: 0 })).toBe(true);
      expect(
        await locks.claimFire({ fireId: second!.fireId, jobName: 'long', takeover: true }, { nodeId: 'b', leaseTtlMs: 1_000 }),
      ).not.toBeNull();
      // One fire ('other') is still in the second batch: its three fields, and second's own record.
      expect(await fields()).toBe(4);
      expect(await live()).toBe(2);
    });

    it('lists no more lapsed fires than asked, a batch counting each fire it holds', async () => {
      const { locks, store } = await setup();
      const jobs = ['l1', 'l2', 'l3', 'l4', 'l5'];
      const { won } = await locks.claimDue(
        jobs.map((jobName) => ({ jobName, instant: Date.now() + 60_000 })),
        { nodeId: 'a', leaseTtlMs: ttl },
      );
      expect(won).toHaveLength(5);
      await sleep(ttl * 2 + 50);
      expect((await store.listExpiredFires(Date.now(), 2)).map((r) => r.fireId)).toEqual([won[0]!.fireId, won[1]!.fireId]);
      expect(await store.listExpiredFires(Date.now(), 10)).toHaveLength(5);
    });

    it('keeps many small batches of one instant apart (a claim a fire): each fire found, updated and gone', async () => {
      const { conn, locks, store, fields } = await setup();
      const instant = Date.now() + 60_000;
      const jobs = Array.from({ length: 300 }, (_, i) => `s${i}`);
      const won = (
        await Promise.all(
          jobs.map((jobName, i) => locks.claimDue([{ jobName, instant }], { nodeId: `n${i % 3}`, leaseTtlMs: 10_000 })),
        )
      ).map((r) => r.won[0]!);
      expect(await client.zcard(conn.bucketKey(0, 'batches'))).toBe(300);
      expect(await store.getFireRecord(won[150]!.fireId)).toMatchObject({ nodeId: 'n0', fencingToken: won[150]!.fencingToken });
      // One update call for all (one turn): each fire in its own batch; another node's token is no one's.
      const started = await Promise.all(
        won.map((w, i) => locks.startFire(i === 7 ? { ...w, token: `n2:${w.fencingToken}` } : w)),
      );
      expect(started.filter(Boolean)).toHaveLength(299);
      expect(started[7]).toBe(false);
      const finished = await Promise.all(won.map((w) => locks.finishFire(w, 'completed', { retentionMs: 0 })));
      expect(finished.every(Boolean)).toBe(true);
      expect(await fields()).toBe(0);
      expect(await client.zcard(conn.bucketKey(0, 'batches'))).toBe(0);
    });

    it('splits a batch where the fencing counter starts a new epoch, each fire keeping its own token', async () => {
      const { conn, locks, store, fields } = await setup();
      await client.hset(conn.bucketKey(0, 'meta'), 'ctr', 2 ** 20 - 3);
      const jobs = ['e1', 'e2', 'e3', 'e4', 'e5'];
      const { won } = await locks.claimDue(
        jobs.map((jobName) => ({ jobName, instant: Date.now() + 60_000 })),
        { nodeId: 'a', leaseTtlMs: 10_000 },
      );
      expect(won.map((w) => w.jobName)).toEqual(jobs);
      const tokens = won.map((w) => w.fencingToken);
      expect([...tokens].sort((x, y) => x - y)).toEqual(tokens);
      expect(Math.floor(tokens[4]! / 2 ** 20)).toBe(Math.floor(tokens[0]! / 2 ** 20) + 1);
      for (const w of won) expect((await store.getFireRecord(w.fireId))?.fencingToken).toBe(w.fencingToken);
      for (const w of won) expect(await locks.finishFire(w, 'completed', { retentionMs: 0 })).toBe(true);
      expect(await fields()).toBe(0);
    });

    describe("runs: a batch's fires updated in one turn go as one entry, checked whole", () => {
      /** The update calls' entries (fire id or run of ids, owner), per call. */
      const watchUpdates = (conn: RedisConnection) => {
        const calls: string[][] = [];
        const run = conn.run.bind(conn);
        conn.run = (api, script, keys, args) => {
          if (api === 'updateFires') {
            const entries: string[] = [];
            for (let i = 0; i < args.length; i += 4 + 2 * Number(args[i + 3])) {
              for (let j = 0; j < Number(args[i + 3]); j++) entries.push(String(args[i + 4 + 2 * j]));
            }
            calls.push(entries);
          }
          return run(api, script, keys, args);
        };
        return calls;
      };
      const claim = async (locks: RedisLockManager, jobs: string[], instant: number, nodeId = 'a') =>
        (
          await locks.claimDue(
            jobs.map((jobName) => ({ jobName, instant })),
            { nodeId, leaseTtlMs: 10_000 },
          )
        ).won;
      const finishAll = (locks: RedisLockManager, leases: FireLease[]) =>
        Promise.all(leases.map((w) => locks.finishFire(w, 'completed', { retentionMs: 0 })));

      it('starts and finishes fires that came back out of order as one run each, the batch gone with them', async () => {
        const { conn, locks, store, fields } = await setup();
        const calls = watchUpdates(conn);
        const won = await claim(locks, ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'], Date.now() + 60_000);
        expect(await Promise.all([...won].reverse().map((w) => locks.startFire(w)))).toEqual(won.map(() => true));
        expect(calls).toEqual([[won.map((w) => w.fireId).join('\u001f')]]);
        for (const w of won) expect(await store.getFireRecord(w.fireId)).toMatchObject({ state: 'running' });
        expect(await Promise.all(won.map((w) => locks.startFire(w)))).toEqual(won.map(() => false));
        expect(await finishAll(locks, [won[4]!, won[0]!, won[5]!, won[1]!, won[3]!, won[2]!])).toEqual(won.map(() => true));
        expect(calls[2]).toHaveLength(1);
        expect(await fields()).toBe(0);
        // Started and finished in the same turn: two runs over the same fires, in that order.
        const more = await claim(locks, ['r1', 'r2', 'r3'], Date.now() + 61_000);
        const both = await Promise.all([
          ...more.map((w) => locks.startFire(w)),
          ...more.map((w) => locks.finishFire(w, 'completed', { retentionMs: 0 })),
        ]);
        expect(both).toEqual([true, true, true, true, true, true]);
        expect(await fields()).toBe(0);
      });

      it('answers the callback forms (startFireThen, finishFireThen) as the promise forms, in the same call, with what was given', async () => {
        const { conn, locks, store, fields } = await setup();
        const calls = watchUpdates(conn);
        const won = await claim(locks, ['c1', 'c2', 'c3', 'c4'], Date.now() + 60_000);
        const told: Array<[string, boolean, unknown]> = [];
        const done = (ref: string, changed: boolean, error: unknown) => told.push([ref, changed, error]);
        // Two by callback, two by promise, and a forged token by callback: one turn, one call, one run.
        locks.startFireThen(won[0]!, 'first', done);
        const promised = Promise.all([locks.startFire(won[1]!), locks.startFire(won[2]!)]);
        locks.startFireThen(won[3]!, 'fourth', done);
        locks.startFireThen({ ...won[3]!, token: `a:${won[3]!.fencingToken + 1}` }, 'forged', done);
        expect(told).toEqual([]); // never before the call returned
        expect(await promised).toEqual([true, true]);
        expect(told).toEqual([
          ['first', true, undefined],
          ['fourth', true, undefined],
          ['forged', false, undefined],
        ]);
        expect(calls).toHaveLength(1);
        for (const w of won) expect(await store.getFireRecord(w.fireId)).toMatchObject({ state: 'running' });
        told.length = 0;
        await new Promise<void>((resolve) => {
          let left = won.length;
          for (const w of won) {
            locks.finishFireThen(w, 'completed', { retentionMs: 0 }, w.jobName, (ref, changed, error) => {
              done(ref, changed, error);
              if (--left === 0) resolve();
            });
          }
        });
        expect(told).toEqual(won.map((w) => [w.jobName, true, undefined]));
        expect(await fields()).toBe(0);
      });

      it('tells every callback of a batch whose call failed, with the error, as the promise forms reject', async () => {
        const own = await RedisServer.start();
        const ownClient = new Redis(own.url, { maxRetriesPerRequest: 0 });
        ownClient.on('error', () => undefined); // refused reconnections once the server is gone
        try {
          await ownClient.ping();
          const conn = new RedisConnection(ownClient, { keyPrefix: 'fail', commandTimeoutMs: 500 });
          const locks = new RedisLockManager(conn);
          const won = await claim(locks, ['f1', 'f2'], Date.now() + 60_000);
          await own.kill();
          const told = await new Promise<Array<[number, boolean, unknown]>>((resolve) => {
            const out: Array<[number, boolean, unknown]> = [];
            won.forEach((w, i) =>
              locks.finishFireThen(w, 'completed', { retentionMs: 0 }, i, (ref, changed, error) => {
                out.push([ref, changed, error]);
                if (out.length === won.length) resolve(out);
              }),
            );
          });
          expect(told.map(([ref, changed]) => [ref, changed])).toEqual([
            [0, false],
            [1, false],
          ]);
          for (const [, , error] of told) expect(error).toBeInstanceOf(Error);
          await expect(locks.startFire(won[0]!)).rejects.toBeInstanceOf(Error);
        } finally {
          ownClient.disconnect();
          await own.dispose();
        }
      });

      it('goes fire by fire where a run is off (a fire taken over, forged ids); a run over two batches goes in two parts', async () => {
        const { conn, locks, store, fields } = await setup();
        const calls = watchUpdates(conn);
        const instant = Date.now() + 60_000;
        const won = await claim(locks, ['t1', 't2', 't3', 't4'], instant);
        // t3 given back and taken over by b: a letter of its own in the batch, and b's record.
        await locks.releaseFire(won[2]!);
        const taken = await locks.claimFire(
          { fireId: won[2]!.fireId, jobName: 't3', takeover: true },
          { nodeId: 'b', leaseTtlMs: 10_000 },
        );
        expect(taken).not.toBeNull();
        calls.length = 0;
        expect(await finishAll(locks, won)).toEqual([true, true, false, true]);
        expect(calls).toEqual([[won.map((w) => w.fireId).join('\u001f')]]);
        expect(await store.getFireRecord(won[2]!.fireId)).toMatchObject({ state: 'claimed', nodeId: 'b' });
        expect(await locks.finishFire(taken!, 'completed', { retentionMs: 0 })).toBe(true);
        expect(await fields()).toBe(0);

        // Each token with another fire's id (consecutive tokens, so sent as a run): neither is taken.
        const [f1, f2, f3] = await claim(locks, ['f1', 'f2', 'f3'], instant + 1_000);
        const forged = await finishAll(locks, [{ ...f1!, fireId: f2!.fireId }, { ...f2!, fireId: f1!.fireId }, f3!]);
        expect(forged).toEqual([false, false, true]);
        expect(await finishAll(locks, [f1!, f2!])).toEqual([true, true]);
        expect(await fields()).toBe(0);

        // Two claims of one node at one instant: consecutive tokens in two batches, sent as one run (split at the first's end).
        const first = await claim(locks, ['g1', 'g2'], instant + 2_000);
        const second = await claim(locks, ['g3', 'g4'], instant + 2_000);
        expect(second[0]!.fencingToken).toBe(first[1]!.fencingToken + 1);
        expect(await client.zcard(conn.bucketKey(0, 'batches'))).toBe(2);
        calls.length = 0;
        expect(await finishAll(locks, [...second, ...first])).toEqual([true, true, true, true]);
        expect(calls).toHaveLength(1);
        expect(calls[0]).toHaveLength(1);
        expect(await fields()).toBe(0);
        expect(await client.zcard(conn.bucketKey(0, 'batches'))).toBe(0);
      });

      it('splits a run over several claim batches at their ends, each part answered as its fires would be', async () => {
        const { conn, locks, store, fields } = await setup();
        const calls = watchUpdates(conn);
        const instant = Date.now() + 60_000;
        // Three claims of one node at one instant: consecutive tokens in batches of 3, 1 and 2 fires.
        const a = await claim(locks, ['h1', 'h2', 'h3'], instant);
        const b = await claim(locks, ['h4'], instant);
        const c = await claim(locks, ['h5', 'h6'], instant);
        const all = [...a, ...b, ...c];
        expect(all.map((w) => w.fencingToken)).toEqual(all.map((_, i) => a[0]!.fencingToken + i));
        expect(await client.zcard(conn.bucketKey(0, 'batches'))).toBe(3);
        // A run from the last fire of the first batch into the third: parts of 1, 1 and 2 fires.
        calls.length = 0;
        const tail = all.slice(2);
        expect(await Promise.all(tail.map((w) => locks.startFire(w)))).toEqual([true, true, true, true]);
        expect(calls).toEqual([[tail.map((w) => w.fireId).join('\u001f')]]);
        for (const w of tail) expect(await store.getFireRecord(w.fireId)).toMatchObject({ state: 'running', nodeId: 'a' });
        expect(await store.getFireRecord(all[0]!.fireId)).toMatchObject({ state: 'claimed' });
        // The same run again: every part refuses a second start.
        expect(await Promise.all(tail.map((w) => locks.startFire(w)))).toEqual([false, false, false, false]);
        // h4 finished on its own (its batch emptied), then a run over all three batches: h4's part is no one's.
        expect(await locks.finishFire(b[0]!, 'completed', { retentionMs: 0 })).toBe(true);
        expect(await client.zcard(conn.bucketKey(0, 'batches'))).toBe(2);
        expect(await finishAll(locks, all.slice(1, 5))).toEqual([true, true, false, true]);
        expect(await finishAll(locks, [all[0]!, all[5]!])).toEqual([true, true]);
        expect(await fields()).toBe(0);
        expect(await client.zcard(conn.bucketKey(0, 'batches'))).toBe(0);
      });

      it('answers a run on a lapsed batch as its fires would: a renewal and a start refused, a finish taken', async () => {
        const { locks } = await setup();
        const won = (
          await locks.claimDue(
            ['x1', 'x2', 'x3'].map((jobName) => ({ jobName, instant: Date.now() + 60_000 })),
            { nodeId: 'a', leaseTtlMs: ttl },
          )
        ).won;
        await sleep(ttl + 50);
        expect(await Promise.all(won.map((w) => locks.renewFire(w, { leaseTtlMs: 10_000 })))).toEqual([false, false, false]);
        expect(await Promise.all(won.map((w) => locks.startFire(w)))).toEqual([false, false, false]);
        expect(await finishAll(locks, won)).toEqual([true, true, true]);
      });
    });
  });
});

describe.skipIf(!canRunRedis())('on a Redis Cluster', () => {
  let cluster: RedisClusterInfo;
  let client: Cluster;
  let prefixes = 0;
  let connection: RedisConnection;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    client = new Cluster(cluster.nodes);
  }, 60_000);
  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });
  lockContract('3-master Redis Cluster', () => ({
    get lockManager() {
      return new RedisLockManager(connection);
    },
    get stateStore() {
      return new RedisStateStore(connection);
    },
    flush: async () => {
      await Promise.all(client.nodes('master').map((n) => n.flushall()));
    },
    reset: async () => {
      connection = new RedisConnection(client, { keyPrefix: `c${++prefixes}` });
    },
  }));

  it("a claim's announcement reaches subscribers on every master, whichever holds the bucket", async () => {
    const conn = new RedisConnection(client, { keyPrefix: 'announce' });
    await new RedisStateStore(conn).getMarks(['x']);
    const channel = conn.key('scheduler:claimed');
    const subs = cluster.nodes.map((n) => new Redis(n.port, n.host));
    const heard = subs.map((sub) => new Promise<string>((resolve) => sub.on('message', (_c: string, m: string) => resolve(m))));
    await Promise.all(subs.map((sub) => sub.subscribe(channel)));
    const result = await new RedisLockManager(conn).claimDue([{ jobName: 'one', instant: Date.now() + 60_000 }], {
      nodeId: 'n1',
      leaseTtlMs: 30_000,
      announce: () => ({ transport: client, channel, payload: 'settled' }),
    });
    expect(result.won).toHaveLength(1);
    expect(result.announced).toBe(true);
    expect(await Promise.all(heard)).toEqual(cluster.nodes.map(() => 'settled'));
    for (const sub of subs) sub.disconnect();
  });
});
