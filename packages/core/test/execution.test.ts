import { describe, expect, it } from 'vitest';
import {
  Chain,
  ErrorCode,
  JobTimeoutError,
  isSchedError,
  withRecover,
  withTimeout,
  type ExecutionOutcome,
  type JobWrapper,
  type RetryEvent,
  type SkipEvent,
} from '../src/index.js';
import { T0, recorder, setup, stopWith } from './helpers.js';

describe('error capture', () => {
  it.each([
    ['a rejected promise', async () => Promise.reject(new Error('boom')), 'boom'],
    [
      'a synchronous throw',
      () => {
        throw new Error('sync boom');
      },
      'sync boom',
    ],
    [
      'a thrown string',
      () => {
        throw 'just a string';
      },
      'threw "just a string"',
    ],
    [
      'a thrown object',
      () => {
        throw { reason: 42 };
      },
      'threw {"reason":42}',
    ],
  ])('%s is a recorded failure, never a crash', async (_label, body, message) => {
    const { sched, clock } = setup();
    const failures: ExecutionOutcome[] = [];
    sched.on('fail', (o) => failures.push(o));
    sched.registerJob({ name: 'bad', execute: body as () => void }, { cronSpec: '* * * * * *' });
    await sched.start();
    await clock.advance(2_000);
    expect(failures.length).toBe(2);
    expect(failures[0]?.status).toBe('failed');
    expect(failures[0]?.error?.message).toContain(message);
    const snap = await sched.snapshotRepository.get(failures[0]?.executionId as string);
    expect(snap).toMatchObject({ status: 'failed', jobName: 'bad' });
    expect(snap?.errorMessage).toContain(message);
    expect(snap?.errorStack).toBeTruthy();
    expect(sched.getJobMetrics('bad')).toMatchObject({ executionCount: 2, failureCount: 2, successCount: 0, successRate: 0 });
    await sched.stop();
  });
});

describe('timeoutMs', () => {
  it('aborts ctx.signal with a JobTimeoutError and records timeout', async () => {
    const { sched, clock } = setup();
    let reason: unknown;
    const timeouts: ExecutionOutcome[] = [];
    sched.on('timeout', (o) => timeouts.push(o));
    sched.registerJob(
      {
        name: 'stuck',
        async execute(ctx) {
          ctx.signal.addEventListener('abort', () => {
            reason = ctx.signal.reason;
          });
          await clock.sleep(60_000, ctx.signal);
        },
      },
      { cronSpec: '0 * * * * *', timeoutMs: 1_500 },
    );
    await sched.start();
    await clock.advance(61_500);
    expect(reason).toBeInstanceOf(JobTimeoutError);
    expect(timeouts).toHaveLength(1);
    expect(timeouts[0]).toMatchObject({ status: 'timeout', durationMs: 1_500 });
    expect(timeouts[0]?.error?.code).toBe(ErrorCode.JobTimeout);
    expect(sched.getJobMetrics('stuck')).toMatchObject({ timeoutCount: 1, failureCount: 1 });
    await sched.stop();
  });

  it('a copy of ctx ({ ...ctx }) carries the same signal, and SPEC.md fields only', async () => {
    const { sched, clock } = setup();
    let copy: Record<string, unknown> | undefined;
    let copiedSignal: AbortSignal | undefined;
    sched.registerJob(
      {
        name: 'spread',
        async execute(ctx) {
          const spread = { ...ctx };
          copy = spread;
          copiedSignal = spread.signal;
          await clock.sleep(60_000, spread.signal);
        },
      },
      { cronSpec: '0 * * * * *', timeoutMs: 1_000 },
    );
    await sched.start();
    await clock.advance(60_000);
    expect(Object.keys(copy ?? {})).toEqual([
      'jobName',
      'fireId',
      'executionId',
      'scheduledAt',
      'nodeId',
      'attempt',
      'signal',
      'logger',
      'fencingToken',
      'params',
      'missedCount',
      'missedFrom',
      'shard',
    ]);
    expect(copiedSignal).toBeInstanceOf(AbortSignal);
    expect(copiedSignal?.aborted).toBe(false);
    await clock.advance(1_000);
    expect(copiedSignal?.aborted).toBe(true);
    expect(copiedSignal?.reason).toBeInstanceOf(JobTimeoutError);
    await sched.stop();
  });

  it("ctx.logger logs with the execution's fields, one logger an execution, a copy of ctx the same", async () => {
    const { sched, clock, logger } = setup();
    const seen: Array<{ executionId: string; same: boolean }> = [];
    sched.registerJob(
      {
        name: 'talky',
        execute(ctx) {
          const copy = { ...ctx };
          seen.push({ executionId: ctx.executionId, same: ctx.logger === ctx.logger && copy.logger === ctx.logger });
          ctx.logger.info('working', { step: 1 });
          copy.logger.warn('copied');
        },
      },
      { cronSpec: '0 * * * * *' },
    );
    await sched.start();
    await clock.advance(120_000);
    expect(seen).toHaveLength(2);
    expect(seen.every((s) => s.same)).toBe(true);
    const lines = logger.lines.filter((l) => l.msg === 'working' || l.msg === 'copied');
    expect(lines.map((l) => [l.level, l.msg, l.fields?.executionId])).toEqual([
      ['info', 'working', seen[0]?.executionId],
      ['warn', 'copied', seen[0]?.executionId],
      ['info', 'working', seen[1]?.executionId],
      ['warn', 'copied', seen[1]?.executionId],
    ]);
    expect(lines[0]?.fields).toMatchObject({ jobName: 'talky', fireId: `talky@${T0 + 60_000}`, step: 1 });
    await sched.stop();
  });

  it('frees the slot even when the job ignores the signal', async () => {
    const { sched, clock } = setup({ maxConcurrency: 1 });
    const { runs, job } = recorder(clock);
    sched.registerJob(
      job('deaf', () => new Promise<void>(() => {})),
      { cronSpec: '0 * * * * *', timeoutMs: 1_000, priority: 90 },
    );
    sched.registerJob(job('next'), { cronSpec: '0 * * * * *', priority: 10 });
    await sched.start();
    await clock.advance(61_000);
    expect(runs.map((r) => [r.jobName, r.startedAt - T0])).toEqual([
      ['deaf', 60_000],
      ['next', 61_000],
    ]);
    await sched.stop();
  });
});

describe('retries', () => {
  it('retries with exponential backoff; ctx.attempt counts; the fire outcome is the last attempt', async () => {
    const { sched, clock } = setup();
    const attempts: Array<[number, number]> = [];
    const retries: RetryEvent[] = [];
    sched.on('retry', (e) => retries.push(e));
    sched.registerJob(
      {
        name: 'flaky',
        execute(ctx) {
          attempts.push([ctx.attempt, clock.now() - T0]);
          if (ctx.attempt < 3) throw new Error(`attempt ${ctx.attempt} failed`);
        },
      },
      { cronSpec: '0 0 * * * *', retry: { attempts: 4, backoffMs: 1_000, factor: 3 } },
    );
    await sched.start();
    await clock.advance(3_600_000 + 10_000);
    expect(attempts).toEqual([
      [1, 3_600_000],
      [2, 3_601_000],
      [3, 3_604_000],
    ]);
    expect(retries.map((r) => [r.attempt, r.delayMs])).toEqual([
      [1, 1_000],
      [2, 3_000],
    ]);
    expect(sched.getJobMetrics('flaky')).toMatchObject({ executionCount: 3, fireCount: 1, failureCount: 2, successCount: 1 });
    const snaps = (await sched.snapshotRepository.list({ jobName: 'flaky' })).items;
    expect(snaps.map((s) => [s.attempt, s.status])).toEqual([
      [3, 'completed'],
      [2, 'failed'],
      [1, 'failed'],
    ]);
    expect(new Set(snaps.map((s) => s.fireId)).size).toBe(1);
    await sched.stop();
  });

  it('gives up after the last attempt; a trigger resolves with the last outcome', async () => {
    const { sched, clock } = setup();
    sched.registerJob(
      {
        name: 'doomed',
        execute(ctx) {
          throw new Error(`no luck ${ctx.attempt}`);
        },
      },
      { retry: { attempts: 2, backoffMs: 10 } },
    );
    await sched.start();
    const outcome = sched.trigger('doomed');
    await clock.advance(100);
    await expect(outcome).resolves.toMatchObject({ status: 'failed', attempt: 2, error: { message: 'no luck 2' } });
    await sched.stop();
  });

  it('retries a timeout, caps the delay at maxBackoffMs, frees the slot while waiting', async () => {
    const { sched, clock } = setup({ maxConcurrency: 1 });
    const { runs, job } = recorder(clock);
    sched.registerJob(
      job('slowpoke', () => clock.sleep(10_000)),
      {
        cronSpec: '0 * * * * *',
        timeoutMs: 100,
        retry: { attempts: 3, backoffMs: 5_000, factor: 10, maxBackoffMs: 6_000 },
        priority: 90,
      },
    );
    sched.registerJob(job('other'), { cronSpec: '0 * * * * *', priority: 10 });
    await sched.start();
    await clock.advance(60_000 + 100 + 5_000 + 100 + 6_000 + 100);
    expect(runs.map((r) => [r.jobName, r.startedAt - T0 - 60_000])).toEqual([
      ['slowpoke', 0],
      ['other', 100],
      ['slowpoke', 5_100],
      ['slowpoke', 11_200],
    ]);
    await stopWith(sched, clock);
  });
});

describe('circuit breaker', () => {
  it('opens after maxFailures, skips with circuit-open, then one trial decides', async () => {
    const { sched, clock } = setup();
    let fail = true;
    const ran: number[] = [];
    const skips: SkipEvent[] = [];
    sched.on('skip', (s) => skips.push(s));
    sched.registerJob(
      {
        name: 'fragile',
        execute() {
          ran.push(clock.now() - T0);
          if (fail) throw new Error('down');
        },
      },
      { cronSpec: '* * * * * *', circuitBreaker: { maxFailures: 3, resetTimeoutMs: 4_500 } },
    );
    await sched.start();
    await clock.advance(3_000);
    expect(ran).toEqual([1_000, 2_000, 3_000]);
    expect(sched.getJob('fragile').breaker).toBe('open');
    // Open until 3 s + 4.5 s = 7.5 s: fires at 4..7 s are skipped.
    await clock.advance(4_000);
    expect(skips.map((s) => [s.reason, (s.scheduledAt as Date).getTime() - T0])).toEqual([
      ['circuit-open', 4_000],
      ['circuit-open', 5_000],
      ['circuit-open', 6_000],
      ['circuit-open', 7_000],
    ]);
    // The 8 s fire is the trial; it fails, so the breaker opens again until 12.5 s.
    await clock.advance(1_000);
    expect(ran).toEqual([1_000, 2_000, 3_000, 8_000]);
    expect(sched.getJob('fragile').breaker).toBe('open');
    fail = false;
    await clock.advance(5_000);
    // 9..12 s skipped; the 13 s trial succeeds and closes the breaker.
    expect(ran).toEqual([1_000, 2_000, 3_000, 8_000, 13_000]);
    expect(sched.getJob('fragile').breaker).toBe('closed');
    await clock.advance(2_000);
    expect(ran).toEqual([1_000, 2_000, 3_000, 8_000, 13_000, 14_000, 15_000]);
    expect(sched.getJobMetrics('fragile')).toMatchObject({ skippedCount: 8, failureCount: 4, successCount: 3 });
    await sched.stop();
  });

  it('a fire that succeeds after retries counts as a success for the breaker', async () => {
    const { sched, clock } = setup();
    let n = 0;
    sched.registerJob(
      {
        name: 'wobbly',
        execute() {
          n += 1;
          if (n % 2 === 1) throw new Error('first attempt of each fire fails');
        },
      },
      {
        cronSpec: '* * * * * *',
        retry: { attempts: 2, backoffMs: 10 },
        circuitBreaker: { maxFailures: 1, resetTimeoutMs: 60_000 },
      },
    );
    await sched.start();
    await clock.advance(5_100);
    expect(sched.getJob('wobbly').breaker).toBe('closed');
    expect(n).toBe(10);
    await sched.stop();
  });
});

describe('cancel', () => {
  it('aborts a running execution; it is recorded cancelled and not retried', async () => {
    const { sched, clock } = setup();
    const started = sched.waitFor('start');
    sched.registerJob(
      { name: 'long', execute: (ctx) => clock.sleep(60_000, ctx.signal) },
      { cronSpec: '0 * * * * *', retry: { attempts: 3 } },
    );
    await sched.start();
    await clock.advance(60_000);
    const { executionId } = await started;
    const cancelled = sched.waitFor('cancel');
    expect(await sched.cancel(executionId)).toBe(true);
    const outcome = await cancelled;
    expect(outcome).toMatchObject({ status: 'cancelled', executionId, attempt: 1 });
    expect(outcome.error?.code).toBe(ErrorCode.JobCancelled);
    expect(await sched.cancel(executionId)).toBe(false);
    await clock.advance(10_000);
    expect(sched.getJobMetrics('long')).toMatchObject({ executionCount: 1, cancelledCount: 1, failureCount: 0 });
    expect((await sched.snapshotRepository.get(executionId))?.status).toBe('cancelled');
    await stopWith(sched, clock);
  });
});

describe('synchronous jobs', () => {
  it('a synchronous job ends as it returns or throws; one cancelled while it ran is recorded cancelled', async () => {
    const { sched, clock } = setup();
    const outcomes: Array<{ jobName: string; status: string }> = [];
    for (const e of ['complete', 'fail', 'cancel'] as const)
      sched.on(e, (o) => outcomes.push({ jobName: o.jobName, status: o.status }));
    sched.registerJob({ name: 'ok', execute() {} }, { cronSpec: '0 * * * * *' });
    sched.registerJob(
      {
        name: 'throws',
        execute() {
          throw new Error('boom');
        },
      },
      { cronSpec: '0 * * * * *' },
    );
    sched.registerJob(
      {
        name: 'cancelled',
        execute(ctx) {
          // The abort lands while the job still runs: it cannot stop a synchronous job, but it is its outcome.
          void sched.cancel(ctx.executionId);
        },
      },
      { cronSpec: '0 * * * * *' },
    );
    await sched.start();
    await clock.advance(60_000);
    await clock.advance(100);
    expect(outcomes.sort((a, b) => a.jobName.localeCompare(b.jobName))).toEqual([
      { jobName: 'cancelled', status: 'cancelled' },
      { jobName: 'ok', status: 'completed' },
      { jobName: 'throws', status: 'failed' },
    ]);
    await stopWith(sched, clock);
  });
});

describe('chain', () => {
  it('applies wrappers as a(b(c(job)))', async () => {
    const { clock } = setup();
    const order: string[] = [];
    const tag =
      (name: string): JobWrapper =>
      (job) => ({
        name: job.name,
        async execute(ctx) {
          order.push(`${name}>`);
          await job.execute(ctx);
          order.push(`<${name}`);
        },
      });
    const { sched } = setup({ clock, chain: new Chain(tag('a'), tag('b'), tag('c')) });
    sched.registerJob({ name: 'core', execute: () => void order.push('job') }, { cronSpec: '* * * * * *' });
    await sched.start();
    await clock.advance(1_000);
    expect(order).toEqual(['a>', 'b>', 'c>', 'job', '<c', '<b', '<a']);
    await sched.stop();
  });

  it('withRecover logs the throw and the run stays failed', async () => {
    const { sched, clock, logger } = setup({ chain: new Chain(withRecover()) });
    sched.registerJob(
      {
        name: 'panics',
        execute() {
          throw 'panic!';
        },
      },
      { cronSpec: '* * * * * *' },
    );
    await sched.start();
    const failed = sched.waitFor('fail');
    await clock.advance(1_000);
    expect((await failed).error?.message).toContain('"panic!"');
    expect(logger.lines.some((l) => l.level === 'error' && l.msg === 'job threw')).toBe(true);
    await sched.stop();
  });

  it('withTimeout aborts by the scheduler clock and records a timeout', async () => {
    const { clock } = setup();
    const { sched } = setup({ clock, chain: new Chain(withTimeout(250)) });
    let aborted: unknown;
    sched.registerJob(
      {
        name: 'slow',
        async execute(ctx) {
          try {
            await clock.sleep(1_000, ctx.signal);
          } catch (e) {
            aborted = e;
            throw e;
          }
        },
      },
      { cronSpec: '* * * * * *' },
    );
    await sched.start();
    const timedOut = sched.waitFor('timeout');
    await clock.advance(1_250);
    expect((await timedOut).durationMs).toBe(250);
    expect(isSchedError(aborted, ErrorCode.JobTimeout)).toBe(true);
    await stopWith(sched, clock);
  });

  it('rejects a wrapper that is not a function and a bad withTimeout', () => {
    expect(() => new Chain(42 as never)).toThrow(/every wrapper must be a function/);
    expect(() => withTimeout(0)).toThrow(/positive integer/);
  });
});
