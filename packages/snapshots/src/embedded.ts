import { InvalidArgumentError, StoreUnavailableError } from '@sched/core';
import { SqlSnapshotRepository, type SqlSnapshotRepositoryOptions } from './sql/repository.js';

export interface EmbeddedSnapshotRepositoryOptions extends SqlSnapshotRepositoryOptions {
  /** Directory of the database files; history survives a restart. Omit for an in-memory database. */
  dataDir?: string;
}

/** The part of a PGlite instance used here. */
interface PGliteLike {
  query(text: string, params?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
  exec(text: string): Promise<unknown>;
  close(): Promise<void>;
  readonly closed: boolean;
}

/**
 * The embedded default for one process with no servers: the PostgreSQL
 * adapter's SQL on PGlite (PostgreSQL in WebAssembly) with its files in
 * `dataDir`. Open it with `await EmbeddedSnapshotRepository.open({ dataDir })`
 * and `close()` it at the end. `@electric-sql/pglite` is an optional peer
 * dependency, loaded only here.
 */
export class EmbeddedSnapshotRepository extends SqlSnapshotRepository {
  private constructor(
    private readonly pglite: PGliteLike,
    options: EmbeddedSnapshotRepositoryOptions,
  ) {
    super(pglite, options);
  }

  static async open(options: EmbeddedSnapshotRepositoryOptions = {}): Promise<EmbeddedSnapshotRepository> {
    if (options.dataDir !== undefined && (typeof options.dataDir !== 'string' || options.dataDir === '')) {
      throw new InvalidArgumentError('EmbeddedSnapshotRepository.open', 'dataDir must be a non-empty path');
    }
    let PGlite: { create(dataDir?: string): Promise<PGliteLike> };
    try {
      ({ PGlite } = (await import('@electric-sql/pglite')) as unknown as { PGlite: typeof PGlite });
    } catch (error) {
      throw new StoreUnavailableError(
        'EmbeddedSnapshotRepository.open',
        'the embedded store needs @electric-sql/pglite (npm install @electric-sql/pglite)',
        { cause: error },
      );
    }
    let db: PGliteLike;
    try {
      db = await PGlite.create(options.dataDir);
    } catch (error) {
      throw new StoreUnavailableError(
        'EmbeddedSnapshotRepository.open',
        `could not open the database in ${options.dataDir ?? 'memory'}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    const repo = new EmbeddedSnapshotRepository(db, options);
    await repo.init();
    return repo;
  }

  /** Waits for queued writes, then closes the database (its files stay). */
  async close(): Promise<void> {
    await this.flushed();
    if (!this.pglite.closed) await this.pglite.close();
  }
}
