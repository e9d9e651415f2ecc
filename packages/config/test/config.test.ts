import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, Redis } from 'ioredis';
import { ErrorCode, MemoryConfigStore, MemoryStore, type VersionedConfig } from '@sched/core';
import { RedisServer, canRunRedis, freePort, startRedisCluster, type RedisClusterInfo } from '@sched/testkit';
import { RedisConnection } from '@sched/redis';
import { RedisConfigStore } from '../src/index.js';
import { configStoreContract } from './contract.js';

configStoreContract('memory (core)', async () => {
  const shared = new MemoryConfigStore(new MemoryStore());
  return { store: shared, other: shared };
});

describe.skipIf(!canRunRedis())('on Redis', () => {
  let server: RedisServer;
  const clients: Redis[] = [];
  let prefixes = 0;
  const client = (): Redis => {
    const c = new Redis(server.url);
    clients.push(c);
    return c;
  };
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await server?.dispose();
  });
  /** Two nodes: each its own client and connection (so its own subscriber) on one prefix. */
  const twoNodes = (options: { pollIntervalMs?: number; historyLimit?: number } = {}) => {
    const keyPrefix = `cfg${++prefixes}`;
    const a = new RedisConnection(client(), { keyPrefix });
    const b = new RedisConnection(client(), { keyPrefix });
    return { store: new RedisConfigStore(a, options), other: new RedisConfigStore(b, options), a, b };
  };
  configStoreContract('one redis-server', async () => twoNodes());

  it('keeps historyLimit versions', async () => {
    const { store } = twoNodes({ historyLimit: 3 });
    for (let v = 0; v < 5; v++) await store.compareAndSet({ jobs: {} }, v, { nodeId: 'n' });
    expect((await store.history(10)).map((h) => h.version)).toEqual([5, 4, 3]);
  });

  it('a change that lands between reading the version and reading the history is not skipped', async () => {
    const { store, other } = twoNodes();
    await store.compareAndSet({ jobs: {} }, 0, { nodeId: 'a' });
    await other.compareAndSet({ jobs: {} }, 1, { nodeId: 'b' });
    const history = store.history.bind(store);
    let injected = false;
    store.history = async (limit?: number) => {
      // Version 3 lands after the reader saw version 2 as the newest, before it reads the list.
      if (!injected) {
        injected = true;
        await other.compareAndSet({ jobs: {} }, 2, { nodeId: 'b' });
      }
      return history(limit);
    };
    expect((await store.versionsAfter(1)).map((c) => c.version)).toEqual([2, 3]);
  });

  it('a watcher whose subscriber was cut off catches up on the versions it missed, in order', async () => {
    const { store, other } = twoNodes({ pollIntervalMs: 200 });
    const seen: VersionedConfig[] = [];
    const stop = other.watch((c) => seen.push(c));
    await new Promise((r) => setTimeout(r, 300));
    // Kill the watching node's subscriber connection: its notices are lost until ioredis reconnects.
    const admin = client();
    const list = (await admin.call('CLIENT', 'LIST')) as string;
    expect(list.split('\n').some((l) => /sub=[1-9]/.test(l))).toBe(true);
    await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    for (let v = 0; v < 4; v++) await store.compareAndSet({ jobs: {} }, v, { nodeId: 'a' });
    const deadline = Date.now() + 10_000;
    while (seen.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    stop();
    expect(seen.map((c) => c.version)).toEqual([1, 2, 3, 4]);
  });

  it('a change is announced on the pub/sub channel, and the stored entry reads back whole', async () => {
    const { store, a } = twoNodes();
    const heard: string[] = [];
    const off = await a.subscribe(a.key('config'), (m) => heard.push(m));
    const v1 = await store.compareAndSet({ timezone: 'Europe/Paris', jobs: { j: { cronSpec: '0 0 * * * *' } } }, 0, {
      nodeId: 'n',
      actor: 'ops',
    });
    const deadline = Date.now() + 5_000;
    while (heard.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await off();
    expect(heard).toEqual(['1']);
    expect(await store.get()).toEqual(v1);
    expect(v1.document).toEqual({ timezone: 'Europe/Paris', jobs: { j: { cronSpec: '0 0 * * * *' } } });
  });

  it('garbage in the stored key is a typed error, not a crash', async () => {
    const { store, a } = twoNodes();
    await a.client.set(a.globalKey('config', 'current'), 'not json');
    await expect(store.get()).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
  });

  it('an unreachable Redis is a StoreUnavailableError', async () => {
    const dead = new Redis(await freePort(), '127.0.0.1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    dead.on('error', () => undefined); // the refused connection is the point of the test
    clients.push(dead);
    const store = new RedisConfigStore(new RedisConnection(dead, { keyPrefix: 'dead', commandTimeoutMs: 500 }));
    await expect(store.get()).rejects.toMatchObject({ code: ErrorCode.StoreUnavailable });
    await expect(store.compareAndSet({ jobs: {} }, 0, { nodeId: 'n' })).rejects.toMatchObject({
      code: ErrorCode.StoreUnavailable,
    });
  });
});

describe.skipIf(!canRunRedis())('on a Redis Cluster', () => {
  let cluster: RedisClusterInfo;
  const clients: Cluster[] = [];
  let prefixes = 0;
  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await cluster?.stop();
  });
  configStoreContract('3-master Redis Cluster', async () => {
    const keyPrefix = `cc${++prefixes}`;
    const connect = (): RedisConnection => {
      const c = new Cluster(cluster.nodes);
      clients.push(c);
      return new RedisConnection(c, { keyPrefix });
    };
    return { store: new RedisConfigStore(connect()), other: new RedisConfigStore(connect()) };
  });
});
