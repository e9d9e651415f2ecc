import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { SchedulerStateError, type Logger, type NodeInfo } from '@sched/core';
import { RedisServer, canRunRedis } from '@sched/testkit';
import { ClusterClock, RedisConnection } from '@sched/redis';
import { RedisNodeRegistry } from '../src/index.js';

const info = (jobs: string[], hash = jobs.join(',')) => ({ jobs, jobsHash: hash, version: '0.1.0', clockOffsetMs: 0 });

function waitEvent(registry: RedisNodeRegistry, event: 'join' | 'leave' | 'replaced', nodeId?: string): Promise<NodeInfo> {
  return new Promise((resolve) => {
    const off = registry.on(event, (node) => {
      if (nodeId !== undefined && node.nodeId !== nodeId) return;
      off();
      resolve(node);
    });
  });
}

describe.skipIf(!canRunRedis())('RedisNodeRegistry', () => {
  let server: RedisServer;
  const clients: Redis[] = [];
  const registries: RedisNodeRegistry[] = [];
  let prefix = 0;
  let keyPrefix = 'r0';
  const connect = () => {
    const c = new Redis(server.url, { maxRetriesPerRequest: 2 });
    c.on('error', () => {});
    clients.push(c);
    return new RedisConnection(c, { keyPrefix });
  };
  const make = (nodeId: string, extra: Partial<ConstructorParameters<typeof RedisNodeRegistry>[1]> = {}) => {
    const r = new RedisNodeRegistry(connect(), {
      nodeId,
      heartbeatIntervalMs: 100,
      nodeTtlMs: 400,
      pingTimeoutMs: 300,
      ...extra,
    });
    registries.push(r);
    return r;
  };
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterEach(async () => {
    for (const r of registries.splice(0)) await r.halt();
    keyPrefix = `r${++prefix}`;
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await server?.dispose();
  });

  it('lists registered nodes with their jobs, and announces join and leave at once', async () => {
    const a = make('a');
    const b = make('b');
    await a.register(info(['j1', 'j2']));
    const joined = waitEvent(a, 'join', 'b');
    await b.register(info(['j2']));
    expect((await joined).jobs).toEqual(['j2']);
    const nodes = await a.getAllNodes();
    expect(nodes.map((n) => [n.nodeId, n.jobs, n.status])).toEqual([
      ['a', ['j1', 'j2'], 'online'],
      ['b', ['j2'], 'online'],
    ]);
    expect(nodes[0]?.pid).toBe(process.pid);
    const left = waitEvent(a, 'leave', 'b');
    const before = Date.now();
    await b.deregister();
    await left;
    // Announced on pub/sub, not found by the TTL (400 ms) or a heartbeat.
    expect(Date.now() - before).toBeLessThan(400);
    expect((await a.getAllNodes()).map((n) => n.nodeId)).toEqual(['a']);
  });

  it('drops a silent node after its TTL, noticed by the others’ heartbeats', async () => {
    const a = make('a');
    const b = make('b');
    await a.register(info(['x']));
    await b.register(info(['x']));
    const left = waitEvent(a, 'leave', 'b');
    await b.halt();
    expect((await left).nodeId).toBe('b');
    expect((await a.getAllNodes()).map((n) => n.nodeId)).toEqual(['a']);
    // A reader with a TTL of its own (a console, a CLI: 30 s by default) judges each node by the node's TTL.
    const reader = new RedisNodeRegistry(connect(), { nodeId: 'console-reader' });
    expect((await reader.getAllNodes()).map((n) => n.nodeId)).toEqual(['a']);
  });

  it('re-reads a node’s job list only when its hash changes', async () => {
    const a = make('a');
    const b = make('b');
    await a.register(info(['x']));
    await b.register(info(['x']));
    expect((await a.getAllNodes()).find((n) => n.nodeId === 'b')?.jobs).toEqual(['x']);
    await b.update({ jobs: ['x', 'y'], jobsHash: 'x,y' });
    expect((await a.getAllNodes()).find((n) => n.nodeId === 'b')?.jobs).toEqual(['x', 'y']);
  });

  it('advertises what each job runs by (schedule, state) with the list; a bare list or a malformed entry is read safely', async () => {
    const a = make('a');
    const b = make('b');
    await a.register(info([]));
    await b.register({
      ...info(['report', 'load']),
      jobSummaries: {
        report: { cronSpec: '0 * * * * *', timezone: 'Europe/Berlin', priority: 80 },
        load: { dependencies: ['report'] },
      },
    });
    const seen = (await a.getAllNodes()).find((n) => n.nodeId === 'b');
    expect(seen?.jobSummaries).toEqual({
      report: { cronSpec: '0 * * * * *', timezone: 'Europe/Berlin', priority: 80 },
      load: { dependencies: ['report'] },
    });
    await b.update({ jobSummaries: { report: { cronSpec: '0 * * * * *', paused: true }, load: {} }, jobsHash: 'paused' });
    expect((await a.getAllNodes()).find((n) => n.nodeId === 'b')?.jobSummaries?.report).toEqual({
      cronSpec: '0 * * * * *',
      paused: true,
    });
    // A node of an older version wrote a bare list; something else wrote junk: names only, or nothing, never a crash.
    // (A hash change alone does not rewrite the key, so what is set here is what the others read.)
    const raw = clients[0] as Redis;
    const jobsKey = b.connection.globalKey('jobs', 'b');
    await raw.set(jobsKey, JSON.stringify(['old-a', 'old-b']));
    await b.update({ jobsHash: 'old' });
    const old = (await a.getAllNodes()).find((n) => n.nodeId === 'b');
    expect([old?.jobs, old?.jobSummaries]).toEqual([['old-a', 'old-b'], undefined]);
    await raw.set(jobsKey, JSON.stringify({ jobs: 5, summaries: 'x' }));
    await b.update({ jobsHash: 'junk' });
    const junk = (await a.getAllNodes()).find((n) => n.nodeId === 'b');
    expect([junk?.jobs, junk?.jobSummaries]).toEqual([[], undefined]);
  });

  it('refuses a second live instance of a node id that answers a ping', async () => {
    const first = make('dup');
    await first.register(info([]));
    const second = make('dup');
    await expect(second.register(info([]))).rejects.toBeInstanceOf(SchedulerStateError);
    await expect(second.register(info([]))).rejects.toThrow(/answered a ping/);
    expect((await first.getAllNodes()).map((n) => n.nodeId)).toEqual(['dup']);
  });

  it('takes over a node id whose holder does not answer, and the old instance learns it was replaced', async () => {
    const old = make('n', { heartbeatIntervalMs: 100, nodeTtlMs: 5_000 });
    await old.register(info([]));
    // Frozen: no heartbeats, no pong (as if SIGSTOPped), though its entry is still fresh.
    await old.halt();
    const fresh = make('n', { heartbeatIntervalMs: 100, nodeTtlMs: 5_000 });
    await fresh.register(info(['j']));
    expect((await fresh.getAllNodes()).map((n) => n.jobs)).toEqual([['j']]);
    // The old instance wakes and heartbeats: it finds its instance replaced.
    const replaced = waitEvent(old, 'replaced');
    (old as unknown as { registered: boolean }).registered = true;
    await old.update({});
    expect((await replaced).nodeId).toBe('n');
  });

  it('registers again by itself after the data was lost', async () => {
    const a = make('a');
    await a.register(info(['x']));
    await clients[clients.length - 1]?.flushall();
    const deadline = Date.now() + 5_000;
    while ((await a.getAllNodes()).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect((await a.getAllNodes()).map((n) => [n.nodeId, n.jobs])).toEqual([['a', ['x']]]);
  });

  it('logs and drops malformed membership messages and keeps working', async () => {
    const warnings: string[] = [];
    const logger: Logger = { debug() {}, info() {}, warn: (m) => warnings.push(m), error() {} };
    const a = make('a', { logger });
    await a.register(info([]));
    const raw = clients[clients.length - 1] as Redis;
    const channel = `${keyPrefix}:v1:scheduler:nodes`;
    for (const bad of ['{', '{"v":1,"msg":{"type":"join","node":{"nodeId":5}}}', '{"v":1,"msg":{"type":"boom"}}'])
      await raw.publish(channel, bad);
    const joined = waitEvent(a, 'join', 'b');
    await make('b').register(info([]));
    await joined;
    expect(warnings.filter((w) => w.includes('malformed membership message'))).toHaveLength(3);
  });

  it('a heartbeat is its one round trip: it keeps the clock offset fresh and finds silent leaves without TIME or list calls', async () => {
    const conn = connect();
    const { SystemClock } = await import('@sched/core');
    const system = new SystemClock();
    let skew = -1_500;
    const base = {
      now: () => system.now() + skew,
      setTimer: system.setTimer.bind(system),
      clearTimer: system.clearTimer.bind(system),
    };
    const clock = new ClusterClock(conn, { base, warnThresholdMs: 10_000 });
    const a = new RedisNodeRegistry(conn, { nodeId: 'a', heartbeatIntervalMs: 100, nodeTtlMs: 400, clock });
    registries.push(a);
    const b = make('b');
    await a.register(info([]));
    await b.register(info([]));
    expect(clock.offsetMs).toBeGreaterThan(-1_550);
    expect(clock.offsetMs).toBeLessThan(-1_450);
    const sent: string[] = [];
    const send = conn.client.sendCommand.bind(conn.client);
    conn.client.sendCommand = ((command: { name: string; args: unknown[] }) => {
      // A script is told apart by its SHA (EVALSHA) or its source (EVAL, after NOSCRIPT).
      sent.push(command.name === 'evalsha' ? `evalsha ${String(command.args[0])}` : command.name);
      return send(command as never);
    }) as typeof conn.client.sendCommand;
    // The node's clock jumps 2 s ahead: the next heartbeats carry the new offset.
    skew = 500;
    const left = waitEvent(a, 'leave', 'b');
    await b.halt();
    await left;
    // A slow heartbeat is not taken as a sample (see ClusterClock.observe): wait for one that is, with a loaded machine's margin.
    for (const deadline = Date.now() + 10_000; clock.offsetMs < 450 && Date.now() < deadline;) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(clock.offsetMs).toBeGreaterThan(450);
    expect(clock.offsetMs).toBeLessThan(550);
    // One script (the heartbeat) and b's job list read once when b was first seen: no TIME, no list call.
    const scriptsRun = new Set(sent.filter((c) => c.startsWith('evalsha ')));
    expect(scriptsRun.size).toBe(1);
    expect(sent.filter((c) => !c.startsWith('evalsha ') && c !== 'eval' && c !== 'get')).toEqual([]);
    expect(sent.filter((c) => c === 'get').length).toBeLessThanOrEqual(1);
  });

  it('advertises the cluster clock offset', async () => {
    const conn = connect();
    const { SystemClock } = await import('@sched/core');
    const clock = new ClusterClock(conn, { base: new SystemClock({ offsetMs: -1_500 }), warnThresholdMs: 10_000 });
    const a = new RedisNodeRegistry(conn, { nodeId: 'skewed', heartbeatIntervalMs: 100, nodeTtlMs: 400, clock });
    registries.push(a);
    await a.register(info([]));
    const [node] = await a.getAllNodes();
    expect(node?.clockOffsetMs).toBeGreaterThan(-1_550);
    expect(node?.clockOffsetMs).toBeLessThan(-1_450);
  });
});
