import type { ConfigStore } from './config-store.js';
import type { LockManager } from './lock-manager.js';
import type { StateStore } from './state-store.js';

/**
 * SchedulerCache port (the seed's `SchedulerCache`): the bundle of stores a
 * cluster shares. Core's memory version serves one process or a simulated
 * cluster; `RedisSchedulerCache` from `@sched/cluster` serves real ones.
 */
export interface SchedulerCache {
  readonly lockManager: LockManager;
  readonly stateStore: StateStore;
  readonly configStore: ConfigStore;
}
