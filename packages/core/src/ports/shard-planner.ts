import type { JobContext } from '../job.js';
import type { FireKind, ShardResult } from '../model.js';
import type { SchedulerHost } from './scheduler-host.js';

/**
 * ShardPlanner port, filled by `@sched/sharding` (SPEC.md §3).
 *
 * A fire of a `shardingEnabled` job is won by one node as usual; that node's
 * scheduler hands it to `runShardedFire` (the fire's parent execution, which
 * holds no concurrency slot). The planner spreads the shards over the live
 * nodes with `plan` (every node computes the same plan from the same
 * inputs), has each shard claimed by id as its own per-fire record
 * (`<fireId>#<shardIndex>`, run through `SchedulerHost.runFire`), so a
 * disagreement about membership can never run a shard twice, takes over the
 * shards of nodes that die, and resolves once every shard has ended.
 */
export interface ShardPlanner {
  readonly packageName: string;
  plan(fire: { jobName: string; fireId: string; shardingTotal: number }, liveNodeIds: readonly string[]): ShardAssignment[];
  attach(host: SchedulerHost): Promise<void> | void;
  detach?(): Promise<void> | void;
  /**
   * Runs one sharded fire to its end and resolves with every shard's result
   * (by index). Called again (a later attempt, maybe on another node) when
   * the node running it died: it then picks up the shards where they are.
   * `ctx.signal` aborts the wait (the shards already running go on).
   */
  runShardedFire(fire: ShardedFire, ctx: JobContext): Promise<ShardResult[]>;
  /** True for the per-shard fire records it runs: the scheduler's takeover sweep leaves them to it. */
  ownsFire(fireId: string): boolean;
}

export interface ShardAssignment {
  shardIndex: number;
  nodeId: string;
}

/** A fire of a `shardingEnabled` job, as the scheduler hands it over. */
export interface ShardedFire {
  jobName: string;
  fireId: string;
  shardingTotal: number;
  kind: FireKind;
  scheduledAt: number | undefined;
  params: Readonly<Record<string, unknown>> | undefined;
}
