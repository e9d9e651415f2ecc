import type { SchedulerEvents, TypedEmitter } from '../events.js';
import type { ExecutionOutcome, ExecutionSnapshot, FireKind, MisfirePolicy, SkipReason } from '../model.js';
import type { Logger } from '../ports/logger.js';
import type { MetricsEvent, MetricsSink } from '../ports/metrics-sink.js';
import type { SnapshotPatch } from '../ports/snapshot-repository.js';
import type { SnapshotWriter } from './snapshot-writer.js';

const STACK_LIMIT = 4_000;
const MESSAGE_LIMIT = 2_000;

/**
 * The one place that tells the world what happened: typed events, metrics
 * sinks (core's counters among them) and snapshots (through the
 * write-behind `SnapshotWriter`, so recording never holds up a fire).
 */
export class Reporter {
  private readonly sinks: MetricsSink[] = [];

  constructor(
    readonly events: TypedEmitter<SchedulerEvents>,
    private readonly snapshots: SnapshotWriter,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  addSink(sink: MetricsSink): void {
    if (!this.sinks.includes(sink)) this.sinks.push(sink);
  }

  /** The sinks attached now (core's counters first). */
  get metricsSinks(): readonly MetricsSink[] {
    return this.sinks;
  }

  metric(event: MetricsEvent): void {
    for (const sink of this.sinks) {
      try {
        sink.record(event);
      } catch (error) {
        this.logger.error('metrics sink threw; it is detached', { error });
        this.sinks.splice(this.sinks.indexOf(sink), 1);
      }
    }
  }

  error(operation: string, error: Error, jobName?: string): void {
    const fields = jobName === undefined ? { operation, error } : { operation, error, jobName };
    this.logger.error(`sched ${operation} failed`, fields);
    this.metric(jobName === undefined ? { type: 'error', operation, error } : { type: 'error', operation, error, jobName });
    this.events.emit('error', jobName === undefined ? { operation, error } : { operation, error, jobName });
  }

  /** Writes the snapshot of an execution that starts now. */
  recordStart(snapshot: ExecutionSnapshot): void {
    this.snapshots.record(snapshot);
  }

  /** Completes an execution's snapshot once it ended. */
  recordEnd(outcome: ExecutionOutcome, error?: Error): void {
    const patch: SnapshotPatch = {
      status: outcome.status,
      finishedAt: outcome.finishedAt.getTime(),
      durationMs: outcome.durationMs,
    };
    if (outcome.items) {
      patch.itemsTotal = outcome.items.itemsTotal;
      patch.itemsDone = outcome.items.itemsDone;
      patch.itemsFailed = outcome.items.itemsFailed;
    }
    if (outcome.shards) patch.shards = outcome.shards;
    if (outcome.error) {
      patch.errorMessage = trim(outcome.error.message, MESSAGE_LIMIT);
      if (error?.stack) patch.errorStack = trim(error.stack, STACK_LIMIT);
    }
    this.snapshots.update(outcome.executionId, patch);
  }

  /** A record that is born finished (skipped, misfired). */
  recordFinished(snapshot: ExecutionSnapshot): void {
    this.snapshots.record(snapshot);
  }

  skip(
    args: {
      jobName: string;
      fireId: string;
      scheduledAt: number | undefined;
      kind: FireKind;
      nodeId: string;
      executionId: string;
    },
    reason: SkipReason,
    record: boolean,
  ): ExecutionOutcome {
    const now = this.now();
    this.events.emit('skip', {
      jobName: args.jobName,
      fireId: args.fireId,
      scheduledAt: args.scheduledAt === undefined ? undefined : new Date(args.scheduledAt),
      reason,
      nodeId: args.nodeId,
    });
    if (record) {
      this.metric({ type: 'skip', jobName: args.jobName, reason });
      this.recordFinished({ ...bornFinished(args, 'skipped', args.kind, now), skipReason: reason });
    }
    return {
      jobName: args.jobName,
      fireId: args.fireId,
      executionId: args.executionId,
      nodeId: args.nodeId,
      status: 'skipped',
      attempt: 0,
      scheduledAt: args.scheduledAt === undefined ? undefined : new Date(args.scheduledAt),
      startedAt: new Date(now),
      finishedAt: new Date(now),
      durationMs: 0,
      skipReason: reason,
      kind: args.kind,
    };
  }

  /**
   * A run whose node stopped renewing its lease mid-run, found by the node that took its
   * record over: counted, and its snapshot closed — the run's own (`runs`: still `running`
   * in a shared history, or closed already by its node) or, when the history has none, one
   * born finished.
   */
  abandoned(args: {
    jobName: string;
    fireId: string;
    scheduledAt: number | undefined;
    nodeId: string;
    executionId: string;
    runs: readonly ExecutionSnapshot[];
    /** The left run was this shard of a sharded fire. */
    shard?: { shardIndex: number; shardTotal: number };
  }): void {
    this.metric({ type: 'abandoned', jobName: args.jobName });
    const now = this.now();
    if (args.runs.length === 0) {
      const snapshot = bornFinished(args, 'abandoned', args.scheduledAt === undefined ? 'manual' : 'cron', now);
      if (args.shard) {
        snapshot.shardIndex = args.shard.shardIndex;
        snapshot.shardTotal = args.shard.shardTotal;
      }
      this.recordFinished(snapshot);
      return;
    }
    for (const run of args.runs) {
      if (run.status !== 'running') continue; // closed already by its own node, woken fenced off
      this.snapshots.update(run.executionId, {
        status: 'abandoned',
        finishedAt: now,
        durationMs: Math.max(0, now - run.startedAt),
      });
    }
  }

  misfired(args: {
    jobName: string;
    fireId: string;
    instant: number;
    nodeId: string;
    executionId: string;
    policy: MisfirePolicy;
    missedCount?: number;
  }): void {
    const snapshot: ExecutionSnapshot = {
      ...bornFinished({ ...args, scheduledAt: args.instant }, 'misfired', 'cron', this.now()),
      misfirePolicy: args.policy,
    };
    if (args.missedCount !== undefined) snapshot.missedCount = args.missedCount;
    this.recordFinished(snapshot);
  }
}

/** The snapshot of a fire that never ran (skipped, misfired, abandoned): started and finished at `now`. */
function bornFinished(
  args: { executionId: string; jobName: string; fireId: string; scheduledAt: number | undefined; nodeId: string },
  status: 'skipped' | 'misfired' | 'abandoned',
  kind: FireKind,
  now: number,
): ExecutionSnapshot {
  return {
    executionId: args.executionId,
    jobName: args.jobName,
    fireId: args.fireId,
    scheduledAt: args.scheduledAt,
    startedAt: now,
    finishedAt: now,
    durationMs: 0,
    status,
    nodeId: args.nodeId,
    attempt: 0,
    kind,
  };
}

function trim(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit)}…`;
}
