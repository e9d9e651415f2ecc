import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Counter, Registry, register as globalRegister } from 'prom-client';
import { Chain, InvalidArgumentError, Scheduler, silentLogger, type SchedulerOptions } from '@sched/core';
import { FakeClock } from '@sched/core/testing';
import { METRICS, MetricsCollector, metricsHandler, withMetrics } from '../src/index.js';
import { parseExposition } from './exposition.js';

const T0 = Date.UTC(2026, 0, 1);

function scheduler(options: SchedulerOptions = {}) {
  const clock = new FakeClock(T0);
  const sched = new Scheduler({ clock, logger: silentLogger, ...options });
  return { sched, clock };
}

/** Stops `sched`, moving fake time on while it waits for its running jobs. */
async function stop(sched: Scheduler, clock: FakeClock): Promise<void> {
  const stopping = sched.stop();
  await clock.advance(2_000);
  await stopping;
}

describe('MetricsCollector', () => {
  it('after a known sequence, getJobMetrics and the /metrics text hold the same exact figures', async () => {
    const collector = new MetricsCollector();
    const { sched, clock } = scheduler({ chain: new Chain(withMetrics(collector)) });
    // 'mixed', fire n (1-based): 1, 2 succeed in 100 ms; 3 fails after 300 ms; 4 times out at 500 ms; 5 succeeds in 100 ms.
    const plan = [100, 100, -300, 10_000, 100];
    let i = 0;
    sched.registerJob(
      {
        name: 'mixed',
        async execute(ctx) {
          const ms = plan[i++] as number;
          await clock.sleep(Math.abs(ms), ctx.signal);
          if (ms < 0) throw new Error('planned failure');
        },
      },
      { cronSpec: '* * * * * *', timeoutMs: 500 },
    );
    // 'slow' takes 1.5 s every second with overlapPrevent: every other instant is skipped (overlap).
    sched.registerJob(
      { name: 'slow', execute: (ctx) => clock.sleep(1_500, ctx.signal) },
      { cronSpec: '* * * * * *', overlapPrevent: true },
    );
    sched.registerJob({ name: 'manual', execute() {} });
    await sched.start();
    await clock.advance(5_000);
    await Promise.all([sched.trigger('manual'), sched.trigger('manual')]);
    const during = parseExposition(await collector.metrics());
    await stop(sched, clock);

    const mixed = sched.getJobMetrics('mixed');
    expect(mixed).toMatchObject({
      executionCount: 5,
      attemptCount: 5,
      fireCount: 5,
      successCount: 3,
      failureCount: 2,
      timeoutCount: 1,
      successRate: 3 / 5,
      avgExecutionTimeMs: (100 + 100 + 300 + 500 + 100) / 5,
    });
    const slow = sched.getJobMetrics('slow');
    expect(slow).toMatchObject({ successCount: 3, skippedCount: 2 });

    const text = parseExposition(await collector.metrics());
    const n = (name: string) => `sched_${name}`;
    expect(text.value(n('executions_total'), { job_name: 'mixed', status: 'completed' })).toBe(mixed.successCount);
    expect(text.value(n('executions_total'), { job_name: 'mixed', status: 'failed' })).toBe(1);
    expect(text.value(n('executions_total'), { job_name: 'mixed', status: 'timeout' })).toBe(mixed.timeoutCount);
    expect(text.value(n('executions_total'), { job_name: 'mixed' })).toBe(mixed.executionCount);
    const duration = text.histogram(n('execution_duration_seconds'), { job_name: 'mixed' });
    expect(duration.count).toBe(mixed.executionCount);
    expect(duration.sum * 1_000).toBeCloseTo(mixed.avgExecutionTimeMs * mixed.executionCount, 6);
    expect(text.histogram(n('execution_duration_seconds'), { job_name: 'mixed', status: 'timeout' })).toEqual({
      count: 1,
      sum: 0.5,
    });
    expect(text.value(n('skips_total'), { job_name: 'slow', reason: 'overlap' })).toBe(slow.skippedCount);
    expect(text.value(n('fires_total'), { job_name: 'manual', kind: 'manual' })).toBe(2);
    expect(text.value(n('fires_total'), { job_name: 'mixed', kind: 'cron' })).toBe(5);
    // Every cron fire's first attempt, exactly on time on the fake clock.
    expect(text.histogram(n('fire_lateness_seconds'), { job_name: 'mixed' })).toEqual({ count: 5, sum: 0 });
    expect(text.value(n('live_nodes'))).toBe(0); // detached at stop
    // Read at 5 s: the fires of 5 s of 'mixed' (100 ms) and 'slow' (1.5 s) had just started; the node saw itself.
    expect(during.value(n('running_executions'))).toBe(2);
    expect(during.value(n('queued_fires'))).toBe(0);
    expect(during.value(n('live_nodes'))).toBe(1);
    expect(text.value(n('errors_total'))).toBe(0);
  });

  it('a custom registry and prefix: the metrics go there with the constant labels, and the global registry is untouched', async () => {
    const before = (await globalRegister.getMetricsAsJSON()).map((m) => m.name);
    const registry = new Registry();
    const mine = new Counter({ name: 'app_requests_total', help: 'the app’s own', registers: [registry] });
    mine.inc();
    const collector = new MetricsCollector({ registry, prefix: 'billing_sched_', labels: { service: 'billing' } });
    const { sched, clock } = scheduler({ metricsSink: collector });
    sched.registerJob({ name: 'a', execute() {} }, { cronSpec: '* * * * * *' });
    await sched.start();
    await clock.advance(3_000);
    await stop(sched, clock);

    const text = parseExposition(await registry.metrics());
    expect(text.value('billing_sched_executions_total', { job_name: 'a', status: 'completed', service: 'billing' })).toBe(3);
    expect(text.value('app_requests_total')).toBe(1);
    expect(text.names.filter((x) => x.startsWith('billing_sched_')).sort()).toEqual(collector.names.sort());
    expect(collector.names).toHaveLength(Object.keys(METRICS).length);
    const after = (await globalRegister.getMetricsAsJSON()).map((m) => m.name);
    expect(after).toEqual(before);
    expect(after.some((x) => x.includes('sched_'))).toBe(false);
  });

  it("merges into the user's registry, reads back as JSON, and resets with the registry", async () => {
    const collector = new MetricsCollector();
    const { sched, clock } = scheduler({ metricsSink: collector });
    sched.registerJob({ name: 'a', execute: () => clock.sleep(30) }, { cronSpec: '* * * * * *' });
    await sched.start();
    await clock.advance(2_000);
    await stop(sched, clock);

    const app = new Registry();
    new Counter({ name: 'app_requests_total', help: 'the app’s own', registers: [app] }).inc(4);
    const merged = parseExposition(await Registry.merge([app, collector.registry]).metrics());
    expect(merged.value('app_requests_total')).toBe(4);
    expect(merged.value('sched_executions_total', { job_name: 'a', status: 'completed' })).toBe(2);
    expect(merged.histogram('sched_execution_duration_seconds', { job_name: 'a' })).toEqual({ count: 2, sum: 0.06 });

    const json = await collector.registry.getMetricsAsJSON();
    const duration = json.find((m) => m.name === 'sched_execution_duration_seconds');
    expect(duration?.type).toBe('histogram');
    expect(duration?.values).toContainEqual({
      labels: { job_name: 'a', status: 'completed', le: 0.05 },
      value: 2,
      metricName: 'sched_execution_duration_seconds_bucket',
    });
    expect(duration?.values).toContainEqual({
      labels: { job_name: 'a', status: 'completed', le: 0.025 },
      value: 0,
      metricName: 'sched_execution_duration_seconds_bucket',
    });

    collector.registry.resetMetrics();
    const after = parseExposition(await collector.metrics());
    expect(after.value('sched_executions_total')).toBe(0);
    expect(after.histogram('sched_execution_duration_seconds')).toEqual({ count: 0, sum: 0 });
  });

  it('counts again from zero after a registry reset, and keeps each status and kind apart', async () => {
    const collector = new MetricsCollector();
    const outcome = (status: 'completed' | 'failed' | 'abandoned', durationMs: number) =>
      ({
        jobName: 'a',
        fireId: 'a@1',
        executionId: 'x',
        nodeId: 'n',
        status,
        attempt: 1,
        scheduledAt: undefined,
        startedAt: new Date(T0),
        finishedAt: new Date(T0 + durationMs),
        durationMs,
        kind: 'cron',
      }) as const;
    const run = (status: 'completed' | 'failed' | 'abandoned', durationMs: number, kind: 'cron' | 'manual' = 'cron') => {
      collector.record({ type: 'fire', jobName: 'a', kind, lateMs: 0 });
      collector.record({ type: 'start', jobName: 'a', kind, attempt: 1, lateMs: 20 });
      collector.record({ type: 'execution', outcome: outcome(status, durationMs), kind });
    };
    run('completed', 100);
    run('failed', 300, 'manual');
    run('completed', 100);
    run('abandoned', 0);
    let text = parseExposition(await collector.metrics());
    expect(text.value('sched_executions_total', { job_name: 'a', status: 'completed' })).toBe(2);
    expect(text.value('sched_executions_total', { job_name: 'a', status: 'failed' })).toBe(1);
    expect(text.value('sched_executions_total', { job_name: 'a', status: 'abandoned' })).toBe(1);
    expect(text.value('sched_fires_total', { job_name: 'a', kind: 'cron' })).toBe(3);
    expect(text.value('sched_fires_total', { job_name: 'a', kind: 'manual' })).toBe(1);
    expect(text.histogram('sched_execution_duration_seconds', { job_name: 'a', status: 'completed' })).toEqual({
      count: 2,
      sum: 0.2,
    });
    expect(text.histogram('sched_execution_duration_seconds', { job_name: 'a', status: 'failed' })).toEqual({
      count: 1,
      sum: 0.3,
    });
    expect(text.histogram('sched_fire_lateness_seconds', { job_name: 'a' })).toEqual({ count: 4, sum: 0.08 });

    collector.registry.resetMetrics();
    run('completed', 200);
    text = parseExposition(await collector.metrics());
    expect(text.value('sched_executions_total', { job_name: 'a', status: 'completed' })).toBe(1);
    expect(text.samples.some((x) => x.name === 'sched_executions_total' && x.labels.status === 'failed')).toBe(false);
    expect(text.value('sched_fires_total', { job_name: 'a', kind: 'cron' })).toBe(1);
    expect(text.histogram('sched_execution_duration_seconds', { job_name: 'a', status: 'completed' })).toEqual({
      count: 1,
      sum: 0.2,
    });
    expect(text.histogram('sched_fire_lateness_seconds', { job_name: 'a' })).toEqual({ count: 1, sum: 0.02 });
  });

  it('perJob: false drops the job_name label (a small series count for many jobs)', async () => {
    const collector = new MetricsCollector({ perJob: false });
    const { sched, clock } = scheduler({ metricsSink: collector });
    for (const name of ['a', 'b', 'c']) sched.registerJob({ name, execute() {} }, { cronSpec: '* * * * * *' });
    await sched.start();
    await clock.advance(2_000);
    await stop(sched, clock);
    const { samples } = parseExposition(await collector.metrics());
    expect(samples.filter((s) => s.name === 'sched_executions_total')).toEqual([
      { name: 'sched_executions_total', labels: { status: 'completed' }, value: 6 },
    ]);
  });

  it('bad options are typed errors that say what is wrong', () => {
    expect(() => new MetricsCollector({ prefix: '9bad' })).toThrow(InvalidArgumentError);
    expect(() => new MetricsCollector({ labels: { job_name: 'x' } })).toThrow(/job_name/);
    expect(() => new MetricsCollector({ labels: { 'bad-name': 'x' } })).toThrow(InvalidArgumentError);
    expect(() => new MetricsCollector({ durationBuckets: [1, 0.5] })).toThrow(/increasing order/);
    const registry = new Registry();
    new MetricsCollector({ registry });
    expect(() => new MetricsCollector({ registry })).toThrow(/one collector per registry and prefix/);
    expect(() => new MetricsCollector({ registry, prefix: 'other_' })).not.toThrow();
  });

  it('store errors are counted apart from other errors, by operation', () => {
    const collector = new MetricsCollector();
    const unreachable = Object.assign(new Error('sched: claim: Redis did not answer'), { code: 'SCHED_STORE_UNAVAILABLE' });
    collector.record({ type: 'error', operation: 'claim', error: unreachable });
    collector.record({ type: 'error', operation: 'claim', error: new Error('wrapped', { cause: unreachable }) });
    collector.record({ type: 'error', operation: 'snapshot write', error: new Error('disk full') });
    collector.record({ type: 'claim-error', error: unreachable });
    collector.record({ type: 'lease-error', reason: 'renew-failed' });
    collector.record({ type: 'lease-error', reason: 'lost' });
    collector.record({ type: 'misfire', jobName: 'j', count: 7, policy: 'skip' });
    collector.record({ type: 'abandoned', jobName: 'j' });
    return collector.metrics().then((raw) => {
      const text = parseExposition(raw);
      expect(text.value('sched_errors_total', { operation: 'claim' })).toBe(2);
      expect(text.value('sched_errors_total', { operation: 'snapshot write' })).toBe(1);
      expect(text.value('sched_store_errors_total', { operation: 'claim' })).toBe(2);
      expect(text.value('sched_store_errors_total')).toBe(2);
      expect(text.value('sched_claim_errors_total')).toBe(1);
      expect(text.value('sched_lease_errors_total', { reason: 'lost' })).toBe(1);
      expect(text.value('sched_lease_errors_total')).toBe(2);
      expect(text.value('sched_misfires_total', { job_name: 'j', policy: 'skip' })).toBe(7);
      expect(text.value('sched_executions_total', { job_name: 'j', status: 'abandoned' })).toBe(1);
    });
  });
});

describe('metricsHandler', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it('serves the exposition text on GET with the registry content type; other methods get 405', async () => {
    const collector = new MetricsCollector();
    collector.record({ type: 'skip', jobName: 'a', reason: 'paused' });
    const handler = metricsHandler(collector);
    server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe(collector.registry.contentType);
    expect(parseExposition(await ok.text()).value('sched_skips_total', { job_name: 'a', reason: 'paused' })).toBe(1);
    const post = await fetch(url, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('a registry that fails to collect answers 500 and is logged', async () => {
    const registry = new Registry();
    new Counter({
      name: 'broken_total',
      help: 'throws when collected',
      registers: [registry],
      collect() {
        throw new Error('collect failed');
      },
    });
    const errors: unknown[] = [];
    const handler = metricsHandler(registry, { logger: { error: (msg) => void errors.push(msg) } });
    server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`);
    expect(res.status).toBe(500);
    expect(errors).toEqual(['metrics: the registry could not be collected']);
  });
});
