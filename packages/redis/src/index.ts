/**
 * @sched/redis — the Redis plumbing every sched Redis adapter stands on:
 * `RedisConnection` (one client or a Cluster, key prefix with the schema
 * version, hash-tag buckets, one shared subscriber), `LuaScript` (scripts in
 * `.lua` files, run by SHA with the NOSCRIPT fallback) and `ClusterClock`
 * (this node's clock corrected onto Redis `TIME`).
 */
export { RedisConnection, SCHEMA_VERSION, connectionOf, toStoreError } from './connection.js';
export type { RedisClient, RedisConnectionOptions } from './connection.js';
export { LuaScript } from './lua.js';
export { ClusterClock } from './cluster-clock.js';
export type { ClusterClockOptions } from './cluster-clock.js';
export { fnv1a } from './hash.js';
