import type { ExecutionOutcome, FireKind, MisfirePolicy, SkipReason } from '../model.js';

/**
 * MetricsSink port: the scheduler reports what happens; a sink counts it.
 * Core's own per-job counters are one sink (behind `getMetrics()`);
 * `@sched/metrics` adds a Prometheus one.
 *
 * Contract: `record` is synchronous, cheap and never throws (a sink that
 * throws is logged and detached). Events arrive in the order they happened on
 * this node.
 */
export interface MetricsSink {
  record(event: MetricsEvent): void;
}

export type MetricsEvent =
  | { type: 'fire'; jobName: string; kind: FireKind; lateMs: number }
  | { type: 'execution'; outcome: ExecutionOutcome; kind: FireKind }
  | { type: 'skip'; jobName: string; reason: SkipReason }
  | { type: 'misfire'; jobName: string; count: number; policy: MisfirePolicy }
  | { type: 'abandoned'; jobName: string }
  | { type: 'gauge'; running: number; queued: number }
  | { type: 'claim-error'; jobName?: string; error: Error };
