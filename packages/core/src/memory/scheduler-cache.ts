import type { Clock } from '../ports/clock.js';
import type { SchedulerCache } from '../ports/scheduler-cache.js';
import { MemoryConfigStore } from './config-store.js';
import { MemoryLockManager } from './lock-manager.js';
import { MemoryStateStore } from './state-store.js';
import { MemoryStore } from './store.js';

/**
 * The embedded default `SchedulerCache`: claims, state and shared config in
 * this process. Pass one instance to several schedulers to simulate a cluster
 * on one store (`store` exposes the faults: `setAvailable`, `flush`).
 */
export class MemorySchedulerCache implements SchedulerCache {
  readonly store: MemoryStore;
  readonly lockManager: MemoryLockManager;
  readonly stateStore: MemoryStateStore;
  readonly configStore: MemoryConfigStore;

  constructor(options: { clock?: Clock; store?: MemoryStore } = {}) {
    this.store = options.store ?? new MemoryStore(options.clock ? { clock: options.clock } : {});
    this.lockManager = new MemoryLockManager(this.store);
    this.stateStore = new MemoryStateStore(this.store);
    this.configStore = new MemoryConfigStore(this.store);
  }
}
