import { afterAll, describe, expect, it } from 'vitest';
import { Redis, Cluster } from 'ioredis';
import { RedisServer, canRunPostgres, canRunRedis, startRedisCluster, PostgresServer } from '../src/index.js';

describe.skipIf(!canRunRedis())('throwaway Redis', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  it('starts on a free port, answers, restarts empty, and is killed by PID', async () => {
    const server = await RedisServer.start();
    cleanups.push(() => server.dispose());
    expect(server.port).not.toBe(6379);
    const client = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    client.on('error', () => {}); // it sees the restart below
    cleanups.push(async () => client.disconnect());
    await client.connect();
    await client.set('k', 'v');
    expect(await client.get('k')).toBe('v');
    const pid = server.pid as number;
    await server.restart();
    expect(server.pid).not.toBe(pid);
    expect(() => process.kill(pid, 0)).toThrow();
    await new Promise((r) => setTimeout(r, 200));
    const again = new Redis(server.url, { maxRetriesPerRequest: 1 });
    again.on('error', () => {});
    cleanups.push(async () => again.disconnect());
    expect(await again.get('k')).toBeNull();
    const lastPid = server.pid as number;
    await server.dispose();
    expect(() => process.kill(lastPid, 0)).toThrow();
  });

  it('builds a 3-master cluster with hash-tagged keys in one slot', async () => {
    const cluster = await startRedisCluster();
    cleanups.push(() => cluster.stop());
    const client = new Cluster(cluster.nodes);
    cleanups.push(async () => client.disconnect());
    await client.set('{t}:a', '1');
    expect(await client.eval("return redis.call('GET', KEYS[1])", 1, '{t}:a')).toBe('1');
    await expect(client.eval("return redis.call('MGET', KEYS[1], KEYS[2])", 2, 'x:a', 'y:b')).rejects.toThrow(/CROSSSLOT/);
  });
});

describe.skipIf(!canRunPostgres())('throwaway PostgreSQL', () => {
  it('starts a server of its own (never the shared one) and stops it by PID', async () => {
    const pg = await PostgresServer.start({ useDatabaseUrl: false });
    try {
      expect(pg.owned).toBe(true);
      expect(pg.port).not.toBe(5432);
      expect(pg.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
      await pg.stop();
      await pg.restart();
    } finally {
      await pg.dispose();
    }
  });
});
