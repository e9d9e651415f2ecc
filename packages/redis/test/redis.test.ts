import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, Redis } from 'ioredis';
import { StoreUnavailableError, SystemClock } from '@sched/core';
import { RedisServer, canRunRedis, freePort, startRedisCluster, type RedisClusterInfo } from '@sched/testkit';
import { ClusterClock, LuaScript, RedisConnection } from '../src/index.js';

const fixtures = new URL('./fixtures/', import.meta.url);

describe('LuaScript', () => {
  it('refuses a script whose header does not declare the keys it is defined with', () => {
    expect(() => new LuaScript('x', 2, '--[[ x\n KEYS[1] a\n]]\nreturn 1')).toThrow(/declares 1 KEYS/);
    expect(() => new LuaScript('x', 0, 'return 1')).toThrow(/header/);
    expect(() => LuaScript.fromFile(fixtures, 'helper.lua', 'p', '1')).toThrow();
  });

  it('names the script after the package and version, and inlines includes', () => {
    const script = LuaScript.fromFile(fixtures, 'incr-double-1.lua', '@sched/test', '1.2.3');
    expect(script.name).toBe('@sched/test@1.2.3:incr-double-1');
    expect(script.source).toContain('local function double');
    expect(script.source).not.toContain('--! include');
    const load = LuaScript.loader(fixtures, new URL('../package.json', import.meta.url));
    expect(load('incr-double-1.lua').name).toMatch(/^@sched\/redis@\d+\.\d+\.\d+:incr-double-1$/);
  });
});

describe.skipIf(!canRunRedis())('RedisConnection on one redis-server', () => {
  let server: RedisServer;
  let client: Redis;
  let connection: RedisConnection;
  beforeAll(async () => {
    server = await RedisServer.start();
    client = new Redis(server.url, { maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    connection = new RedisConnection(client, { keyPrefix: 'test', commandTimeoutMs: 500 });
  });
  afterAll(async () => {
    await connection?.close();
    client?.disconnect();
    await server?.dispose();
  });

  it('builds keys with the schema version and one bucket', () => {
    expect(connection.prefix).toBe('test:v1');
    expect(connection.buckets).toBe(1);
    expect(connection.bucketOf('anything')).toBe(0);
    expect(connection.bucketKey(0, 'marks')).toBe('{test:v1:b0}:marks');
    expect(connection.globalKey('nodes')).toBe('{test:v1}:nodes');
    expect(() => new RedisConnection(client, { keyPrefix: 'bad prefix' })).toThrow(/keyPrefix/);
    expect(() => new RedisConnection(client, { buckets: 0 })).toThrow(/buckets/);
    expect(() => new RedisConnection({} as Redis)).toThrow(/ioredis/);
  });

  it('runs a script by SHA and falls back to EVAL after SCRIPT FLUSH', async () => {
    const script = LuaScript.fromFile(fixtures, 'incr-double-1.lua', '@sched/test', '0');
    expect(await connection.run('t', script, ['c'], [2])).toBe(4);
    expect(await client.script('EXISTS', script.sha)).toEqual([1]);
    await client.script('FLUSH');
    expect(await connection.run('t', script, ['c'], [3])).toBe(10);
    await expect(connection.run('t', script, [], [1])).rejects.toThrow(/expected 1 keys/);
  });

  it('delivers published messages to every handler of a channel, and a throwing handler harms no other', async () => {
    const got: string[] = [];
    const off1 = await connection.subscribe('ch', () => {
      throw new Error('handler bug');
    });
    let resolveArrived: () => void = () => {};
    const arrived = new Promise<void>((resolve) => (resolveArrived = resolve));
    // Resolves once Redis acknowledged the SUBSCRIBE.
    await connection.subscribe('ch', (m) => {
      got.push(m);
      resolveArrived();
    });
    await connection.publish('ch', 'hello');
    await arrived;
    expect(got).toEqual(['hello']);
    await off1();
  });

  it('a SUBSCRIBE that failed leaves no trace: the next subscribe sends it again and its handler hears the channel', async () => {
    const sub = (connection as unknown as { subscriber(): Redis }).subscriber();
    const subscribe = sub.subscribe.bind(sub);
    let failures = 1;
    sub.subscribe = ((...args: Parameters<typeof subscribe>) => {
      if (failures-- > 0) return Promise.reject(new Error('read ECONNRESET'));
      return subscribe(...args);
    }) as typeof sub.subscribe;
    try {
      await expect(connection.subscribe('flaky', () => undefined)).rejects.toBeInstanceOf(StoreUnavailableError);
      const heard: string[] = [];
      let bothHeard: () => void = () => undefined;
      const arrived = new Promise<void>((resolve) => (bothHeard = resolve));
      const hear = (m: string) => {
        heard.push(m);
        if (heard.length === 2) bothHeard();
      };
      // Two callers at once share the one SUBSCRIBE, sent again after the failed one.
      await Promise.all([connection.subscribe('flaky', (m) => hear(m)), connection.subscribe('flaky', (m) => hear(m))]);
      await connection.publish('flaky', 'again');
      await arrived;
      expect(heard).toEqual(['again', 'again']);
    } finally {
      sub.subscribe = subscribe;
    }
  });

  it('measures the cluster clock offset of a skewed node', async () => {
    const skewed = new SystemClock({ offsetMs: 1_500 });
    const clock = new ClusterClock(connection, { base: skewed, warnThresholdMs: 1_000 });
    expect(clock.isSynced).toBe(false);
    const offset = await clock.sync();
    // Both clocks are this machine's; the offset is the injected skew within RTT noise.
    expect(offset).toBeGreaterThan(1_450);
    expect(offset).toBeLessThan(1_550);
    expect(Math.abs(clock.now() - Date.now())).toBeLessThan(50);
    const fired = await new Promise<number>((resolve) => clock.setTimer(clock.now() + 30, () => resolve(clock.now())));
    expect(fired).toBeGreaterThan(0);
  });

  it('maps an unreachable Redis to StoreUnavailableError', async () => {
    const port = await freePort();
    const dead = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    dead.on('error', () => {});
    const conn = new RedisConnection(dead, { commandTimeoutMs: 300 });
    await expect(conn.time()).rejects.toBeInstanceOf(StoreUnavailableError);
    dead.disconnect();
  });
});

describe.skipIf(!canRunRedis())('RedisConnection on a Redis Cluster', () => {
  let cluster: RedisClusterInfo;
  let client: Cluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    client = new Cluster(cluster.nodes);
    client.on('error', () => {});
  }, 60_000);
  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  it('uses 16 buckets, each wholly in one slot, so one script can touch all its keys', async () => {
    const connection = new RedisConnection(client);
    expect(connection.isCluster).toBe(true);
    expect(connection.buckets).toBe(16);
    const script = LuaScript.fromFile(fixtures, 'incr-double-1.lua', '@sched/test', '0');
    for (let b = 0; b < 16; b++) expect(await connection.run('t', script, [connection.bucketKey(b, 'c')], [1])).toBe(2);
    const used = new Set(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((j) => connection.bucketOf(`job-${j}`)));
    expect(used.size).toBeGreaterThan(1);
  });
});
