import type { ExecutionStatus, FinalStatus } from '../model.js';
import type { JobMetrics, MetricsEvent, MetricsSink } from '../ports/metrics-sink.js';

export type { JobMetrics, SchedulerMetrics } from '../ports/metrics-sink.js';

const WINDOW = 64;

class JobCounter {
  executionCount = 0;
  attemptCount = 0;
  fireCount = 0;
  successCount = 0;
  failureCount = 0;
  timeoutCount = 0;
  abandonedCount = 0;
  cancelledCount = 0;
  skippedCount = 0;
  misfireCount = 0;
  totalDurationMs = 0;
  lastExecutionAt = 0;
  lastStatus: ExecutionStatus | undefined;
  /**
   * Ring of recent durations, allocated on the first execution only: a plain array, on the JS
   * heap (a `Float64Array` keeps its bytes off-heap, a cache miss more an execution).
   */
  recent: number[] | undefined;
  recentCount = 0;

  addExecution(status: FinalStatus, durationMs: number, finishedAt: number): void {
    this.executionCount += 1;
    this.lastStatus = status;
    this.lastExecutionAt = finishedAt;
    if (status === 'abandoned') {
      // Cut short by a lost lease: its duration says nothing of the job's.
      this.failureCount += 1;
      this.abandonedCount += 1;
      return;
    }
    this.totalDurationMs += durationMs;
    this.recent ??= Array.from({ length: WINDOW }, () => 0);
    this.recent[this.recentCount % WINDOW] = durationMs;
    this.recentCount += 1;
    if (status === 'completed') this.successCount += 1;
    else if (status === 'failed') this.failureCount += 1;
    else if (status === 'timeout') {
      this.failureCount += 1;
      this.timeoutCount += 1;
    } else if (status === 'cancelled') this.cancelledCount += 1;
  }

  /** A run whose node died: an execution and a failure, with no duration. */
  addAbandoned(foundAt: number): void {
    this.executionCount += 1;
    this.failureCount += 1;
    this.abandonedCount += 1;
    if (foundAt > this.lastExecutionAt) {
      this.lastExecutionAt = foundAt;
      this.lastStatus = 'abandoned';
    }
  }

  snapshot(): JobMetrics {
    const decided = this.successCount + this.failureCount;
    const timed = this.executionCount - this.abandonedCount;
    return {
      executionCount: this.executionCount,
      attemptCount: this.attemptCount,
      fireCount: this.fireCount,
      successCount: this.successCount,
      failureCount: this.failureCount,
      timeoutCount: this.timeoutCount,
      abandonedCount: this.abandonedCount,
      cancelledCount: this.cancelledCount,
      skippedCount: this.skippedCount,
      misfireCount: this.misfireCount,
      successRate: decided === 0 ? 0 : this.successCount / decided,
      avgExecutionTimeMs: timed === 0 ? 0 : this.totalDurationMs / timed,
      p95ExecutionTimeMs: this.p95(),
      lastExecutionAt: this.lastExecutionAt === 0 ? undefined : new Date(this.lastExecutionAt),
      lastStatus: this.lastStatus,
    };
  }

  private p95(): number {
    if (!this.recent || this.recentCount === 0) return 0;
    const n = Math.min(this.recentCount, WINDOW);
    const sorted = this.recent.slice(0, n).sort((a, b) => a - b);
    return sorted[Math.min(n - 1, Math.ceil(0.95 * n) - 1)] ?? 0;
  }
}

/** Core's own per-job counters: a MetricsSink behind `getMetrics()` that needs no other package. */
export class Counters implements MetricsSink {
  private readonly jobs = new Map<string, JobCounter>();

  /** `now`: the scheduler's clock, for when an abandoned run was found. */
  constructor(private readonly now: () => number) {}

  record(event: MetricsEvent): void {
    switch (event.type) {
      case 'execution': {
        const o = event.outcome;
        const c = this.counter(o.jobName);
        c.addExecution(o.status, o.durationMs, o.finishedAt.getTime());
        // A shard is part of its parent's fire, which counts once.
        if (o.attempt === 1 && o.shard === undefined) c.fireCount += 1;
        return;
      }
      case 'start':
        this.counter(event.jobName).attemptCount += 1;
        return;
      case 'abandoned':
        this.counter(event.jobName).addAbandoned(this.now());
        return;
      case 'skip':
        this.counter(event.jobName).skippedCount += 1;
        return;
      case 'misfire':
        this.counter(event.jobName).misfireCount += event.count;
        return;
      default:
        return;
    }
  }

  forJob(jobName: string): JobMetrics {
    return (this.jobs.get(jobName) ?? new JobCounter()).snapshot();
  }

  all(jobNames: readonly string[]): { totals: JobMetrics; jobs: Record<string, JobMetrics> } {
    const jobs: Record<string, JobMetrics> = {};
    const total = new JobCounter();
    let lastAt = 0;
    let lastStatus: ExecutionStatus | undefined;
    for (const name of jobNames) {
      const c = this.jobs.get(name);
      jobs[name] = (c ?? new JobCounter()).snapshot();
      if (!c) continue;
      total.executionCount += c.executionCount;
      total.attemptCount += c.attemptCount;
      total.fireCount += c.fireCount;
      total.successCount += c.successCount;
      total.failureCount += c.failureCount;
      total.timeoutCount += c.timeoutCount;
      total.abandonedCount += c.abandonedCount;
      total.cancelledCount += c.cancelledCount;
      total.skippedCount += c.skippedCount;
      total.misfireCount += c.misfireCount;
      total.totalDurationMs += c.totalDurationMs;
      if (c.lastExecutionAt > lastAt) {
        lastAt = c.lastExecutionAt;
        lastStatus = c.lastStatus;
      }
    }
    total.lastExecutionAt = lastAt;
    total.lastStatus = lastStatus;
    const totals = total.snapshot();
    totals.p95ExecutionTimeMs = this.p95Over(jobNames);
    return { totals, jobs };
  }

  /** p95 over the recent windows of the named jobs together. */
  private p95Over(jobNames: readonly string[]): number {
    const all: number[] = [];
    for (const name of jobNames) {
      const c = this.jobs.get(name);
      if (!c?.recent) continue;
      const n = Math.min(c.recentCount, WINDOW);
      for (let i = 0; i < n; i++) all.push(c.recent[i] as number);
    }
    if (all.length === 0) return 0;
    all.sort((a, b) => a - b);
    return all[Math.min(all.length - 1, Math.ceil(0.95 * all.length) - 1)] ?? 0;
  }

  remove(jobName: string): void {
    this.jobs.delete(jobName);
  }

  private counter(jobName: string): JobCounter {
    let c = this.jobs.get(jobName);
    if (!c) {
      c = new JobCounter();
      this.jobs.set(jobName, c);
    }
    return c;
  }
}
