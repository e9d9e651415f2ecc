import type { ExecutionSnapshot } from '../model.js';
import type { Clock } from '../ports/clock.js';
import { SystemClock } from '../ports/clock.js';
import type {
  SnapshotFilter,
  SnapshotPage,
  SnapshotPatch,
  SnapshotRepository,
  SnapshotStatistics,
} from '../ports/snapshot-repository.js';
import { InvalidArgumentError } from '../errors.js';
import { compareNewestFirst, computeStatistics, matchesFilter, normalizeFilter, pageOf } from '../snapshots/filter.js';

export interface MemorySnapshotRepositoryOptions {
  /** Snapshots kept per job; the oldest go first. @default 100 */
  maxPerJob?: number;
  /** Snapshots older than this (by `startedAt`) are dropped. @default none */
  maxAgeMs?: number;
  clock?: Clock;
}

/** SnapshotRepository in memory (the default): bounded per job, shareable between schedulers. */
export class MemorySnapshotRepository implements SnapshotRepository {
  private readonly byId = new Map<string, ExecutionSnapshot>();
  /** Execution ids per job in insertion order, for the per-job bound. */
  private readonly byJob = new Map<string, string[]>();
  private readonly maxPerJob: number;
  private readonly maxAgeMs: number | undefined;
  private readonly clock: Clock;
  /**
   * `record` and `update` with no promise (see the port): the scheduler writes through to this
   * store at once. Not offered by a subclass that overrides `record` or `update` (its own
   * writes are then the ones the scheduler calls).
   */
  readonly recordNow: ((snapshot: ExecutionSnapshot) => void) | undefined;
  readonly updateNow: ((executionId: string, patch: SnapshotPatch) => void) | undefined;

  constructor(options: MemorySnapshotRepositoryOptions = {}) {
    const own =
      this.record === MemorySnapshotRepository.prototype.record && this.update === MemorySnapshotRepository.prototype.update;
    this.recordNow = own ? (snapshot) => this.store(snapshot) : undefined;
    this.updateNow = own ? (executionId, patch) => this.patch(executionId, patch) : undefined;
    this.maxPerJob = options.maxPerJob ?? 100;
    this.maxAgeMs = options.maxAgeMs;
    this.clock = options.clock ?? new SystemClock();
    if (!Number.isInteger(this.maxPerJob) || this.maxPerJob < 1) {
      throw new InvalidArgumentError(
        'MemorySnapshotRepository',
        `maxPerJob must be a positive integer, got ${String(options.maxPerJob)}`,
      );
    }
  }

  /** Takes the snapshot as given (the caller must not change it afterwards); reads return copies. */
  async record(snapshot: ExecutionSnapshot): Promise<void> {
    this.store(snapshot);
  }

  async update(executionId: string, patch: SnapshotPatch): Promise<void> {
    this.patch(executionId, patch);
  }

  private store(snapshot: ExecutionSnapshot): void {
    const copy = snapshot;
    // One probe of the map (set, then see whether it grew) instead of has + set: with 100 a job over
    // thousands of jobs it holds hundreds of thousands, and each probe of a new id is a cache miss.
    const size = this.byId.size;
    this.byId.set(copy.executionId, copy);
    if (this.byId.size > size) {
      let ids = this.byJob.get(copy.jobName);
      if (!ids) {
        ids = [];
        this.byJob.set(copy.jobName, ids);
      }
      ids.push(copy.executionId);
      while (ids.length > this.maxPerJob) this.byId.delete(ids.shift() as string);
    }
  }

  private patch(executionId: string, patch: SnapshotPatch): void {
    const current = this.byId.get(executionId);
    if (current) Object.assign(current, patch);
  }

  async get(executionId: string): Promise<ExecutionSnapshot | null> {
    const s = this.byId.get(executionId);
    return s && !this.expired(s) ? { ...s } : null;
  }

  async list(filter: SnapshotFilter = {}): Promise<SnapshotPage> {
    const f = normalizeFilter(filter);
    const source = f.jobName === undefined ? this.byId.values() : this.idsToSnapshots(this.byJob.get(f.jobName) ?? []);
    const matched: ExecutionSnapshot[] = [];
    for (const s of source) if (!this.expired(s) && matchesFilter(s, f)) matched.push(s);
    matched.sort(compareNewestFirst);
    return pageOf(
      matched.slice(0, f.limit + 1).map((s) => ({ ...s })),
      f.limit,
    );
  }

  async getStatistics(jobName: string, start: Date | number, end: Date | number): Promise<SnapshotStatistics> {
    const f = normalizeFilter({ jobName, startTime: start, endTime: end }, 'snapshots.getStatistics');
    const matched: ExecutionSnapshot[] = [];
    for (const s of this.idsToSnapshots(this.byJob.get(jobName) ?? []))
      if (!this.expired(s) && matchesFilter(s, f)) matched.push(s);
    return computeStatistics(matched);
  }

  private *idsToSnapshots(ids: readonly string[]): Iterable<ExecutionSnapshot> {
    for (const id of ids) {
      const s = this.byId.get(id);
      if (s) yield s;
    }
  }

  private expired(s: ExecutionSnapshot): boolean {
    return this.maxAgeMs !== undefined && s.startedAt < this.clock.now() - this.maxAgeMs;
  }
}
