import type { Job, JobContext } from './job.js';
import type { Clock } from './ports/clock.js';
import type { Logger } from './ports/logger.js';
import type { MetricsSink } from './ports/metrics-sink.js';
import { JobTimeoutError, toError } from './errors.js';

/** What a wrapper may use when it wraps a job (given once, at registration). */
export interface WrapperEnv {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly nodeId: string;
}

/** What a wrapper may attach to the scheduler it is used by (the extension point of `withMetrics`). */
export interface ChainHost {
  addMetricsSink(sink: MetricsSink): void;
}

/**
 * A decorator `(next) => next'` around a job (the seed's JobWrapper). A
 * wrapper may carry `attach(host)`, called once when the scheduler is built,
 * to hook into the scheduler (e.g. `withMetrics` adds its collector as a sink).
 */
export interface JobWrapper {
  (job: Job, env: WrapperEnv): Job;
  attach?(host: ChainHost): void;
}

/**
 * `new Chain(a, b, c)` wraps a job as `a(b(c(job)))`: `a` sees the call first.
 * Core enforces error capture, timeouts, retries and recording whatever the
 * chain holds; wrappers add behaviour around that.
 */
export class Chain {
  readonly wrappers: readonly JobWrapper[];

  constructor(...wrappers: JobWrapper[]) {
    for (const w of wrappers) {
      if (typeof w !== 'function') throw new TypeError('sched: Chain: every wrapper must be a function (job, env) => job');
    }
    this.wrappers = wrappers;
  }

  /** Wraps `job` with every wrapper, outermost first. */
  then(job: Job, env: WrapperEnv): Job {
    let wrapped = job;
    for (let i = this.wrappers.length - 1; i >= 0; i--) wrapped = (this.wrappers[i] as JobWrapper)(wrapped, env);
    return wrapped;
  }

  /** A new chain with `wrappers` added innermost. */
  append(...wrappers: JobWrapper[]): Chain {
    return new Chain(...this.wrappers, ...wrappers);
  }

  attach(host: ChainHost): void {
    for (const w of this.wrappers) w.attach?.(host);
  }
}

/**
 * Logs anything a job throws (with its stack) and rethrows it as an `Error`,
 * so a thrown string or object still carries a message and a stack. The run is
 * still recorded as failed: core never turns a throw into a success.
 */
export function withRecover(options: { logger?: Logger } = {}): JobWrapper {
  return (job, env) => ({
    name: job.name,
    async execute(ctx) {
      try {
        await job.execute(ctx);
      } catch (thrown) {
        const error = toError(job.name, thrown);
        (options.logger ?? ctx.logger ?? env.logger).error('job threw', { error, stack: error.stack });
        throw error;
      }
    },
  });
}

/**
 * Aborts the run after `timeoutMs` (by the scheduler's clock) and fails it as
 * `timeout`, independently of the job's own `timeoutMs` option. The job sees
 * the abort on `ctx.signal`.
 */
export function withTimeout(timeoutMs: number): JobWrapper {
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new TypeError(`sched: withTimeout: timeoutMs must be a positive integer, got ${String(timeoutMs)}`);
  }
  return (job, env) => ({
    name: job.name,
    execute(ctx) {
      return runWithTimeout(job, ctx, timeoutMs, env.clock);
    },
  });
}

async function runWithTimeout(job: Job, ctx: JobContext, timeoutMs: number, clock: Clock): Promise<void> {
  const controller = new AbortController();
  const onOuterAbort = (): void => controller.abort(ctx.signal.reason);
  if (ctx.signal.aborted) controller.abort(ctx.signal.reason);
  else ctx.signal.addEventListener('abort', onOuterAbort, { once: true });
  let timer: ReturnType<Clock['setTimer']> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = clock.setTimer(clock.now() + timeoutMs, () => {
      const error = new JobTimeoutError(job.name, timeoutMs);
      controller.abort(error);
      reject(error);
    });
  });
  try {
    await Promise.race([job.execute({ ...ctx, signal: controller.signal }), timedOut]);
  } finally {
    if (timer) clock.clearTimer(timer);
    ctx.signal.removeEventListener('abort', onOuterAbort);
  }
}
