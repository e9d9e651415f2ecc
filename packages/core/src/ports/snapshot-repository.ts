import type { ExecutionSnapshot, ExecutionStatus } from '../model.js';

/**
 * SnapshotRepository port: the history of every execution.
 *
 * The scheduler `record`s a snapshot when an execution starts (or when a fire
 * is skipped or misfired) and `update`s it when it ends; it never awaits these
 * writes on the fire's path, and logs their failures. Writes may be issued
 * without waiting for the previous one: an adapter applies them in call order
 * (a `record` before the `update`s of the same execution). Both are idempotent:
 * a `record` of a stored execution replaces it, an `update` of an unknown one
 * does nothing, so the scheduler may re-send a write whose answer it lost. `list` returns newest
 * first (by `startedAt`, then `executionId`) with an opaque cursor for the next
 * page. Retention (age and count per job) is the adapter's to enforce.
 * Failure: methods reject with `StoreUnavailableError` when the store is down
 * and with `InvalidArgumentError` for a bad filter.
 */
export interface SnapshotRepository {
  record(snapshot: ExecutionSnapshot): Promise<void>;
  update(executionId: string, patch: SnapshotPatch): Promise<void>;
  get(executionId: string): Promise<ExecutionSnapshot | null>;
  list(filter?: SnapshotFilter): Promise<SnapshotPage>;
  getStatistics(jobName: string, start: Date | number, end: Date | number): Promise<SnapshotStatistics>;
  /**
   * Optional, for a store in this process's memory (offered with `updateNow`): `record`, done
   * before it returns, with no promise. The scheduler then writes through at once instead of
   * queueing the write for the next turn (in a burst of thousands of fires, each queued write
   * and its promise is memory the young generation copies). Throws only on a bug.
   */
  recordNow?(snapshot: ExecutionSnapshot): void;
  /** `update` done before it returns (see `recordNow`). */
  updateNow?(executionId: string, patch: SnapshotPatch): void;
}

export type SnapshotPatch = Partial<Omit<ExecutionSnapshot, 'executionId' | 'jobName' | 'fireId'>>;

export interface SnapshotFilter {
  jobName?: string;
  status?: ExecutionStatus | readonly ExecutionStatus[];
  nodeId?: string;
  /** Inclusive lower bound on `startedAt`. */
  startTime?: Date | number;
  /** Exclusive upper bound on `startedAt`. */
  endTime?: Date | number;
  /** Page size, default 100, at most 1,000. */
  limit?: number;
  /** From `SnapshotPage.nextCursor` of the previous page. */
  cursor?: string;
}

export interface SnapshotPage {
  items: ExecutionSnapshot[];
  /** Present when more items match. */
  nextCursor?: string;
}

/** Counts follow SPEC.md: failure = failed + timeout + abandoned. */
export interface SnapshotStatistics {
  totalCount: number;
  successCount: number;
  failureCount: number;
  skippedCount: number;
  timeoutCount: number;
  avgDurationMs: number;
  p50DurationMs: number;
  p95DurationMs: number;
  lastRunAt: Date | undefined;
}
