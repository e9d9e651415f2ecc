import type { ExecutionOutcome, ExecutionStatus, FireKind, MisfirePolicy, SkipReason } from '../model.js';
import type { Logger } from './logger.js';
import type { NodeInfo } from './node-registry.js';
import type { PubSub } from './pubsub.js';

/**
 * MetricsSink port: the scheduler reports what happens; a sink counts it.
 * Core's own per-job counters are one sink (behind `getMetrics()`);
 * `@sched/metrics` adds a Prometheus one.
 *
 * Contract: `record` is synchronous, cheap and never throws (a sink that
 * throws is logged and detached). Events arrive in the order they happened on
 * this node. `attach` is called when the scheduler starts and `detach` when it
 * stops (a sink given to several schedulers is attached to each).
 */
export interface MetricsSink {
  record(event: MetricsEvent): void;
  attach?(host: MetricsHost): Promise<void> | void;
  detach?(host: MetricsHost): Promise<void> | void;
  /**
   * Every live node's counters, gathered by a sink that can ask the other
   * nodes (`@sched/metrics` does, over the PubSub port): what
   * `sched.getClusterMetrics()` returns.
   */
  getClusterMetrics?(host: MetricsHost, options?: ClusterMetricsOptions): Promise<ClusterMetrics>;
}

export type MetricsEvent =
  /** A fire accepted to run on this node (`lateMs`: its acceptance after the instant; 0 unless cron). */
  | { type: 'fire'; jobName: string; kind: FireKind; lateMs: number }
  /** An execution started (`lateMs`: the start after the instant, for the first attempt of a cron fire only). */
  | { type: 'start'; jobName: string; kind: FireKind; attempt: number; lateMs: number | undefined }
  | { type: 'execution'; outcome: ExecutionOutcome; kind: FireKind }
  | { type: 'skip'; jobName: string; reason: SkipReason }
  | { type: 'misfire'; jobName: string; count: number; policy: MisfirePolicy }
  /** A run whose node stopped renewing its lease mid-run, found and closed by this node. */
  | { type: 'abandoned'; jobName: string }
  /** The node's load after fires ended: once for the fires that end together (one microtask later), not once a fire. */
  | { type: 'gauge'; running: number; queued: number }
  | { type: 'claim-error'; jobName?: string; error: Error }
  /** A lease renewal that failed (the store did not answer) or found the lease lost to another node. */
  | { type: 'lease-error'; reason: 'renew-failed' | 'lost' }
  /** Any operation of the scheduler that failed (also logged and emitted as the `error` event). */
  | { type: 'error'; operation: string; error: Error; jobName?: string };

/** What a scheduler offers the metrics sinks attached to it. */
export interface MetricsHost {
  readonly nodeId: string;
  readonly logger: Logger;
  /** The messages between nodes (the embedded default: in this process only). */
  readonly pubsub: PubSub;
  /** This node's counters: what `sched.getMetrics()` returns. */
  getMetrics(options?: { jobNames?: readonly string[] }): SchedulerMetrics;
  /** Executions running now and fires waiting for a slot, cheaply (read at every scrape). */
  load(): { running: number; queued: number };
  /** The live nodes of the cluster (this node alone without a shared registry). */
  getNodes(): Promise<NodeInfo[]>;
}

/**
 * Counts of one job on a node (SPEC.md glossary, counting executions):
 * `executionCount` counts finished executions including retries,
 * `attemptCount` executions started (so a running one is counted here first),
 * `fireCount` fires that started, `failureCount` = failed + timeout +
 * abandoned, `successRate` = success / (success + failure), 0 when neither
 * happened yet.
 */
export interface JobMetrics {
  executionCount: number;
  attemptCount: number;
  fireCount: number;
  successCount: number;
  failureCount: number;
  timeoutCount: number;
  /** Runs whose node died mid-run, counted by the node that found them (as failures and executions). */
  abandonedCount: number;
  cancelledCount: number;
  skippedCount: number;
  misfireCount: number;
  successRate: number;
  /** Over the executions that ran here (an abandoned run's duration is unknown and left out). */
  avgExecutionTimeMs: number;
  /** Over the last 64 executions of the job (of each job, for totals). */
  p95ExecutionTimeMs: number;
  lastExecutionAt: Date | undefined;
  lastStatus: ExecutionStatus | undefined;
}

export interface SchedulerMetrics {
  nodeId: string;
  /** Executions running now. */
  running: number;
  /** Fires waiting for a slot. */
  queued: number;
  /** Sums over every job. */
  totals: JobMetrics;
  jobs: Record<string, JobMetrics>;
}

export interface ClusterMetricsOptions {
  /** How long to wait for the other nodes' answers (default 2,000 ms). */
  timeoutMs?: number;
  /** Only these jobs (every job when omitted; the totals cover the same jobs). */
  jobNames?: readonly string[];
}

/**
 * Every live node's counters and their sums. Counts add up; `successRate`
 * and `avgExecutionTimeMs` are recomputed from the sums;
 * `p95ExecutionTimeMs` is the highest node's (an upper bound of the
 * cluster's); `lastExecutionAt`/`lastStatus` are the latest node's.
 */
export interface ClusterMetrics {
  /** The nodes that answered (this node always), sorted by id. */
  nodes: SchedulerMetrics[];
  /** Live nodes that did not answer within the timeout (no collector attached, or unreachable). */
  missing: string[];
  running: number;
  queued: number;
  totals: JobMetrics;
  jobs: Record<string, JobMetrics>;
}
