import { afterAll, beforeAll, describe } from 'vitest';
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
