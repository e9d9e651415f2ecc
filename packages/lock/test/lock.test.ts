import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, Redis } from 'ioredis';
import { MemorySchedulerCache } from '@sched/core';
import { RedisServer, canRunRedis, startRedisCluster, type RedisClusterInfo } from '@sched/testkit';
import { RedisConnection } from '@sched/redis';
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
});
