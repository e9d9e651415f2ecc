/**
 * @sched/snapshots — execution history for sched on Redis, PostgreSQL, or an
 * embedded file-backed database (PGlite), beside core's in-memory default.
 * Every adapter passes the same contract suite (test/contract.ts).
 */
export { RedisSnapshotRepository } from './redis/repository.js';
export type { RedisSnapshotRepositoryOptions } from './redis/repository.js';
export { SqlSnapshotRepository } from './sql/repository.js';
export type { SqlDriver, SqlSnapshotRepositoryOptions } from './sql/repository.js';
export { PostgresSnapshotRepository } from './postgres.js';
export type { PgQueryable, PostgresSnapshotRepositoryOptions } from './postgres.js';
export { EmbeddedSnapshotRepository } from './embedded.js';
export type { EmbeddedSnapshotRepositoryOptions } from './embedded.js';
export { DEFAULT_RETENTION } from './retention.js';
export type { RetentionOptions } from './retention.js';
export { SCHEMA_VERSION } from './sql/schema.js';
export { MemorySnapshotRepository } from '@sched/core';
