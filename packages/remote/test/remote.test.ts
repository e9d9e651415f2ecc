import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, Redis } from 'ioredis';
import { ErrorCode } from '@sched/core';
import { RedisServer, canRunRedis, startRedisCluster, type RedisClusterInfo } from '@sched/testkit';
import { RedisConnection } from '@sched/redis';
import { MAX_ENVELOPE_BYTES, RemoteRouter, canonicalJson, parseEnvelope, signEnvelope } from '../src/index.js';

const SECRET = 's3cret';
const NOW = Date.UTC(2026, 10, 26, 12);

describe('the wire envelope', () => {
  const base = {
    messageId: 'm1',
    messageType: 'execute' as const,
    jobName: 'report',
    routeStrategy: 'first' as const,
    timeoutMs: 5_000,
  };

  it('accepts the documented JSON, and refuses malformed, oversized or non-JSON messages with the reason', () => {
    expect(parseEnvelope(JSON.stringify(base))).toEqual({ ok: true, envelope: base });
    expect(parseEnvelope('{not json')).toMatchObject({ ok: false, reason: 'not-json' });
    expect(parseEnvelope(JSON.stringify({ ...base, routeStrategy: 'nearest' }))).toMatchObject({
      ok: false,
      reason: 'malformed',
      detail: expect.stringMatching(/routeStrategy/),
    });
    expect(parseEnvelope(JSON.stringify({ ...base, extra: 1 }))).toMatchObject({ ok: false, reason: 'malformed' });
    expect(parseEnvelope(JSON.stringify({ ...base, params: { blob: 'x'.repeat(MAX_ENVELOPE_BYTES) } }))).toMatchObject({
      ok: false,
      reason: 'too-large',
    });
  });

  it('signs as documented: hex HMAC-SHA256 of `timestamp.` + the sorted-key JSON without the signature', () => {
    const signed = signEnvelope({ ...base, params: { b: 1, a: [{ z: 1, y: 2 }] } }, SECRET, NOW);
    // What the README's five lines of node:crypto compute, by hand:
    const { signature, ...unsigned } = signed;
    const sorted = JSON.stringify(
      Object.fromEntries(Object.entries(unsigned).sort(([a], [b]) => a.localeCompare(b))),
      (_k, v: unknown) =>
        v && typeof v === 'object' && !Array.isArray(v)
          ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
          : v,
    );
    expect(canonicalJson(unsigned)).toBe(sorted);
    expect(signature).toBe(createHmac('sha256', SECRET).update(`${NOW}.${sorted}`).digest('hex'));
    expect(parseEnvelope(JSON.stringify(signed), { secret: SECRET, now: NOW + 1_000 })).toMatchObject({ ok: true });
  });

  it('with a secret: unsigned, tampered, wrongly keyed and stale (replayed) messages are refused', () => {
    const signed = signEnvelope(base, SECRET, NOW);
    const check = (m: object, now = NOW) => parseEnvelope(JSON.stringify(m), { secret: SECRET, now, maxSkewMs: 30_000 });
    expect(check(base)).toMatchObject({ ok: false, reason: 'unsigned' });
    expect(check({ ...signed, jobName: 'drop-tables' })).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect(check(signEnvelope(base, 'other', NOW))).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect(check(signed, NOW + 60_000)).toMatchObject({ ok: false, reason: 'stale' });
  });
});

function routerContract(name: string, connect: () => RedisConnection) {
  describe(`RemoteRouter: ${name}`, () => {
    const nodes = ['n3', 'n1', 'n2'];
    let ids = 0;
    const id = () => `${name}-${++ids}`;

    it('first, last, specific pick the named node; broadcast, sharding and failover take every node in id order', async () => {
      const r = new RemoteRouter(connect());
      const route = (strategy: Parameters<RemoteRouter['route']>[1]['strategy'], nodeId?: string) =>
        r.route(id(), { jobName: 'j', strategy, nodeId }, nodes).then((d) => d.targets);
      expect(await route('first')).toEqual(['n1']);
      expect(await route('last')).toEqual(['n3']);
      expect(await route('specific', 'n2')).toEqual(['n2']);
      for (const s of ['broadcast', 'sharding', 'failover'] as const) expect(await route(s)).toEqual(['n1', 'n2', 'n3']);
      await expect(route('specific', 'n9')).rejects.toMatchObject({
        code: ErrorCode.RouteFailed,
        message: expect.stringMatching(/n9.*not a live node/),
      });
      await expect(r.route(id(), { jobName: 'j', strategy: 'first' }, [])).rejects.toMatchObject({
        code: ErrorCode.RouteFailed,
        message: expect.stringMatching(/no live node/),
      });
    });

    it('round-robin rotates evenly over calls from several clients (one counter per job); random reaches every node', async () => {
      const routers = [new RemoteRouter(connect()), new RemoteRouter(connect()), new RemoteRouter(connect())];
      const counts = new Map<string, number>();
      for (let i = 0; i < 30; i++) {
        const { targets } = await (routers[i % 3] as RemoteRouter).route(
          id(),
          { jobName: `rr-${name}`, strategy: 'round-robin' },
          nodes,
        );
        counts.set(targets[0] as string, (counts.get(targets[0] as string) ?? 0) + 1);
      }
      expect(Object.fromEntries(counts)).toEqual({ n1: 10, n2: 10, n3: 10 });
      const seen = new Set<string>();
      for (let i = 0; i < 60; i++)
        seen.add(
          (await (routers[0] as RemoteRouter).route(id(), { jobName: 'j', strategy: 'random' }, nodes)).targets[0] as string,
        );
      expect([...seen].sort()).toEqual(['n1', 'n2', 'n3']);
    });

    it('a message is routed once: a second route of the same id gets the same targets, even if the nodes changed', async () => {
      const r = new RemoteRouter(connect());
      const messageId = id();
      const first = await r.route(messageId, { jobName: 'j', strategy: 'round-robin' }, nodes);
      const again = await Promise.all([1, 2, 3].map(() => r.route(messageId, { jobName: 'j', strategy: 'round-robin' }, ['n1'])));
      expect(first.fresh).toBe(true);
      for (const d of again) expect(d).toEqual({ targets: first.targets, fresh: false });
    });

    it("'failover': the first to accept a message wins, every later one is refused", async () => {
      const r = new RemoteRouter(connect());
      const messageId = id();
      const accepted = await Promise.all([1, 2, 3, 4].map(() => r.accept(messageId)));
      expect(accepted.filter(Boolean)).toHaveLength(1);
      expect(await r.accept(id())).toBe(true);
    });
  });
}

describe.skipIf(!canRunRedis())('on Redis', () => {
  let server: RedisServer;
  const clients: Redis[] = [];
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await server?.dispose();
  });
  routerContract('one redis-server', () => {
    const c = new Redis(server.url);
    clients.push(c);
    return new RedisConnection(c, { keyPrefix: 'remote' });
  });
});

describe.skipIf(!canRunRedis())('on a Redis Cluster', () => {
  let cluster: RedisClusterInfo;
  const clients: Cluster[] = [];
  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await cluster?.stop();
  });
  routerContract('3-master Redis Cluster', () => {
    const c = new Cluster(cluster.nodes);
    clients.push(c);
    return new RedisConnection(c, { keyPrefix: 'remote' });
  });
});
