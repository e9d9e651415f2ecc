import { MemoryConfigStore, MemoryStore, type ConfigStore, type SchedulerCache } from '@sched/core';
import { RedisLockManager, RedisStateStore } from '@sched/lock';
import { RedisConnection, type RedisClient, type RedisConnectionOptions } from '@sched/redis';

/**
 * Core's `SchedulerCache` on Redis (the seed's `SchedulerCache`): claims and
 * state in `@sched/lock`. Pass it to `NodeRegistry`, `RedisPubSub` and the
 * other seed-style constructors: they read its `.connection`.
 *
 * The shared configuration store on Redis arrives with `@sched/config`; until
 * then `configStore` is this process's own (memory), so runtime config
 * changes are local to the node.
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
    this.configStore = options.configStore ?? new MemoryConfigStore(new MemoryStore());
  }
}
