import { Scheduler, type Logger, type SchedulerOptions, type JobContext } from '../src/index.js';
import { FakeClock } from '../src/testing/index.js';

export const T0 = Date.UTC(2025, 0, 1, 0, 0, 0);

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  fields: Record<string, unknown> | undefined;
}

/** A logger that keeps its lines, for asserting that bad input was logged. */
export function memoryLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine['level']) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      lines.push({ level, msg, fields });
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export function setup(options: SchedulerOptions = {}, start: number = T0) {
  const clock = options.clock instanceof FakeClock ? options.clock : new FakeClock(start);
  const logger = memoryLogger();
  const sched = new Scheduler({ clock, logger, ...options });
  return { sched, clock, logger };
}

/** A ledger of runs: what ran, when it was scheduled, when it started by the clock. */
export interface Run {
  jobName: string;
  scheduledAt: number | undefined;
  startedAt: number;
  attempt: number;
  executionId: string;
}

export function recorder(clock: FakeClock) {
  const runs: Run[] = [];
  const job = (name: string, body?: (ctx: JobContext) => Promise<void> | void) => ({
    name,
    async execute(ctx: JobContext) {
      runs.push({
        jobName: ctx.jobName,
        scheduledAt: ctx.scheduledAt?.getTime(),
        startedAt: clock.now(),
        attempt: ctx.attempt,
        executionId: ctx.executionId,
      });
      if (body) await body(ctx);
    },
  });
  return { runs, job };
}

export const iso = (t: number | undefined): string | undefined => (t === undefined ? undefined : new Date(t).toISOString());

/** Stops `sched`, moving fake time on while it waits for running jobs (or its deadline). */
export async function stopWith(
  sched: Scheduler,
  clock: FakeClock,
  options: { timeoutMs?: number; stepMs?: number } = {},
): Promise<void> {
  let done = false;
  const stopping = sched.stop(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }).finally(() => {
    done = true;
  });
  for (let i = 0; i < 100_000 && !done; i++) await clock.advance(options.stepMs ?? 100);
  await stopping;
}
