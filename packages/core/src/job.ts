import type { Logger } from './ports/logger.js';

/** What one job run sees. Field names follow SPEC.md's glossary. */
export interface JobContext {
  /** The job's registered name. */
  readonly jobName: string;
  /** Stable across the cluster for one fire: `jobName@<instant ms>` for a cron fire. */
  readonly fireId: string;
  /** Unique per attempt. */
  readonly executionId: string;
  /** The instant the cron spec named; `undefined` for a manual or remote fire. */
  readonly scheduledAt: Date | undefined;
  /** The node running this execution. */
  readonly nodeId: string;
  /** 1 for the first attempt, 2 for the first retry… */
  readonly attempt: number;
  /** Aborted at the timeout, on `cancel(executionId)` and when `stop()` gives up waiting; `reason` says which. */
  readonly signal: AbortSignal;
  /** A logger bound to jobName, fireId and executionId. */
  readonly logger: Logger;
  /**
   * Monotonic token of the claim this run holds; a store that receives writes
   * from runs can reject a lower token than the last it saw (fencing).
   */
  readonly fencingToken: number | undefined;
  /** Parameters of a manual (`trigger`) or remote (`execute`) fire. */
  readonly params: Readonly<Record<string, unknown>> | undefined;
  /** For a compensating run (`misfirePolicy: 'immediate'`): how many instants it stands for. */
  readonly missedCount: number | undefined;
  /** For a compensating run: the earliest instant it stands for. */
  readonly missedFrom: Date | undefined;
  /** The shard this run processes; read it with `getShardIndex(ctx)` / `getShardTotal(ctx)`. */
  readonly shard: ShardContext | undefined;
}

export interface ShardContext {
  readonly shardIndex: number;
  readonly shardTotal: number;
}

/**
 * Checks the `params` of a manual or remote fire (a zod schema fits:
 * anything with `safeParse`). A fire whose params fail it is refused before
 * it runs.
 */
export interface ParamsSchema {
  safeParse(value: unknown): { success: boolean; error?: { message: string } };
}

/** A unit of work registered by name on every node that may run it. */
export interface Job {
  readonly name: string;
  execute(ctx: JobContext): Promise<void> | void;
  /** Checks the params of `trigger` and `execute` (remote messages too). */
  readonly paramsSchema?: ParamsSchema;
}

/**
 * A job whose fire is split into shards (SPEC.md §3). The framework calls
 * `fetchShardingItems` for a shard, then `processShardingItem` per item.
 * Needs `@sched/sharding` attached as `shardPlanner` when `shardingEnabled`.
 */
export interface ShardingJob<T = unknown> {
  readonly name: string;
  fetchShardingItems(ctx: JobContext, sharding: ShardContext): Promise<readonly T[]> | readonly T[];
  processShardingItem(ctx: JobContext, item: T, sharding: ShardContext): Promise<void> | void;
  /** Optional plain body, used when the job runs without sharding (e.g. a manual trigger). */
  execute?(ctx: JobContext): Promise<void> | void;
  /** Checks the params of `trigger` and `execute` (remote messages too). */
  readonly paramsSchema?: ParamsSchema;
}

export type AnyJob = Job | ShardingJob;

export function isShardingJob(job: AnyJob): job is ShardingJob {
  return (
    typeof (job as ShardingJob).fetchShardingItems === 'function' &&
    typeof (job as ShardingJob).processShardingItem === 'function'
  );
}

/** The shard index of a sharded run, `undefined` when the run is not sharded. */
export function getShardIndex(ctx: JobContext): number | undefined {
  return ctx.shard?.shardIndex;
}

/** The shard total of a sharded run, `undefined` when the run is not sharded. */
export function getShardTotal(ctx: JobContext): number | undefined {
  return ctx.shard?.shardTotal;
}
