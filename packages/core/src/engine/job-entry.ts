import type { CronSpec } from '../cron/spec.js';
import type { TaskCfg } from '../config/schema.js';
import type { AnyJob, Job, ShardContext } from '../job.js';
import type { FireKind, ShardResult } from '../model.js';
import type { ShardItemProgress } from '../ports/shard-item-progress.js';
import type { JobContext } from '../job.js';
import type { FireLease, Lease } from '../ports/lock-manager.js';
import type { ExecutionOutcome } from '../model.js';
import type { TimerHandle } from '../ports/clock.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import type { EffectiveCfg } from './task-config.js';

/**
 * A registered job as the engine holds it. Kept lean (100k of them must fit
 * in well under 100 MB): the parsed spec is shared through the cron cache,
 * the breaker is created only when configured.
 */
export class JobEntry {
  heapIndex = -1;
  /** Registration order: ties between jobs due at the same instant go first-registered first. */
  seq = 0;
  /** The next cron instant to process (epoch ms); NaN when not scheduled. */
  next = Number.NaN;
  /** The timer wakes this long after `next`: the grace on a node that is not the job's owner, `-claimAheadMs` on the owner. */
  wakeDelay = 0;
  /** The latest instant this node claimed ahead and holds (see `claimAheadMs`): not claimed again. */
  heldUntil = Number.NEGATIVE_INFINITY;
  /**
   * Since when the job has been scheduled on its current spec without a pause:
   * a claim reports missed instants only after this (a resumed or re-specced
   * job has no gap to compensate).
   */
  activeSince = Number.NEGATIVE_INFINITY;
  spec: CronSpec | undefined;
  /** Paused on this node only (`pause()` with `configLoadStrategy: 'local-only'`). */
  localPaused = false;
  /** Fires accepted and not yet finished (queued, running or waiting to retry). */
  inFlight = 0;
  breaker: CircuitBreaker | undefined;
  /** Whether this node is the job's preferred node, as of membership view `ownerVersion`. */
  owner = true;
  ownerVersion = -1;

  constructor(
    readonly name: string,
    readonly job: AnyJob,
    /** The job wrapped by the chain: what the engine calls. */
    public runnable: Job,
    /** The cfg given to `registerJob` (undefined: the schedule comes from the document). */
    public codeCfg: TaskCfg | undefined,
    public cfg: EffectiveCfg,
  ) {}

  /** Paused by this node, or by the configuration (`paused: true`, shared in a cluster). */
  get paused(): boolean {
    return this.localPaused || this.cfg.paused;
  }

  get scheduled(): boolean {
    return !Number.isNaN(this.next);
  }
}

/** One fire on its way through this node: from claim to its last attempt. */
export interface FireTask {
  heapIndex: number;
  priority: number;
  seq: number;
  entry: JobEntry;
  jobName: string;
  fireId: string;
  kind: FireKind;
  scheduledAt: number | undefined;
  lease: FireLease;
  overlapLease?: Lease | undefined;
  params?: Record<string, unknown> | undefined;
  missedCount?: number | undefined;
  missedFrom?: number | undefined;
  shard?: ShardContext | undefined;
  /** A shard of this sharded fire (its parent holds the overlap lease and the fire's outcome). */
  shardOf?: string | undefined;
  itemProgress?: ShardItemProgress | undefined;
  /**
   * A sharded fire's parent execution: runs this instead of the job, holds no
   * slot, has no timeout or retry of its own (each shard has the job's).
   */
  coordinator?: ((ctx: JobContext) => Promise<ShardResult[]>) | undefined;
  timeoutMs?: number | undefined;
  /** The attempt the next run will be (1 first). */
  attempt: number;
  /** `startFire` moved the record to running. */
  started: boolean;
  /** Its `startFire`, already sent (a fire claimed ahead, started at its instant): awaited instead of sending one. */
  startRequest?: Promise<boolean> | undefined;
  /** Set when the lease was lost: the fire is no longer ours. */
  fenced: boolean;
  /** Won by `claimDue`: its job's mark makes every later claim of the instant lose. */
  markGuarded?: boolean;
  lastOutcome?: ExecutionOutcome | undefined;
  retryTimer?: TimerHandle | undefined;
  /** It holds one of the dispatcher's slots (from its attempt's start until it ends or waits to retry). */
  holdsSlot?: boolean;
  /** Told once the fire has ended (its record's last write landed): a stop waiting for it. */
  whenClosed?: (() => void) | undefined;
  /** Callers waiting for the fire's outcome (`trigger`, `execute`). */
  settle?: ((outcome: ExecutionOutcome) => void) | undefined;
  reject?: ((error: Error) => void) | undefined;
}
