/**
 * @sched/sharding — one fire's work split over the live nodes (SPEC.md §3).
 * Attach `new ClusterShardPlanner()` as the scheduler's `shardPlanner` to
 * serve `shardingEnabled` jobs; `withSharding` is the static form.
 */
export { ClusterShardPlanner, SHARDING_CHANNEL } from './planner.js';
export type { ClusterShardPlannerOptions } from './planner.js';
export { averageAllocation, consistentHashAllocation } from './allocation.js';
export type { AllocationInput, ShardAllocationStrategy } from './allocation.js';
export { withSharding } from './static.js';
export { parseShardFireId, shardFireId } from './fire-state.js';
export { encodeRanges, decodeRanges } from './progress.js';
export { getShardIndex, getShardTotal, isShardingJob, ShardsFailedError, ShardItemsFailedError } from '@sched/core';
export type { ShardingJob, ShardContext, ShardResult, ShardItemCounts } from '@sched/core';
