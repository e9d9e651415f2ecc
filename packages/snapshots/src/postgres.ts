import { SqlSnapshotRepository, type SqlSnapshotRepositoryOptions } from './sql/repository.js';

/** What is used of a `pg` `Pool` or `Client` (structural: this package does not import `pg`). */
export interface PgQueryable {
  query(text: string, params?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
}

export type PostgresSnapshotRepositoryOptions = SqlSnapshotRepositoryOptions;

/**
 * SnapshotRepository on PostgreSQL through a `pg` `Pool` you own (closing it is
 * yours). Call `await repo.init()` once to create or migrate the table (it is
 * also run by the first call that needs it).
 */
export class PostgresSnapshotRepository extends SqlSnapshotRepository {
  constructor(pool: PgQueryable, options: PostgresSnapshotRepositoryOptions = {}) {
    super(
      {
        query: (text, params) => pool.query(text, params),
        // No parameters: pg sends it as a simple query, so several statements are allowed.
        exec: (text) => pool.query(text),
      },
      options,
    );
  }
}
