import { describe, expect, it } from 'vitest';
import type { MetricsEvent, MetricsSink } from '../src/index.js';
import { Chain, type JobWrapper } from '../src/index.js';
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
    expect(events).toEqual(['fire', 'execution', 'gauge']);
    expect(attached.map((e) => e.type)).toEqual(['fire', 'execution', 'gauge']);
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
});
