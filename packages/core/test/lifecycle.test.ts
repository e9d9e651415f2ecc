import { describe, expect, it } from 'vitest';
import { ErrorCode, JobAbortedError, SchedulerStateError, isSchedError, type ExecutionOutcome } from '../src/index.js';
import { T0, recorder, setup } from './helpers.js';

describe('start and stop', () => {
  it('start twice, or after stop, is a typed error', async () => {
    const { sched, logger } = setup();
    await sched.start();
    await expect(sched.start()).rejects.toBeInstanceOf(SchedulerStateError);
    await sched.stop();
    await expect(sched.start()).rejects.toThrow(/the scheduler is stopped/);
    expect(logger.lines.filter((l) => l.level === 'warn' && l.fields?.api === 'start')).toHaveLength(2);
    expect(sched.state).toBe('stopped');
  });

  it('a start that fails part-way detaches what it had attached, and may be retried', async () => {
    const calls: string[] = [];
    let fail = true;
    const first = { record() {}, attach: () => void calls.push('attach first'), detach: () => void calls.push('detach first') };
    const second = {
      record() {},
      attach: () => {
        calls.push('attach second');
        if (fail) throw new Error('sink backend down');
      },
      detach: () => void calls.push('detach second'),
    };
    const { sched } = setup({ metricsSink: [first, second] });
    await expect(sched.start()).rejects.toThrow(/sink backend down/);
    expect(calls).toEqual(['attach first', 'attach second', 'detach first']);
    expect(sched.state).toBe('idle');
    fail = false;
    calls.length = 0;
    await sched.start();
    expect(calls).toEqual(['attach first', 'attach second']);
    await sched.stop();
    expect(calls).toEqual(['attach first', 'attach second', 'detach first', 'detach second']);
  });

  it('trigger before start, and registerJob after stop, are typed errors', async () => {
    const { sched } = setup();
    sched.registerJob({ name: 'a', execute() {} });
    await expect(sched.trigger('a')).rejects.toMatchObject({ code: ErrorCode.InvalidState });
    await sched.stop();
    expect(() => sched.registerJob({ name: 'b', execute() {} })).toThrow(SchedulerStateError);
  });

  it('graceful stop: no new fires, waits for running jobs, which complete normally', async () => {
    const { sched, clock } = setup();
    const { runs, job } = recorder(clock);
    const outcomes: ExecutionOutcome[] = [];
    sched.on('complete', (o) => outcomes.push(o));
    sched.registerJob(
      job('work', () => clock.sleep(3_000)),
      { cronSpec: '0 * * * * *' },
    );
    await sched.start();
    await clock.advance(60_000);
    let stopped = false;
    const stopping = sched.stop({ timeoutMs: 10_000 }).then(() => {
      stopped = true;
    });
    await clock.advance(2_000);
    expect(stopped).toBe(false);
    expect(sched.state).toBe('stopping');
    await clock.advance(1_000);
    await stopping;
    expect(stopped).toBe(true);
    expect(outcomes.map((o) => o.status)).toEqual(['completed']);
    await clock.advance(120_000);
    expect(runs).toHaveLength(1);
  });

  it('at the deadline, running jobs are aborted through ctx.signal and recorded cancelled', async () => {
    const { sched, clock } = setup();
    let reason: unknown;
    sched.registerJob(
      {
        name: 'forever',
        async execute(ctx) {
          try {
            await clock.sleep(3_600_000, ctx.signal);
          } catch (e) {
            reason = e;
            throw e;
          }
        },
      },
      { cronSpec: '0 * * * * *' },
    );
    await sched.start();
    const started = sched.waitFor('start');
    await clock.advance(60_000);
    const { executionId } = await started;
    const cancelled = sched.waitFor('cancel');
    const stopping = sched.stop({ timeoutMs: 5_000 });
    await clock.advance(5_000);
    await stopping;
    expect(reason).toBeInstanceOf(JobAbortedError);
    expect(await cancelled).toMatchObject({ status: 'cancelled', executionId, durationMs: 5_000 });
    expect((await sched.snapshotRepository.get(executionId))?.status).toBe('cancelled');
  });

  it('queued fires are given back at stop; a waiting trigger rejects', async () => {
    const { sched, clock } = setup({ maxConcurrency: 1 });
    sched.registerJob({ name: 'hog', execute: () => clock.sleep(1_000) }, { cronSpec: '0 * * * * *' });
    sched.registerJob({ name: 'waiter', execute() {} });
    await sched.start();
    await clock.advance(60_000);
    const queued = sched.waitFor('fire', (e) => e.jobName === 'waiter');
    const waiting = sched.trigger('waiter');
    const { fireId } = await queued;
    expect(sched.getMetrics().queued).toBe(1);
    const stopping = sched.stop();
    await expect(waiting).rejects.toThrow(/stopped before fire waiter@manual-/);
    // The claim is given back: its lease ends now, so another node's sweep may take it.
    const record = await sched.schedulerCache.stateStore.getFireRecord(fireId);
    expect(record).toMatchObject({ state: 'claimed', expiresAt: clock.now() });
    await clock.advance(1_000);
    await stopping;
    expect(sched.getJobMetrics('waiter').executionCount).toBe(0);
  });

  it('a fire waiting to retry ends with its failed attempt at stop', async () => {
    const { sched, clock } = setup();
    sched.registerJob(
      {
        name: 'flaky',
        execute() {
          throw new Error('nope');
        },
      },
      { retry: { attempts: 5, backoffMs: 60_000 } },
    );
    await sched.start();
    const outcome = sched.trigger('flaky');
    await clock.advance(10);
    await sched.stop();
    await expect(outcome).resolves.toMatchObject({ status: 'failed', attempt: 1 });
  });

  it('stop is idempotent and await using disposes', async () => {
    const { sched } = setup();
    await sched.start();
    const a = sched.stop();
    expect(sched.stop()).toBe(a);
    await a;
    const second = setup();
    {
      await using s = second.sched;
      await s.start();
    }
    expect(second.sched.state).toBe('stopped');
  });

  it('a listener that throws does not break the scheduler; error without listeners does not throw', async () => {
    const { sched, clock, logger } = setup();
    const { runs, job } = recorder(clock);
    sched.on('fire', () => {
      throw new Error('listener bug');
    });
    sched.registerJob(job('a'), { cronSpec: '* * * * * *' });
    await sched.start();
    await clock.advance(2_000);
    expect(runs).toHaveLength(2);
    expect(logger.lines.some((l) => l.msg === 'event listener threw')).toBe(true);
    await sched.stop();
  });

  it('the registry lists this node with its jobs while running, and not after stop', async () => {
    const { sched } = setup({ nodeId: 'solo' });
    sched.registerJob({ name: 'a', execute() {} }, { cronSpec: '* * * * * *' });
    await sched.start();
    const nodes = await sched.getNodes();
    expect(nodes).toEqual([expect.objectContaining({ nodeId: 'solo', status: 'online', jobs: ['a'], pid: process.pid })]);
    // What it runs each job by, for consoles: defaults left out, changes advertised at once.
    expect(nodes[0]?.jobSummaries).toEqual({ a: { cronSpec: '* * * * * *', timezone: 'UTC', priority: 50 } });
    sched.registerJob({ name: 'b', execute() {} }, { enabled: false, priority: 90 });
    await sched.pause('a');
    await Promise.resolve();
    expect((await sched.getNodes())[0]?.jobSummaries).toEqual({
      a: { cronSpec: '* * * * * *', timezone: 'UTC', priority: 50, paused: true },
      b: { timezone: 'UTC', priority: 90, enabled: false },
    });
    await sched.stop();
    expect(await sched.getNodes()).toEqual([]);
  });
});

describe('trigger and execute', () => {
  it('trigger runs once now with params and a fresh fireId, paused or not', async () => {
    const { sched } = setup();
    let seen: { params: unknown; fireId: string; scheduledAt: unknown } | undefined;
    sched.registerJob(
      {
        name: 'manual',
        execute: (ctx) => void (seen = { params: ctx.params, fireId: ctx.fireId, scheduledAt: ctx.scheduledAt }),
      },
      { cronSpec: '0 0 0 1 1 *' },
    );
    await sched.start();
    await sched.pause('manual');
    const outcome = await sched.trigger('manual', { reportDate: '2025-01-01' });
    expect(outcome).toMatchObject({ status: 'completed', attempt: 1, jobName: 'manual' });
    expect(seen?.params).toEqual({ reportDate: '2025-01-01' });
    expect(seen?.fireId).toMatch(/^manual@manual-/);
    expect(seen?.scheduledAt).toBeUndefined();
    await expect(sched.trigger('nope')).rejects.toMatchObject({ code: ErrorCode.UnknownJob });
    await expect(sched.trigger('manual', 'x' as never)).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
    await sched.stop();
  });

  it('execute resolves every route strategy to the local node', async () => {
    const { sched } = setup({ nodeId: 'only' });
    sched.registerJob({ name: 'remote', execute() {} });
    await sched.start();
    for (const routeStrategy of ['first', 'last', 'random', 'round-robin', 'broadcast', 'sharding', 'failover'] as const) {
      const result = await sched.execute({ jobName: 'remote', routeStrategy });
      expect(result.outcomes).toEqual([expect.objectContaining({ nodeId: 'only', status: 'completed' })]);
      expect(typeof result.messageId).toBe('string');
    }
    const specific = await sched.execute({ jobName: 'remote', routeStrategy: 'specific', nodeId: 'only', messageId: 'm-1' });
    expect(specific.messageId).toBe('m-1');
    await expect(sched.execute({ jobName: 'remote', routeStrategy: 'specific', nodeId: 'other' })).rejects.toMatchObject({
      code: ErrorCode.RouteFailed,
    });
    await expect(sched.execute({ jobName: 'remote', routeStrategy: 'sideways' as never })).rejects.toThrow(
      /unknown routeStrategy "sideways"/,
    );
    await expect(sched.execute({ jobName: 'ghost' })).rejects.toMatchObject({ code: ErrorCode.UnknownJob });
    await sched.stop();
  });

  it('execute with timeoutMs aborts the job and rejects naming the node', async () => {
    const { sched, clock } = setup({ nodeId: 'n1' });
    let aborted = false;
    sched.registerJob({
      name: 'slow',
      async execute(ctx) {
        ctx.signal.addEventListener('abort', () => (aborted = true));
        await clock.sleep(10_000, ctx.signal);
      },
    });
    await sched.start();
    const call = sched.execute({ jobName: 'slow', timeoutMs: 500 });
    const settled = call.catch((e: unknown) => e);
    await clock.advance(500);
    const error = await settled;
    expect(isSchedError(error, ErrorCode.ExecuteTimeout)).toBe(true);
    expect((error as Error).message).toContain('"n1"');
    expect(aborted).toBe(true);
    await sched.stop();
  });

  it('nextFireTimes lists instants from now; unknown jobs and bad counts are typed errors', () => {
    const { sched } = setup();
    sched.registerJob({ name: 'q', execute() {} }, { cronSpec: '0 */15 * * * *' });
    expect(sched.nextFireTimes('q', 3).map((f) => f.scheduledAt.getTime() - T0)).toEqual([900_000, 1_800_000, 2_700_000]);
    expect(() => sched.nextFireTimes('zz')).toThrow(/job "zz" is not registered/);
    expect(() => sched.nextFireTimes('q', 0)).toThrow(/count must be an integer/);
  });
});

describe('a snapshot store that fails', () => {
  it('never stops firing; buffered snapshots appear once it is back', async () => {
    const { MemorySnapshotRepository, StoreUnavailableError } = await import('../src/index.js');
    const inner = new MemorySnapshotRepository({ maxPerJob: 1_000 });
    let down = true;
    const check = () => {
      if (down) throw new StoreUnavailableError('record', 'postgres is down (test)');
    };
    const repo = {
      record: async (s: Parameters<typeof inner.record>[0]) => (check(), inner.record(s)),
      update: async (id: string, p: Parameters<typeof inner.update>[1]) => (check(), inner.update(id, p)),
      get: (id: string) => inner.get(id),
      list: (f?: Parameters<typeof inner.list>[0]) => inner.list(f),
      getStatistics: (j: string, s: number | Date, e: number | Date) => inner.getStatistics(j, s, e),
    };
    const { sched, clock, logger } = setup({ snapshotRepository: repo });
    const { runs, job } = recorder(clock);
    const errors: string[] = [];
    sched.on('error', (e) => errors.push(e.operation));
    sched.registerJob(job('tick'), { cronSpec: '* * * * * *' });
    await sched.start();
    await clock.advance(5_000);
    expect(runs).toHaveLength(5);
    expect(errors).toContain('snapshot write');
    expect(logger.lines.some((l) => l.msg.includes('snapshot writes buffered'))).toBe(true);
    expect((await inner.list()).items).toHaveLength(0);
    down = false;
    await clock.advance(30_000);
    const stored = (await sched.snapshotRepository.list({ jobName: 'tick', limit: 1_000 })).items;
    expect(stored).toHaveLength(35);
    expect(stored.every((s) => s.status === 'completed')).toBe(true);
    await sched.stop();
  });
});
