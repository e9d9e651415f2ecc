import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { JobContext } from '@sched/core';
import { RedisServer, canRunRedis } from '@sched/testkit';
import { MissingPackageError } from '@sched/core';
import { createClusterScheduler, type ClusterScheduler, type ClusterSchedulerOptions } from '../src/index.js';

describe.skipIf(!canRunRedis())('createClusterScheduler (two nodes in one process, real Redis)', () => {
  let server: RedisServer;
  const clients: Redis[] = [];
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await server?.dispose();
  });

  function node(
    nodeId: string,
    ledger: Array<{ fireId: string; nodeId: string }>,
    options: Partial<ClusterSchedulerOptions> = {},
  ): ClusterScheduler {
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    redis.on('error', () => {});
    clients.push(redis);
    const s = createClusterScheduler({
      redis,
      nodeId,
      keyPrefix: 'ct',
      heartbeatIntervalMs: 200,
      nodeTtlMs: 1_000,
      leaseTtlMs: 2_000,
      leaseRenewMs: 500,
      takeoverGraceMs: 100,
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      ...options,
    });
    for (let i = 0; i < 20; i++) {
      s.registerJob(
        { name: `j${i}`, execute: (ctx: JobContext) => void ledger.push({ fireId: ctx.fireId, nodeId: ctx.nodeId }) },
        { cronSpec: '* * * * * *' },
      );
    }
    return s;
  }

  it('runs each fire once across the nodes, spreads them, and survives FLUSHALL without running an instant twice', async () => {
    const ledger: Array<{ fireId: string; nodeId: string }> = [];
    const a = node('a', ledger);
    const b = node('b', ledger);
    await a.start();
    await b.start();
    expect((await a.getNodes()).map((n) => n.nodeId)).toEqual(['a', 'b']);
    await new Promise((r) => setTimeout(r, 3_000));
    await (clients[0] as Redis).flushall();
    await new Promise((r) => setTimeout(r, 2_500));
    await Promise.all([a.stop(), b.stop()]);
    const byFire = new Map<string, number>();
    for (const e of ledger) byFire.set(e.fireId, (byFire.get(e.fireId) ?? 0) + 1);
    expect([...byFire.values()].every((n) => n === 1)).toBe(true);
    // About 5 s of 20 jobs every second; the instant of the flush may be recorded as misfired instead.
    expect(byFire.size).toBeGreaterThanOrEqual(20 * 4);
    const onA = ledger.filter((e) => e.nodeId === 'a').length;
    expect(onA).toBeGreaterThan(0);
    expect(onA).toBeLessThan(ledger.length);
  });

  it("each owner's claim carries its announcement: no node publishes one on its own, and the others sweep nothing", async () => {
    const ledger: Array<{ fireId: string; nodeId: string }> = [];
    // A sweep a second after the instant: only an owner stalled that long leaves it something to claim.
    const nodes = ['a', 'b'].map((id) => node(id, ledger, { keyPrefix: 'carry', takeoverGraceMs: 1_000 }));
    const published: string[] = [];
    for (const redis of clients.slice(-2)) {
      const publish = redis.publish.bind(redis);
      redis.publish = (channel: string, message: string) => {
        published.push(channel);
        return publish(channel, message);
      };
    }
    // Every claim each node sends, with how many of its fires are the sweep's (not the sender's at the instant).
    const claims: Array<{ at: number; swept: number }> = [];
    for (const s of nodes) {
      const lockManager = s.schedulerCache.lockManager;
      const claimDue = lockManager.claimDue.bind(lockManager);
      lockManager.claimDue = (fires, options) => {
        claims.push({ at: Date.now(), swept: fires.filter((f) => (f as { notBefore?: number }).notBefore !== undefined).length });
        return claimDue(fires, options);
      };
    }
    await Promise.all(nodes.map((s) => s.start()));
    const started = Date.now();
    await new Promise((r) => setTimeout(r, 4_500));
    await Promise.all(nodes.map((s) => s.stop()));
    // Once each node sees the other (heartbeats every 200 ms), every instant is claimed by its owners alone.
    const settled = claims.filter((c) => c.at > started + 1_500);
    expect(settled.length).toBeGreaterThanOrEqual(4);
    expect(settled.reduce((n, c) => n + c.swept, 0)).toBe(0);
    expect(published.filter((channel) => channel.endsWith(':scheduler:claimed'))).toEqual([]);
    const byFire = new Map<string, number>();
    for (const e of ledger) byFire.set(e.fireId, (byFire.get(e.fireId) ?? 0) + 1);
    expect([...byFire.values()].every((n) => n === 1)).toBe(true);
    expect(byFire.size).toBeGreaterThanOrEqual(20 * 3);
  });

  it("remote execution stays inside its key prefix: two clusters on one Redis with the same node ids never run each other's messages", async () => {
    const ran: string[] = [];
    const make = (keyPrefix: string) => {
      const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
      redis.on('error', () => {});
      clients.push(redis);
      const s = createClusterScheduler({
        redis,
        nodeId: 'a',
        keyPrefix,
        heartbeatIntervalMs: 200,
        nodeTtlMs: 1_000,
        logger: { debug() {}, info() {}, warn() {}, error() {} },
      });
      s.registerJob({ name: 'shared', execute: () => void ran.push(keyPrefix) }, {});
      return s;
    };
    const one = make('tenant1');
    const two = make('tenant2');
    await one.start();
    await two.start();
    try {
      const result = await one.execute({ jobName: 'shared', routeStrategy: 'specific', nodeId: 'a', timeoutMs: 5_000 });
      expect(result.outcomes.map((o) => o.status)).toEqual(['completed']);
      const broadcast = await two.execute({ jobName: 'shared', routeStrategy: 'broadcast', timeoutMs: 5_000 });
      expect(broadcast.outcomes.map((o) => o.status)).toEqual(['completed']);
      expect(ran).toEqual(['tenant1', 'tenant2']);
    } finally {
      await Promise.all([one.stop(), two.stop()]);
    }
  });

  it('attaches a MetricsCollector unless told not to: its /metrics text counts the runs; a node without one is missing from the aggregate', async () => {
    const ledger: Array<{ fireId: string; nodeId: string }> = [];
    const a = node('m-a', ledger, { keyPrefix: 'ct-metrics' });
    const b = node('m-b', ledger, { keyPrefix: 'ct-metrics', metrics: false });
    expect(a.metrics).toBeDefined();
    expect(b.metrics).toBeUndefined();
    await a.start();
    await b.start();
    try {
      const deadline = Date.now() + 10_000;
      while (!ledger.some((e) => e.nodeId === 'm-a') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const cluster = await a.getClusterMetrics({ timeoutMs: 300 });
      expect(cluster.missing).toEqual(['m-b']);
      expect(cluster.nodes.map((n) => n.nodeId)).toEqual(['m-a']);
      expect(cluster.totals.executionCount).toBeGreaterThan(0);
      const text = await (a.metrics as NonNullable<ClusterScheduler['metrics']>).metrics();
      expect(text).toMatch(/^sched_executions_total\{job_name="j\d+",status="completed"\} [1-9]/m);
      expect(text).toMatch(/^sched_live_nodes 2$/m);
      await expect(b.getClusterMetrics()).rejects.toBeInstanceOf(MissingPackageError);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
