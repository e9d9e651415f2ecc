/** @sched/registry — core's NodeRegistry on Redis: heartbeats, TTL, join/leave on pub/sub, node-id takeover. */
export { RedisNodeRegistry, RedisNodeRegistry as NodeRegistry } from './redis-node-registry.js';
export type { RedisNodeRegistryOptions } from './redis-node-registry.js';
