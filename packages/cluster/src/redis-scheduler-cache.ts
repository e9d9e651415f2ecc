import type { ConfigStore, SchedulerCache } from '@sched/core';
import { RedisConfigStore } from '@sched/config';
import { RedisLockManager, RedisStateStore } from '@sched/lock';
import { RedisConnection, type RedisClient, type RedisConnectionOptions } from '@sched/redis';

/**
 * Core's `SchedulerCache` on Redis (the seed's `SchedulerCache`): claims and
 * state in `@sched/lock`. Pass it to `NodeRegistry`, `RedisPubSub` and the
 * other seed-style constructors: they read its `.connection`.
 *
 * `configStore` is the cluster's shared, versioned document on Redis
 * (`RedisConfigStore` of `@sched/config`). The scheduler does not read or
 * write it yet (runtime config changes are still local to the node); the
 * sync arrives with the rest of `@sched/config`.
 */
export class RedisSchedulerCache implements SchedulerCache {
  readonly connection: RedisConnection;
  readonly lockManager: RedisLockManager;
  readonly stateStore: RedisStateStore;
  readonly configStore: ConfigStore;

  constructor(redis: RedisClient | RedisConnection, options: RedisConnectionOptions & { configStore?: ConfigStore } = {}) {
    this.connection = redis instanceof RedisConnection ? redis : new RedisConnection(redis, options);
    this.lockManager = new RedisLockManager(this.connection);
    this.stateStore = new RedisStateStore(this.connection);
    this.configStore = options.configStore ?? new RedisConfigStore(this.connection);
  }
}
