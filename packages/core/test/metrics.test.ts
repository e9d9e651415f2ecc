import { describe, expect, it } from 'vitest';
import type { ClusterMetrics, MetricsEvent, MetricsHost, MetricsSink } from '../src/index.js';
import { Chain, MemorySnapshotRepository, MissingPackageError, type JobWrapper } from '../src/index.js';
import { Counters } from '../src/engine/counters.js';
import { setup, stopWith } from './helpers.js';

describe("getMetrics from core's own counters", () => {
  it('counts a known sequence of successes, failures, timeouts and skips exactly', async () => {
    const { sched, clock } = setup();
    let i = 0;
    // Fire n (1-based): 1, 2 succeed in 100 ms; 3 fails after 300 ms; 4 times out at 500 ms; 5 succeeds in 100 ms.
    const plan = [100, 100, -300, 10_000, 100];
    sched.registerJob(
      {
        name: 'mixed',
        async execute(ctx) {
          const ms = plan[i++] as number;
          await clock.sleep(Math.abs(ms), ctx.signal);
          if (ms < 0) throw new Error('planned failure');
        },
      },
      { cronSpec: '* * * * * *', timeoutMs: 500, overlapPrevent: true },
    );
    sched.registerJob({ name: 'idle', execute() {} });
    await sched.start();
    await clock.advance(5_000);
    await stopWith(sched, clock);
    const m = sched.getJobMetrics('mixed');
    expect(m).toMatchObject({
      executionCount: 5,
      attemptCount: 5,
      fireCount: 5,
      successCount: 3,
      failureCount: 2,
      timeoutCount: 1,
      skippedCount: 0,
      lastStatus: 'completed',
    });
    expect(m.successRate).toBeCloseTo(3 / 5);
    expect(m.avgExecutionTimeMs).toBe((100 + 100 + 300 + 500 + 100) / 5);
    expect(m.p95ExecutionTimeMs).toBe(500);
    const all = sched.getMetrics();
    expect(all.totals).toMatchObject({ executionCount: 5, successCount: 3, failureCount: 2 });
    expect(all.jobs.idle).toMatchObject({ executionCount: 0, successRate: 0 });
    expect(() => sched.getJobMetrics('nope')).toThrow(/job "nope" is not registered/);
  });

  it('extra sinks get every event; a wrapper can attach its collector through the chain', async () => {
    const events: MetricsEvent['type'][] = [];
    const sink: MetricsSink = { record: (e) => void events.push(e.type) };
    const attached: MetricsEvent[] = [];
    const withCollector: JobWrapper = Object.assign((job: Parameters<JobWrapper>[0]) => job, {
      attach: (host: { addMetricsSink(s: MetricsSink): void }) =>
        host.addMetricsSink({ record: (e: MetricsEvent) => void attached.push(e) }),
    });
    const { sched, clock } = setup({ metricsSink: sink, chain: new Chain(withCollector) });
    sched.registerJob({ name: 'a', execute() {} }, { cronSpec: '* * * * * *' });
    await sched.start();
    await clock.advance(1_000);
    await sched.stop();
    expect(events).toEqual(['fire', 'start', 'execution', 'gauge']);
    expect(attached.map((e) => e.type)).toEqual(['fire', 'start', 'execution', 'gauge']);
  });

  it('a sink that throws is detached and logged; firing goes on', async () => {
    const { sched, clock, logger } = setup({
      metricsSink: {
        record() {
          throw new Error('sink bug');
        },
      },
    });
    sched.registerJob({ name: 'a', execute() {} }, { cronSpec: '* * * * * *' });
    await sched.start();
    await clock.advance(3_000);
    expect(sched.getJobMetrics('a').executionCount).toBe(3);
    expect(logger.lines.filter((l) => l.msg.includes('metrics sink threw'))).toHaveLength(1);
    await sched.stop();
  });

  it("a start carries the first cron attempt's lateness; a retry's start carries none", async () => {
    const starts: Array<Extract<MetricsEvent, { type: 'start' }>> = [];
    const { sched, clock } = setup({ metricsSink: { record: (e) => void (e.type === 'start' && starts.push(e)) } });
    let calls = 0;
    sched.registerJob(
      {
        name: 'flaky',
        execute() {
          if (++calls === 1) throw new Error('first attempt fails');
        },
      },
      { cronSpec: '* * * * * *', retry: { attempts: 2, backoffMs: 100 } },
    );
    await sched.start();
    await clock.advance(1_000);
    await clock.advance(200);
    await sched.stop();
    expect(starts.map((e) => [e.jobName, e.kind, e.attempt, e.lateMs])).toEqual([
      ['flaky', 'cron', 1, 0],
      ['flaky', 'cron', 2, undefined],
    ]);
    expect(sched.getJobMetrics('flaky')).toMatchObject({ attemptCount: 2, executionCount: 2, fireCount: 1, failureCount: 1 });
  });

  it('sinks are attached at start with a host that reads this node, and detached at stop', async () => {
    const calls: string[] = [];
    let seen: { metrics: number; load: { running: number; queued: number }; nodes: string[] } | undefined;
    const sink: MetricsSink = {
      record() {},
      async attach(host: MetricsHost) {
        calls.push(`attach ${host.nodeId}`);
        const nodes = await host.getNodes();
        seen = { metrics: Object.keys(host.getMetrics().jobs).length, load: host.load(), nodes: nodes.map((n) => n.nodeId) };
      },
      detach: (host) => void calls.push(`detach ${host.nodeId}`),
    };
    const { sched } = setup({ nodeId: 'n1', metricsSink: sink });
    sched.registerJob({ name: 'a', execute() {} }, { cronSpec: '* * * * * *' });
    sched.registerJob({ name: 'b', execute() {} });
    expect(calls).toEqual([]);
    await sched.start();
    expect(calls).toEqual(['attach n1']);
    expect(seen).toEqual({ metrics: 2, load: { running: 0, queued: 0 }, nodes: ['n1'] });
    expect(Object.keys(sched.getMetrics({ jobNames: ['b', 'unknown'] }).jobs)).toEqual(['b']);
    await sched.stop();
    expect(calls).toEqual(['attach n1', 'detach n1']);
  });

  it('getClusterMetrics needs a sink that can gather it, and a running scheduler', async () => {
    const plain = setup();
    await plain.sched.start();
    await expect(plain.sched.getClusterMetrics()).rejects.toBeInstanceOf(MissingPackageError);
    await expect(plain.sched.getClusterMetrics()).rejects.toThrow(/@sched\/metrics/);
    await plain.sched.stop();

    const answer = { nodes: [], missing: ['n2'] } as unknown as ClusterMetrics;
    const asked: unknown[] = [];
    const { sched } = setup({
      metricsSink: {
        record() {},
        getClusterMetrics: (host, options) => {
          asked.push([host.nodeId, options]);
          return Promise.resolve(answer);
        },
      },
    });
    await expect(sched.getClusterMetrics()).rejects.toThrow(/idle/);
    await sched.start();
    expect(await sched.getClusterMetrics({ timeoutMs: 50 })).toBe(answer);
    expect(asked).toEqual([[sched.nodeId, { timeoutMs: 50 }]]);
    await sched.stop();
  });

  it("failed operations reach the sinks as 'error' events", async () => {
    const errors: Array<Extract<MetricsEvent, { type: 'error' }>> = [];
    const { sched, clock } = setup({
      metricsSink: { record: (e) => void (e.type === 'error' && errors.push(e)) },
      snapshotRepository: new (class extends MemorySnapshotRepository {
        override record(): Promise<void> {
          return Promise.reject(new Error('history down'));
        }
      })(),
    });
    sched.registerJob({ name: 'a', execute() {} }, { cronSpec: '* * * * * *' });
    await sched.start();
    await clock.advance(1_000);
    await sched.stop();
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatchObject({ operation: 'snapshot write', error: { message: 'history down' } });
  });

  it('reports the load gauge once for the fires that end together, with the load after them', async () => {
    const events: MetricsEvent[] = [];
    const { sched, clock } = setup({ metricsSink: { record: (e) => void events.push(e) } });
    for (let i = 0; i < 20; i++) sched.registerJob({ name: `j${i}`, execute() {} }, { cronSpec: '* * * * * *' });
    await sched.start();
    await clock.advance(1_000);
    const ended = events.filter((e) => e.type === 'execution').length;
    const gauges = events.filter((e) => e.type === 'gauge');
    expect(ended).toBe(20);
    // Fires that end together share a gauge (one a fire before); it follows them and reads the load they left.
    expect(gauges.length).toBeGreaterThanOrEqual(1);
    expect(gauges.length).toBeLessThan(ended);
    expect(events.findLastIndex((e) => e.type === 'gauge')).toBeGreaterThan(events.findLastIndex((e) => e.type === 'execution'));
    expect(gauges.at(-1)).toEqual({ type: 'gauge', running: 0, queued: 0 });
    await sched.stop();
  });
});

describe('Counters', () => {
  it('an abandoned run found by this node is an execution and a failure, left out of the durations', () => {
    const counters = new Counters(() => 5_000);
    const outcome = (status: 'completed' | 'abandoned', durationMs: number) => ({
      type: 'execution' as const,
      kind: 'cron' as const,
      outcome: {
        jobName: 'j',
        fireId: 'j@1',
        executionId: 'e',
        nodeId: 'n',
        status,
        attempt: 1,
        scheduledAt: undefined,
        startedAt: new Date(0),
        finishedAt: new Date(1_000),
        durationMs,
        kind: 'cron' as const,
      },
    });
    counters.record(outcome('completed', 200));
    counters.record(outcome('abandoned', 9_000)); // its own node lost the lease
    counters.record({ type: 'abandoned', jobName: 'j' }); // found by this node's sweep
    expect(counters.forJob('j')).toMatchObject({
      executionCount: 3,
      successCount: 1,
      failureCount: 2,
      abandonedCount: 2,
      successRate: 1 / 3,
      avgExecutionTimeMs: 200,
      lastStatus: 'abandoned',
      lastExecutionAt: new Date(5_000),
    });
  });
});
