import type { Clock } from './clock.js';
import type { Logger } from './logger.js';
import type { ExecutionOutcome, FireKind } from '../model.js';
import type { ShardContext } from '../job.js';
import type { ShardItemProgress } from './shard-item-progress.js';
import type { PubSub } from './pubsub.js';
import type { FireRecord, StateStore } from './state-store.js';
import type { SkipReason } from '../model.js';

/**
 * What a scheduler offers the packages attached to it (remote executor, DAG
 * coordinator, shard planner). Kept small: packages see ports, not internals.
 */
export interface SchedulerHost {
  readonly nodeId: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** True when a job of that name is registered on this node. */
  hasJob(jobName: string): boolean;
  /** Names of the jobs registered on this node. */
  jobNames(): string[];
  /**
   * Runs one fire of a registered job on this node, through the dispatcher
   * (priority, `maxConcurrency`, `overlapPrevent`), the chain, retries,
   * timeouts and recording; resolves with the last attempt's outcome.
   */
  runFire(request: RunFireRequest): Promise<ExecutionOutcome>;
  /**
   * Whether a run of this job started now would wait or be skipped: no free
   * slot under `maxConcurrency`, or `overlapPrevent` with a run of it going
   * on this node.
   */
  isBusy(jobName: string): boolean;
  /** Aborts a running execution on this node; false when none has that id. */
  cancelLocal(executionId: string): boolean;
  /** The cluster's state (DAG runs, fire records) and messages. */
  readonly stateStore: StateStore;
  readonly pubsub: PubSub;
  /**
   * The live node that should run a fire of this job: rendezvous hashing over
   * the nodes serving it; with `excludeSelf`, another node when one serves it.
   */
  preferredNode(jobName: string, options?: { excludeSelf?: boolean }): string;
  /** The live nodes serving this job in this node's view (this node included), sorted by id. */
  liveNodes(jobName: string): string[];
  /**
   * Ends a run whose node died mid-run (`record`: `running` under a lapsed lease) without
   * running it again: claims the record by id, finishes it `abandoned`, counts the run and
   * closes its snapshot (once in the cluster). False when another node claimed it first, the
   * job is not registered here, or this scheduler is not running.
   */
  abandonLeftRun(record: FireRecord, scheduledAt: number | undefined): Promise<boolean>;
  /** Records a fire that will not run (a `skipped` snapshot, event and counter), once per call. */
  recordSkip(skip: {
    jobName: string;
    fireId: string;
    scheduledAt: number | undefined;
    kind: FireKind;
    reason: SkipReason;
  }): void;
}

export interface RunFireRequest {
  jobName: string;
  /** A fresh id when omitted. */
  fireId?: string;
  kind: FireKind;
  params?: Record<string, unknown>;
  scheduledAt?: number;
  shard?: ShardContext;
  /**
   * The fire id of the sharded fire this run is a shard of (set by the shard
   * planner): the shard runs under its parent's overlap lease and breaker,
   * and its end is not a fire's end (dependents wait for the parent).
   */
  shardOf?: string;
  /** Item progress of the shard kept across attempts (see `ShardItemProgress`). */
  itemProgress?: ShardItemProgress;
  /** Claim the record even if it is running under a lapsed lease (the shard's node died): run it again. */
  recoverAbandoned?: boolean;
  /**
   * The record of a run whose node died mid-run (`running` under a lapsed lease) that this
   * run takes over, with `recoverAbandoned`: once the claim is won, that run is counted
   * `abandoned` and its snapshot closed, here and once in the cluster (as the scheduler's own
   * takeover does for cron fires).
   */
  takesOverFrom?: FireRecord;
  /** The attempt this run is (1 unless a run of the fire already started elsewhere). */
  attempt?: number;
  /** Overrides the job's `timeoutMs` for this fire. */
  timeoutMs?: number;
}
