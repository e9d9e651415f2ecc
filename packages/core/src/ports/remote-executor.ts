import type { RouteStrategy, FinalStatus, SkipReason } from '../model.js';
import type { SchedulerHost } from './scheduler-host.js';

/**
 * RemoteExecutor port: runs a job on chosen nodes and reports each outcome
 * (SPEC.md §10). Core's default runs everything on the local node, which is
 * the only node a single process has; `@sched/remote` routes over the cluster.
 *
 * Contract: `execute` resolves once every targeted node reported (or rejects
 * with a typed error naming the nodes that did not answer within
 * `timeoutMs`); it rejects with `UnknownJobError` when no node serves the job.
 * `cancel` aborts a running execution wherever it runs; false when none is
 * found.
 */
export interface RemoteExecutor {
  attach(host: SchedulerHost): Promise<void> | void;
  detach?(): Promise<void> | void;
  execute(request: ExecuteRequest): Promise<ExecuteResult>;
  cancel(executionId: string): Promise<boolean>;
}

export interface ExecuteRequest {
  jobName: string;
  /** Default `'first'`. */
  routeStrategy?: RouteStrategy;
  /** For `'specific'`. */
  nodeId?: string;
  timeoutMs?: number;
  params?: Record<string, unknown>;
  /** A caller-chosen id for deduplication; generated when omitted. */
  messageId?: string;
}

export interface ExecuteResult {
  messageId: string;
  outcomes: RemoteOutcome[];
}

export interface RemoteOutcome {
  nodeId: string;
  executionId: string;
  status: FinalStatus;
  startedAt: Date;
  finishedAt: Date;
  error?: { message: string; name: string; code?: string };
  /** Why a `skipped` run did not run (`overlap`: `overlapPrevent` and a run of the job is going). */
  skipReason?: SkipReason;
}
