import { createHmac, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { canRunRedis } from '@sched/testkit';
import { redisScenarios, sleep, until, type Scenario } from './harness.js';

interface Result {
  ok: boolean;
  result?: { messageId: string; outcomes: Array<{ nodeId: string; status: string }> };
  code?: string;
  message?: string;
}

/** A remote run in the ledger: a start whose fire id is a remote one. */
const remoteStarts = (s: Scenario, job = 'job-0') => s.starts().filter((l) => l.job === job && l.fireId.includes('@remote-'));

/** What the README documents, with node:crypto only: hex HMAC-SHA256 of `timestamp.` + sorted-key JSON. */
function sign(envelope: Record<string, unknown>, secret: string): Record<string, unknown> {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sorted)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
          )
        : v;
  const signature = createHmac('sha256', secret)
    .update(`${String(envelope.timestamp)}.${JSON.stringify(sorted(envelope))}`)
    .digest('hex');
  return { ...envelope, signature };
}

describe.skipIf(!canRunRedis())('remote execution across node processes on Redis', () => {
  const suite = redisScenarios('remote');
  // Jobs that never fire on their own (1 January at midnight), 50 ms each.
  const make = (remote: { executeSecret?: string } = {}, durationMs = 50) =>
    suite.scenario({ jobs: 2, cronSpec: '0 0 0 1 1 *', durationMs, remote });

  it('each strategy runs the job on exactly the nodes it names', async () => {
    const s = make();
    await Promise.all(['a', 'b', 'c'].map((id) => s.start(id)));
    const execute = (from: string, request: Record<string, unknown>) =>
      s.command(from, 'execute', { jobName: 'job-0', timeoutMs: 5_000, ...request }) as Promise<Result>;
    const nodesOf = (r: Result) => (r.result?.outcomes ?? []).map((o) => o.nodeId).sort();
    // round-robin over 30 calls from the three nodes: 10/10/10.
    const counts = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const r = await execute(['a', 'b', 'c'][i % 3] as string, { routeStrategy: 'round-robin' });
      expect(r.ok, r.message).toBe(true);
      for (const n of nodesOf(r)) counts.set(n, (counts.get(n) ?? 0) + 1);
    }
    expect(Object.fromEntries(counts)).toEqual({ a: 10, b: 10, c: 10 });
    expect(nodesOf(await execute('b', { routeStrategy: 'broadcast' }))).toEqual(['a', 'b', 'c']);
    expect(nodesOf(await execute('c', { routeStrategy: 'first' }))).toEqual(['a']);
    expect(nodesOf(await execute('a', { routeStrategy: 'last' }))).toEqual(['c']);
    // Routed once by the caller: the envelope goes to the target's own channel only, nothing to the global one.
    const spy = new Redis(suite.url());
    const seen: string[] = [];
    try {
      await spy.psubscribe('*:execute:node:*');
      await spy.subscribe('scheduler:execute:global');
      spy.on('pmessage', (_p, channel: string) => seen.push(channel));
      spy.on('message', (channel: string) => seen.push(channel));
      expect(nodesOf(await execute('a', { routeStrategy: 'specific', nodeId: 'b' }))).toEqual(['b']);
      // The node channel carries the cluster's key prefix (`<keyPrefix>:v1:execute:node:<id>`).
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatch(/^[^:]+:v1:execute:node:b$/);
    } finally {
      spy.disconnect();
    }
    const sharded = await execute('a', { routeStrategy: 'sharding' });
    expect(nodesOf(sharded)).toEqual(['a', 'b', 'c']);
    const random = new Set<string>();
    let randomCalls = 0;
    for (; randomCalls < 60 && random.size < 3; randomCalls++) {
      for (const n of nodesOf(await execute('b', { routeStrategy: 'random' }))) random.add(n);
    }
    expect([...random].sort()).toEqual(['a', 'b', 'c']);
    // The ledger agrees: one run per outcome above (30 + broadcast 3 + first + last + specific + sharding 3 + random).
    expect(remoteStarts(s)).toHaveLength(30 + 3 + 1 + 1 + 1 + 3 + randomCalls);
    const bad = await execute('a', { routeStrategy: 'specific', nodeId: 'zz' });
    expect(bad).toMatchObject({ ok: false, code: 'SCHED_ROUTE_FAILED', message: expect.stringMatching(/zz/) });
    expect(await execute('a', { jobName: 'nope' })).toMatchObject({ ok: false, code: 'SCHED_UNKNOWN_JOB' });
  });

  it('a raw PUBLISH from a plain Redis client runs the job and gets its reply; duplicates run once', async () => {
    const s = make();
    await Promise.all(['a', 'b'].map((id) => s.start(id)));
    const sub = new Redis(suite.url());
    const pub = new Redis(suite.url());
    try {
      const replies: Array<{ messageId: string; nodeId: string; outcome: { status: string } }> = [];
      await sub.subscribe('my-replies');
      sub.on('message', (_c, m: string) => replies.push(JSON.parse(m) as (typeof replies)[number]));
      const messageId = randomUUID();
      const envelope = JSON.stringify({
        messageId,
        messageType: 'execute',
        jobName: 'job-1',
        routeStrategy: 'broadcast',
        timeoutMs: 5_000,
        replyTo: 'my-replies',
      });
      await pub.publish('scheduler:execute:global', envelope);
      await pub.publish('scheduler:execute:global', envelope); // delivered twice
      await until(() => replies.length >= 2, 10_000, 'the replies of both nodes');
      await sleep(500);
      expect(replies.map((r) => [r.messageId, r.nodeId, r.outcome.status]).sort()).toEqual([
        [messageId, 'a', 'completed'],
        [messageId, 'b', 'completed'],
      ]);
      expect(remoteStarts(s, 'job-1')).toHaveLength(2);
      // Malformed and unknown messages: refused, nothing runs, every node keeps running.
      await pub.publish('scheduler:execute:global', '{"messageId": 1');
      await pub.publish(
        'scheduler:execute:global',
        JSON.stringify({ messageId: 'x', messageType: 'execute', jobName: 'job-1', routeStrategy: 'nearest' }),
      );
      await pub.publish(
        'scheduler:execute:global',
        JSON.stringify({ messageId: 'y', messageType: 'execute', jobName: 'ghost', replyTo: 'my-replies' }),
      );
      await sleep(500);
      expect(remoteStarts(s, 'job-1')).toHaveLength(2);
      expect((await s.command('a', 'getJob', 'job-1')).ok).toBe(true);
    } finally {
      sub.disconnect();
      pub.disconnect();
    }
  });

  it('with executeSecret: a message signed with node:crypto runs; unsigned, tampered and replayed ones run nothing', async () => {
    const secret = 'e2e-secret';
    const s = make({ executeSecret: secret });
    await Promise.all(['a', 'b'].map((id) => s.start(id)));
    const pub = new Redis(suite.url());
    try {
      const base = { messageType: 'execute', jobName: 'job-1', routeStrategy: 'first', timeoutMs: 5_000 };
      const signed = sign({ ...base, messageId: randomUUID(), timestamp: Date.now() }, secret);
      await pub.publish('scheduler:execute:global', JSON.stringify(signed));
      await until(() => remoteStarts(s, 'job-1').length === 1, 10_000, 'the signed message to run');
      await pub.publish('scheduler:execute:global', JSON.stringify({ ...base, messageId: randomUUID() }));
      await pub.publish('scheduler:execute:global', JSON.stringify({ ...signed, jobName: 'job-0' }));
      await pub.publish('scheduler:execute:global', JSON.stringify(signed)); // the same message again
      const stale = sign({ ...base, messageId: randomUUID(), timestamp: Date.now() - 120_000 }, secret);
      await pub.publish('scheduler:execute:global', JSON.stringify(stale));
      await sleep(1_000);
      expect(remoteStarts(s, 'job-1')).toHaveLength(1);
      expect(remoteStarts(s, 'job-0')).toHaveLength(0);
      // Our own API signs too.
      expect((await s.command('b', 'execute', { jobName: 'job-0', routeStrategy: 'last', timeoutMs: 5_000 })).ok).toBe(true);
    } finally {
      pub.disconnect();
    }
  });

  it('a job slower than timeoutMs: the call rejects naming the node and the job is aborted', async () => {
    const s = make({}, 3_000);
    await Promise.all(['a', 'b'].map((id) => s.start(id)));
    const r = (await s.command('a', 'execute', {
      jobName: 'job-0',
      routeStrategy: 'specific',
      nodeId: 'b',
      timeoutMs: 500,
    })) as Result;
    expect(r).toMatchObject({ ok: false, code: 'SCHED_EXECUTE_TIMEOUT', message: expect.stringMatching(/"b"/) });
    await until(() => s.read().some((l) => l.ev === 'abort' && l.node === 'b'), 5_000, 'the run on b to be aborted');
  });

  it("'failover' completes on the next node when the first is killed -9; other strategies reject within the timeout", async () => {
    const s = make();
    await Promise.all(['a', 'b', 'c'].map((id) => s.start(id)));
    s.signal('a', 'SIGKILL');
    // Still listed for its TTL (1 s): the route names it first, it never accepts, b takes over after the hop.
    const failover = (await s.command('b', 'execute', {
      jobName: 'job-0',
      routeStrategy: 'failover',
      timeoutMs: 5_000,
    })) as Result;
    expect(failover.ok, failover.message).toBe(true);
    expect(failover.result?.outcomes.map((o) => o.nodeId)).toEqual(['b']);
    const first = (await s.command('c', 'execute', {
      jobName: 'job-0',
      routeStrategy: 'specific',
      nodeId: 'a',
      timeoutMs: 1_000,
    })) as Result;
    expect(first).toMatchObject({ ok: false });
    expect(['SCHED_EXECUTE_TIMEOUT', 'SCHED_ROUTE_FAILED']).toContain(first.code);
  });

  it('busy nodes: overlapPrevent (cluster-wide) makes the reply say skipped (overlap); failover moves on from a node with no free slot', async () => {
    const s = suite.scenario({
      jobs: 2,
      cronSpec: '0 0 0 1 1 *',
      durationMs: 3_000,
      overlapPrevent: true,
      maxConcurrency: 1,
      remote: {},
    });
    await Promise.all(['a', 'b', 'c'].map((id) => s.start(id)));
    const running = s.command('c', 'execute', { jobName: 'job-0', routeStrategy: 'specific', nodeId: 'a', timeoutMs: 10_000 });
    await until(() => remoteStarts(s).some((l) => l.node === 'a'), 5_000, 'the run on a');
    // Another run of job-0, on another node: overlapPrevent holds in the whole cluster.
    const again = (await s.command('b', 'execute', {
      jobName: 'job-0',
      routeStrategy: 'specific',
      nodeId: 'b',
      timeoutMs: 5_000,
    })) as Result;
    expect(again.result?.outcomes).toEqual([expect.objectContaining({ nodeId: 'b', status: 'skipped', skipReason: 'overlap' })]);
    // failover tries a first: its only slot is taken, so it declines and b runs job-1.
    const failover = (await s.command('c', 'execute', {
      jobName: 'job-1',
      routeStrategy: 'failover',
      timeoutMs: 10_000,
    })) as Result;
    expect(failover.result?.outcomes.map((o) => [o.nodeId, o.status])).toEqual([['b', 'completed']]);
    expect(((await running) as Result).result?.outcomes.map((o) => o.status)).toEqual(['completed']);
  });

  it("params failing the job's schema are refused with a clear error, on the API and on the wire; cancel aborts a run on another node", async () => {
    const s = make({}, 5_000);
    await Promise.all(['a', 'b'].map((id) => s.start(id)));
    const bad = (await s.command('a', 'execute', {
      jobName: 'strict',
      routeStrategy: 'specific',
      nodeId: 'b',
      params: { day: 3 },
      timeoutMs: 5_000,
    })) as Result;
    expect(bad.result?.outcomes).toEqual([
      expect.objectContaining({
        nodeId: 'b',
        status: 'failed',
        error: expect.objectContaining({ message: expect.stringMatching(/paramsSchema: day: expected a string/) }),
      }),
    ]);
    const good = (await s.command('a', 'execute', {
      jobName: 'strict',
      routeStrategy: 'specific',
      nodeId: 'b',
      params: { day: 'mon' },
      timeoutMs: 5_000,
    })) as Result;
    expect(good.result?.outcomes.map((o) => o.status)).toEqual(['completed']);
    // Cancel: a 5 s run on b, cancelled from a through the wire.
    const running = s.command('a', 'execute', { jobName: 'job-0', routeStrategy: 'specific', nodeId: 'b', timeoutMs: 20_000 });
    await until(() => remoteStarts(s).some((l) => l.node === 'b'), 5_000, 'the run on b');
    const executionId = remoteStarts(s).find((l) => l.node === 'b')?.executionId as string;
    expect((await s.command('a', 'cancel', executionId)).result).toBe(true);
    expect(((await running) as Result).result?.outcomes.map((o) => o.status)).toEqual(['cancelled']);
    expect((await s.command('a', 'cancel', 'no-such-execution')).result).toBe(false);
  });
});
