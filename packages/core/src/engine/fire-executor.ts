import { ErrorCode, isSchedError, JobCancelledError, JobTimeoutError, ShardsFailedError, toError } from '../errors.js';
import type { JobContext } from '../job.js';
import type { ExecutionOutcome, ExecutionSnapshot, FinalStatus, ShardItemCounts, ShardResult } from '../model.js';
import { isShardingJob } from '../job.js';
import type { Clock, TimerHandle } from '../ports/clock.js';
import type { FireWriteDone, LockManager } from '../ports/lock-manager.js';
import type { Logger } from '../ports/logger.js';
import { childLogger } from '../ports/logger.js';
import { ExecutionContext } from './execution-context.js';
import type { FireTask } from './job-entry.js';
import type { LeaseKeeper } from './lease-keeper.js';
import type { Reporter } from './reporter.js';
import { retryDelayMs } from './task-config.js';
import { shardRuns } from './sharding-job.js';
import { newExecutionId } from '../internal/execution-id.js';

export interface FireExecutorDeps {
  clock: Clock;
  logger: Logger;
  nodeId: string;
  lockManager: LockManager;
  leaseKeeper: LeaseKeeper;
  reporter: Reporter;
  /** How long a finished fire's record is kept (0: deleted at once, see `Scheduler.recordRetentionOf`). */
  retentionOf: (task: FireTask) => number;
  isStopping: () => boolean;
  /** Puts a task back in the dispatcher queue (a retry). */
  resubmit: (task: FireTask) => void;
  /** Frees the dispatcher slot of a task `runAttempt` was given (once a task). */
  releaseSlot: () => void;
  /** Told once per fire, after its last attempt (or when the fire was given up). */
  onFireDone: (task: FireTask, outcome: ExecutionOutcome | undefined) => void;
  /**
   * Whether the run of a fenced task (its lease lost) is counted abandoned by the node that
   * takes its record over, so this node leaves the count to it: true while the record is there.
   */
  abandonCountedByTaker: (task: FireTask) => Promise<boolean>;
}

/**
 * One attempt from its start to its end: what `running` holds for it, what
 * `begin` set up for `end`, its abort plumbing and its `ctx.logger`. The
 * `AbortController` (costly in Node) is made only if the job reads
 * `ctx.signal`, the logger only if it reads `ctx.logger`; an abort always ends
 * the race at once, whether or not the job listens.
 */
class Execution {
  /** Why it was aborted (a timeout, a cancel, a stop, a lost lease). */
  reason: Error | undefined = undefined;
  /** What the job threw or rejected with (or the abort that ended it). */
  error: Error | undefined = undefined;
  /** The job's promise, when it returned one. */
  work: PromiseLike<unknown> | undefined = undefined;
  /** A sharded fire's parent: its shards' results. */
  shards: ShardResult[] | undefined = undefined;
  timeoutTimer: TimerHandle | undefined = undefined;
  private controller: AbortController | undefined = undefined;
  private rejectRace: ((reason: Error) => void) | undefined = undefined;
  private boundLogger: Logger | undefined = undefined;

  constructor(
    readonly task: FireTask,
    readonly executionId: string,
    readonly attempt: number,
    readonly startedAt: number,
    readonly scheduledAt: Date | undefined,
    /** A sharding job's shard, whose items are counted in `shardRuns`. */
    readonly shardingRun: boolean,
    private readonly baseLogger: Logger,
  ) {}

  /** `ctx.logger`: the node's logger with the execution's fields, made on first use. */
  get logger(): Logger {
    this.boundLogger ??= childLogger(this.baseLogger, {
      jobName: this.task.jobName,
      fireId: this.task.fireId,
      executionId: this.executionId,
    });
    return this.boundLogger;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.reason) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: Error): void {
    if (this.reason) return;
    this.reason = reason;
    this.controller?.abort(reason);
    this.rejectRace?.(reason);
  }

  /** Settles with `work`, or rejects with the reason as soon as the run is aborted (the job may go on). */
  race(work: PromiseLike<unknown>): Promise<unknown> {
    if (this.reason) return Promise.reject(this.reason);
    return new Promise<unknown>((resolve, reject) => {
      this.rejectRace = reject;
      work.then(resolve, reject);
    });
  }
}

/**
 * Runs the attempts of fires: starts the per-fire record, builds the
 * `JobContext`, enforces `timeoutMs`, cancel and stop through `ctx.signal`,
 * captures every throw, records the execution, and decides on a retry (the
 * slot is freed while a retry waits). A fire's outcome is its last attempt's.
 */
export class FireExecutor {
  private readonly running = new Map<string, Execution>();
  private readonly waitingRetry = new Set<FireTask>();

  constructor(private readonly deps: FireExecutorDeps) {}

  get runningCount(): number {
    return this.running.size;
  }

  get waitingRetryCount(): number {
    return this.waitingRetry.size;
  }

  /** Aborts a running execution of this node (recorded `cancelled`); false when none has that id. */
  cancel(executionId: string): boolean {
    const run = this.running.get(executionId);
    if (!run) return false;
    run.abort(new JobCancelledError(run.task.jobName, executionId));
    return true;
  }

  /** Aborts every running execution (the end of a graceful stop), or those `which` picks. */
  abortAll(reason: (task: FireTask) => Error, which: (task: FireTask) => boolean = () => true): void {
    for (const run of this.running.values()) if (which(run.task)) run.abort(reason(run.task));
  }

  /** Ends fires waiting to retry: their outcome is the attempt that failed. */
  async settleWaitingRetries(): Promise<void> {
    const tasks = [...this.waitingRetry];
    this.waitingRetry.clear();
    for (const task of tasks) {
      if (task.retryTimer) this.deps.clock.clearTimer(task.retryTimer);
      await new Promise<void>((resolve) => {
        task.whenClosed = resolve;
        this.finish(task, task.lastOutcome);
      });
    }
  }

  /** Tells the executor the fire's lease was lost: its run is aborted as `abandoned`. */
  fence(task: FireTask, reason: Error): void {
    task.fenced = true;
    for (const run of this.running.values()) if (run.task === task) run.abort(reason);
  }

  /**
   * Runs the next attempt of `task` (called by the dispatcher, one slot per call; the slot is
   * released once, when the fire has ended or waits to retry). Never throws: a bug is reported.
   * No async function and no promise of its own: the steps go on from callbacks that carry the
   * task (a burst of thousands of fires makes every promise and suspended frame a fire
   * keeps alive count, in the young generation's copying above all).
   */
  runAttempt(task: FireTask): void {
    task.holdsSlot = true;
    this.run(task);
  }

  /** Runs a sharded fire's parent, which takes no slot (its shards do): resolves when it has ended. */
  runParent(task: FireTask): Promise<void> {
    return new Promise<void>((resolve) => {
      task.whenClosed = resolve;
      this.run(task);
    });
  }

  private run(task: FireTask): void {
    try {
      if (task.fenced) this.finish(task, task.lastOutcome);
      else if (!task.started) this.sendStart(task);
      else this.attempt(task);
    } catch (e) {
      this.bug(task, e);
    }
  }

  /** Writes the record `running` (or takes the start sent at the instant), then runs the attempt. */
  private sendStart(task: FireTask): void {
    const request = task.startRequest;
    task.startRequest = undefined;
    const { lockManager } = this.deps;
    try {
      if (request) whenWritten(request, task, this.startWritten, 'startFire');
      else if (lockManager.startFireThen) lockManager.startFireThen(task.lease, task, this.startWritten);
      else whenWritten(lockManager.startFire(task.lease), task, this.startWritten, 'startFire');
    } catch (error) {
      this.startWritten(task, false, error ?? rejected('startFire'));
    }
  }

  private readonly startWritten = (task: FireTask, started: boolean, error: unknown): void => {
    const { deps } = this;
    try {
      if (error !== undefined) {
        deps.reporter.error('startFire', toError(task.jobName, error), task.jobName);
        // The start may still land after its timeout: a release sent after it (same connection, in
        // order) gives the fire back as claimed, so another node runs it instead of finding it abandoned.
        deps.lockManager.releaseFire(task.lease).catch(() => undefined);
        this.finish(task, undefined, toError(task.jobName, error));
        return;
      }
      if (!started) {
        // The claim lapsed while queued and another node took it: not ours to run or record.
        task.fenced = true;
        deps.reporter.skip(this.skipArgs(task), 'not-owner', false);
        this.finish(task, undefined);
        return;
      }
      task.started = true;
      this.attempt(task);
    } catch (e) {
      this.bug(task, e);
    }
  };

  /** Starts the job; its end is wrapped up when its promise settles, or (a synchronous job) one turn later. */
  private attempt(task: FireTask): void {
    const execution = this.begin(task);
    if (execution.work) {
      execution.race(execution.work).then(
        (value) => this.workSettled(execution, value, undefined),
        (thrown: unknown) => this.workSettled(execution, undefined, toError(task.jobName, thrown)),
      );
      return;
    }
    // A synchronous job has ended already; one turn all the same (one microtask for all of
    // them): the fires started with it start before any of them is wrapped up.
    this.endedSync.push(execution);
    if (this.endedSync.length === 1) queueMicrotask(this.wrapUpSync);
  }

  private endedSync: Execution[] = [];

  private readonly wrapUpSync = (): void => {
    const ended = this.endedSync;
    this.endedSync = [];
    for (const execution of ended) {
      if (!execution.error && execution.reason) execution.error = execution.reason;
      this.wrapUp(execution);
    }
  };

  private workSettled(execution: Execution, value: unknown, error: Error | undefined): void {
    if (error) execution.error = error;
    else if (execution.task.coordinator) execution.shards = value as ShardResult[];
    this.wrapUp(execution);
  }

  /** The attempt's end: recorded, then a retry later or the fire's end. */
  private wrapUp(execution: Execution): void {
    const task = execution.task;
    try {
      const outcome = this.end(execution);
      task.lastOutcome = outcome;
      if (this.retryLater(task, outcome)) this.releaseSlot(task);
      else this.finish(task, outcome);
    } catch (e) {
      this.bug(task, e);
    }
  }

  /** A bug on a fire's way (never an error of its job's): reported, its slot freed, a stop not held up. */
  private bug(task: FireTask, e: unknown): void {
    this.deps.reporter.error('run', toError(task.jobName, e), task.jobName);
    this.closed(task);
  }

  private releaseSlot(task: FireTask): void {
    if (!task.holdsSlot) return;
    task.holdsSlot = false;
    this.deps.releaseSlot();
  }

  /** The fire has ended: its slot frees, and a stop waiting for it goes on. */
  private closed(task: FireTask): void {
    this.releaseSlot(task);
    const whenClosed = task.whenClosed;
    task.whenClosed = undefined;
    whenClosed?.();
  }

  /** Starts an attempt: its record, start metric and event, its timeout, then the job itself. */
  private begin(task: FireTask): Execution {
    const { deps } = this;
    const { clock } = deps;
    const startedAt = clock.now();
    const attempt = task.attempt;
    const scheduledAt = task.scheduledAt === undefined ? undefined : new Date(task.scheduledAt);
    const shardingRun = !task.coordinator && isShardingJob(task.entry.job);
    const execution = new Execution(task, newExecutionId(), attempt, startedAt, scheduledAt, shardingRun, deps.logger);
    const { executionId } = execution;
    const ctx: JobContext = new ExecutionContext(task, executionId, scheduledAt, deps.nodeId, execution);
    this.running.set(executionId, execution);
    const lateMs =
      attempt === 1 && task.kind === 'cron' && task.scheduledAt !== undefined ? startedAt - task.scheduledAt : undefined;
    deps.reporter.metric({ type: 'start', jobName: task.jobName, kind: task.kind, attempt, lateMs });
    const events = deps.reporter.events;
    if (events.hasListeners('start')) {
      events.emit('start', {
        jobName: task.jobName,
        fireId: task.fireId,
        executionId,
        kind: task.kind,
        attempt,
        scheduledAt,
        startedAt: new Date(startedAt),
        nodeId: deps.nodeId,
        fencingToken: task.lease.fencingToken,
      });
    }
    const snapshot: ExecutionSnapshot = {
      executionId,
      jobName: task.jobName,
      fireId: task.fireId,
      scheduledAt: task.scheduledAt,
      startedAt,
      finishedAt: undefined,
      durationMs: undefined,
      status: 'running',
      nodeId: deps.nodeId,
      attempt,
      kind: task.kind,
    };
    if (task.shard) {
      snapshot.shardIndex = task.shard.shardIndex;
      snapshot.shardTotal = task.shard.shardTotal;
    } else if (task.coordinator && task.entry.cfg.shardingTotal !== undefined) {
      snapshot.shardTotal = task.entry.cfg.shardingTotal;
    }
    if (task.missedCount !== undefined) snapshot.missedCount = task.missedCount;
    deps.reporter.recordStart(snapshot);

    const timeoutMs = task.coordinator ? undefined : (task.timeoutMs ?? task.entry.cfg.timeoutMs);
    if (timeoutMs !== undefined) {
      execution.timeoutTimer = clock.setTimer(startedAt + timeoutMs, () =>
        execution.abort(new JobTimeoutError(task.jobName, timeoutMs)),
      );
    }
    if (shardingRun) {
      shardRuns.open(executionId, { concurrency: task.entry.cfg.shardingItemConcurrency, progress: task.itemProgress });
    }
    try {
      const result: unknown = task.coordinator ? task.coordinator(ctx) : task.entry.runnable.execute(ctx);
      if (isPromiseLike(result)) execution.work = result;
    } catch (thrown) {
      execution.error = toError(task.jobName, thrown);
    }
    return execution;
  }

  /** Ends an attempt: its outcome, recorded, counted and told. */
  private end(execution: Execution): ExecutionOutcome {
    const { deps } = this;
    const { task, executionId, startedAt, shards } = execution;
    if (execution.timeoutTimer) deps.clock.clearTimer(execution.timeoutTimer);
    this.running.delete(executionId);
    let error = execution.error;
    if (!error && shards?.some((r) => r.status !== 'completed')) error = new ShardsFailedError(task.jobName, task.fireId, shards);
    const status: FinalStatus = error ? classify(error, execution.reason) : 'completed';
    const items = execution.shardingRun ? shardRuns.close(executionId) : shards && sumItems(shards);
    const finishedAt = deps.clock.now();
    const outcome: ExecutionOutcome = {
      jobName: task.jobName,
      fireId: task.fireId,
      executionId,
      nodeId: deps.nodeId,
      status,
      attempt: execution.attempt,
      scheduledAt: execution.scheduledAt,
      startedAt: new Date(startedAt),
      finishedAt: new Date(finishedAt),
      durationMs: Math.max(0, finishedAt - startedAt),
      kind: task.kind,
    };
    if (task.shard && task.shardOf !== undefined)
      outcome.shard = { shardIndex: task.shard.shardIndex, shardTotal: task.shard.shardTotal };
    if (items) outcome.items = items;
    if (shards) outcome.shards = shards;
    if (error) {
      const code = (error as { code?: unknown }).code;
      outcome.error = { message: error.message, name: error.name, ...(typeof code === 'string' ? { code } : {}) };
    }
    deps.reporter.recordEnd(outcome, error);
    // A run fenced off by a lost lease is counted once in the cluster: see countAbandoned.
    if (!(task.fenced && status === 'abandoned')) deps.reporter.metric({ type: 'execution', outcome, kind: task.kind });
    const events = deps.reporter.events;
    switch (status) {
      case 'completed':
        events.emit('complete', outcome);
        break;
      case 'timeout':
        events.emit('timeout', outcome);
        break;
      case 'cancelled':
        events.emit('cancel', outcome);
        break;
      case 'abandoned':
        events.emit('abandon', {
          jobName: task.jobName,
          fireId: task.fireId,
          executionId,
          nodeId: deps.nodeId,
          reason: error?.message ?? 'lease lost',
        });
        break;
      default:
        events.emit('fail', outcome);
    }
    return outcome;
  }

  /** Whether the attempt that ended with `outcome` is retried: then the fire waits (its slot freed) for its delay. */
  private retryLater(task: FireTask, outcome: ExecutionOutcome): boolean {
    const { deps } = this;
    const retry = task.entry.cfg.retry;
    const retriable = outcome.status === 'failed' || outcome.status === 'timeout';
    // A sharded fire's retries are its shards' own.
    if (!retriable || !retry || task.attempt >= retry.attempts || deps.isStopping() || task.fenced || task.coordinator) {
      return false;
    }
    const delayMs = retryDelayMs(retry, task.attempt);
    deps.reporter.events.emit('retry', {
      jobName: task.jobName,
      fireId: task.fireId,
      executionId: outcome.executionId,
      attempt: task.attempt,
      delayMs,
      error: new Error(outcome.error?.message ?? 'failed'),
    });
    task.attempt += 1;
    task.seq = 0;
    this.waitingRetry.add(task);
    task.retryTimer = deps.clock.setTimer(deps.clock.now() + delayMs, () => {
      task.retryTimer = undefined;
      if (!this.waitingRetry.delete(task)) return;
      deps.resubmit(task);
    });
    return true;
  }

  /**
   * A run fenced off by a lost lease: the node that takes its record over counts it abandoned
   * (and closes its snapshot), so this node counts it only when no one can — the record is gone
   * (the store lost its data, or its retention passed while this node was frozen).
   */
  private async countAbandoned(task: FireTask, outcome: ExecutionOutcome): Promise<void> {
    let elsewhere = false;
    try {
      elsewhere = await this.deps.abandonCountedByTaker(task);
    } catch (e) {
      this.deps.reporter.error('getFireRecord', toError(task.jobName, e), task.jobName);
    }
    if (!elsewhere) this.deps.reporter.metric({ type: 'execution', outcome, kind: task.kind });
  }

  /** Ends a fire: releases its leases, writes the record's final status, tells the scheduler, then `closed`. */
  private finish(task: FireTask, outcome: ExecutionOutcome | undefined, error?: Error): void {
    this.deps.leaseKeeper.release(task);
    if (task.fenced && outcome?.status === 'abandoned') {
      this.countAbandoned(task, outcome)
        .then(() => this.closeRecord(task, outcome, error))
        .catch((e: unknown) => this.bug(task, e));
      return;
    }
    this.closeRecord(task, outcome, error);
  }

  /** Releases a fire's overlap lease and writes its record's end, then settles it. */
  private closeRecord(task: FireTask, outcome: ExecutionOutcome | undefined, error: Error | undefined): void {
    const { deps } = this;
    if (task.overlapLease) {
      const lease = task.overlapLease;
      deps.leaseKeeper.release(lease);
      lease.release().catch((e: unknown) => deps.reporter.error('release overlap lease', toError(task.jobName, e), task.jobName));
    }
    const handedOver = task.coordinator !== undefined && outcome?.status === 'cancelled' && deps.isStopping();
    if (handedOver) {
      // A sharded fire's parent on a stopping node is handed over, not ended: its shards go on
      // elsewhere, and the takeover of another node picks the parent up where the shards are.
      deps.lockManager
        .releaseFire(task.lease)
        .catch((e: unknown) => deps.reporter.error('releaseFire', toError(task.jobName, e)));
    } else if (!task.fenced && task.started && outcome) {
      // The write's answer settles the fire (finishWritten reads the outcome off the task).
      task.lastOutcome = outcome;
      const { lockManager } = deps;
      const options = { retentionMs: deps.retentionOf(task) };
      try {
        if (lockManager.finishFireThen) lockManager.finishFireThen(task.lease, outcome.status, options, task, this.finishWritten);
        else whenWritten(lockManager.finishFire(task.lease, outcome.status, options), task, this.finishWritten, 'finishFire');
      } catch (e) {
        this.finishWritten(task, false, e ?? rejected('finishFire'));
      }
      return;
    }
    this.settle(task, outcome, error, handedOver);
    this.closed(task);
  }

  private readonly finishWritten = (task: FireTask, _changed: boolean, error: unknown): void => {
    try {
      if (error !== undefined) this.deps.reporter.error('finishFire', toError(task.jobName, error), task.jobName);
      this.settle(task, task.lastOutcome, undefined, false);
      this.closed(task);
    } catch (e) {
      this.bug(task, e);
    }
  };

  /** The fire's end, its record written: its breaker, its callers, the scheduler. */
  private settle(task: FireTask, outcome: ExecutionOutcome | undefined, error: Error | undefined, handedOver: boolean): void {
    const { deps } = this;
    const breaker = task.entry.breaker;
    // A shard's end is not the fire's: its parent's outcome counts for the breaker.
    if (breaker && outcome && task.shardOf === undefined) {
      if (outcome.status === 'completed') breaker.onSuccess();
      else if (outcome.status === 'failed' || outcome.status === 'timeout' || outcome.status === 'abandoned') {
        breaker.onFailure(deps.clock.now());
      } else breaker.onNoVerdict();
    }
    task.entry.inFlight -= 1;
    if (outcome) task.settle?.(outcome);
    else task.reject?.(error ?? new Error(`sched: fire ${task.fireId} was given up before it ran`));
    // A parent handed over has not ended: the node that takes it over tells the dependents.
    deps.onFireDone(task, handedOver ? undefined : outcome);
  }

  private skipArgs(task: FireTask) {
    return {
      jobName: task.jobName,
      fireId: task.fireId,
      scheduledAt: task.scheduledAt,
      kind: task.kind,
      nodeId: this.deps.nodeId,
      executionId: newExecutionId(),
    };
  }
}

/** A write's promise (an adapter without the callback forms, a start sent at the instant), answered as they answer. */
function whenWritten(write: Promise<boolean>, task: FireTask, done: FireWriteDone<FireTask>, operation: string): void {
  write.then(
    (changed) => done(task, changed, undefined),
    (e: unknown) => done(task, false, e ?? rejected(operation)),
  );
}

/** What a write's promise rejected with when it rejected with nothing. */
function rejected(operation: string): Error {
  return new Error(`sched: ${operation} failed without an error`);
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

/** A sharded fire's items: the sum over the shards that report them. */
function sumItems(shards: readonly ShardResult[]): ShardItemCounts | undefined {
  let any = false;
  const sum: ShardItemCounts = { itemsTotal: 0, itemsDone: 0, itemsFailed: 0 };
  for (const s of shards) {
    if (s.itemsTotal === undefined) continue;
    any = true;
    sum.itemsTotal += s.itemsTotal;
    sum.itemsDone += s.itemsDone ?? 0;
    sum.itemsFailed += s.itemsFailed ?? 0;
  }
  return any ? sum : undefined;
}

function classify(error: Error, abortReason: Error | undefined): FinalStatus {
  const cause: unknown = abortReason ?? error;
  if (isSchedError(cause, ErrorCode.JobTimeout)) return 'timeout';
  if (isSchedError(cause, ErrorCode.JobCancelled) || isSchedError(cause, ErrorCode.JobAborted)) return 'cancelled';
  if (isSchedError(cause, ErrorCode.LeaseLost)) return 'abandoned';
  if (isSchedError(error, ErrorCode.JobTimeout)) return 'timeout';
  return 'failed';
}
