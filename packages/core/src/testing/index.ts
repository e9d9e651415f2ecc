/**
 * `@sched/core/testing`: what tests of sched and of users' jobs need.
 * `FakeClock` drives time; the memory adapters (exported from `@sched/core`)
 * can be shared by several schedulers to simulate a cluster.
 */
export { FakeClock } from './fake-clock.js';
export { sleepOn } from './sleep.js';
export { silentLogger } from '../ports/logger.js';
export { MemoryStore } from '../memory/store.js';
