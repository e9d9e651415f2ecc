/**
 * @sched/cluster — sched on Redis or Redis Cluster: `createClusterScheduler`,
 * `RedisSchedulerCache`, and the Redis adapters re-exported so the seed's
 * setup order reads the same in TypeScript.
 */
export { RedisSchedulerCache } from './redis-scheduler-cache.js';
export { createClusterScheduler, ClusterScheduler } from './create-cluster-scheduler.js';
export type { ClusterSchedulerOptions } from './create-cluster-scheduler.js';
export { RedisConnection, ClusterClock, LuaScript } from '@sched/redis';
export type { RedisClient, RedisConnectionOptions, ClusterClockOptions } from '@sched/redis';
export { RedisLockManager, RedisStateStore } from '@sched/lock';
export { RedisConfigStore } from '@sched/config';
export { ClusterRemoteExecutor } from '@sched/remote';
export { RedisNodeRegistry, NodeRegistry } from '@sched/registry';
export type { RedisNodeRegistryOptions } from '@sched/registry';
export { RedisPubSub } from '@sched/pubsub';
export type { RedisPubSubOptions } from '@sched/pubsub';
export { Scheduler, createConsoleLogger } from '@sched/core';
export { DagCoordinator } from '@sched/dag';
export { MetricsCollector, withMetrics, metricsHandler } from '@sched/metrics';
export type { MetricsCollectorOptions } from '@sched/metrics';
export { ClusterShardPlanner, withSharding, getShardIndex, getShardTotal } from '@sched/sharding';
export { RedisSnapshotRepository, PostgresSnapshotRepository, EmbeddedSnapshotRepository } from '@sched/snapshots';
