/**
 * @sched/lock — core's `LockManager` and `StateStore` on Redis or Redis
 * Cluster: high-water-mark claims (one Lua call per bucket per instant),
 * per-fire records under leases, token-owned leases with fencing tokens, the
 * epoch and the data-loss floor.
 */
export { RedisLockManager } from './redis-lock-manager.js';
export { RedisStateStore, unpackRecord } from './redis-state-store.js';
export { jobOfFireId } from './keys.js';
