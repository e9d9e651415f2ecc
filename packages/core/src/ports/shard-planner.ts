import type { SchedulerHost } from './scheduler-host.js';

/**
 * ShardPlanner port, filled by `@sched/sharding` (SPEC.md §3).
 *
 * `plan` spreads the shards of one fire over the live nodes; every node must
 * compute the same plan from the same inputs. Each shard is still claimed
 * through its own per-fire record, so a disagreement about membership can
 * never run a shard twice. After `attach`, the planner runs the shards of
 * fires of `shardingEnabled` jobs through the host.
 */
export interface ShardPlanner {
  readonly packageName: string;
  plan(fire: { jobName: string; fireId: string; shardingTotal: number }, liveNodeIds: readonly string[]): ShardAssignment[];
  attach(host: SchedulerHost): Promise<void> | void;
  detach?(): Promise<void> | void;
}

export interface ShardAssignment {
  shardIndex: number;
  nodeId: string;
}
