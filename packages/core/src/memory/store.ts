import { StoreUnavailableError } from '../errors.js';
import type { Clock } from '../ports/clock.js';
import type { CatchupList, FireRecord } from '../ports/state-store.js';
import { SystemClock } from '../ports/clock.js';

/** A change the file store must make durable (marks, catch-up lists, the fencing epoch). */
export type StoreChange =
  | { kind: 'marks'; entries: ReadonlyArray<readonly [string, number]> }
  | { kind: 'catchup'; list: CatchupList }
  | { kind: 'catchup-removed'; jobName: string }
  | { kind: 'epoch'; epoch: number }
  | { kind: 'flush'; epoch: number };

/**
 * The shared data behind the memory LockManager and StateStore: what a Redis
 * holds for a cluster. Several schedulers in one process may share one store
 * (a simulated cluster); time-to-live is judged by the store's own clock, as
 * Redis judges it by its own.
 *
 * Faults for tests: `setAvailable(false)` makes every operation reject with
 * `StoreUnavailableError` (a store that is down), and `flush()` forgets
 * everything (a restart without persistence).
 */
export class MemoryStore {
  readonly clock: Clock;
  /** Seconds; the first half of every fencing token. Renewed by `flush()`. */
  epoch: number;
  /**
   * Instants at or before the floor cannot be won by a job without a mark
   * (they may have run before data was lost). Set when the store is first
   * used and again after `flush()`, as the Redis scripts set it when the epoch
   * key is missing.
   */
  floor = Number.NEGATIVE_INFINITY;
  private initialised = false;
  readonly marks = new Map<string, number>();
  readonly fires = new Map<string, FireRecord>();
  readonly leases = new Map<string, { token: string; fencingToken: number; expiresAt: number; nodeId: string }>();
  readonly runs = new Map<string, { fields: Record<string, string>; expiresAt: number }>();
  readonly catchups = new Map<string, CatchupList>();
  private counter = 0;
  private available = true;
  private lastPurge = 0;
  /** Finished fire ids in the order they finished, for purging without a scan. */
  private readonly finished: Array<{ fireId: string; expiresAt: number }> = [];
  private finishedHead = 0;

  constructor(options: { clock?: Clock } = {}) {
    this.clock = options.clock ?? new SystemClock();
    this.epoch = Math.floor(this.clock.now() / 1000);
  }

  /** Throws `StoreUnavailableError` while the store is marked down; (re)initialises the epoch's floor on first use. */
  check(api: string): void {
    if (!this.available) throw new StoreUnavailableError(api, 'the memory store is unavailable (fault injected)');
    if (!this.initialised) {
      this.initialised = true;
      this.floor = this.clock.now();
    }
  }

  /** Restores a floor saved by the file store: its data was kept, so the first use does not set a new one. */
  protected restoreFloor(floor: number): void {
    this.floor = floor;
    this.initialised = true;
  }

  setAvailable(available: boolean): void {
    this.available = available;
  }

  get isAvailable(): boolean {
    return this.available;
  }

  /** Moves marks (a claim batch, a reseed): one durable change for the file store. */
  setMarks(entries: ReadonlyArray<readonly [string, number]>): void {
    if (entries.length === 0) return;
    for (const [job, instant] of entries) this.marks.set(job, instant);
    this.persist({ kind: 'marks', entries });
  }

  putCatchup(list: CatchupList): void {
    this.catchups.set(list.jobName, list);
    this.persist({ kind: 'catchup', list });
  }

  removeCatchup(jobName: string): void {
    if (this.catchups.delete(jobName)) this.persist({ kind: 'catchup-removed', jobName });
  }

  /** Takes one instant off a job's catch-up list (the list goes when empty). */
  removeCatchupInstant(jobName: string, instant: number): void {
    const list = this.catchups.get(jobName);
    if (!list) return;
    const instants = list.instants.filter((t) => t !== instant);
    if (instants.length === list.instants.length) return;
    if (instants.length === 0) this.removeCatchup(jobName);
    else this.putCatchup({ ...list, instants });
  }

  /**
   * Makes a change durable before the call that made it returns. The memory
   * store keeps nothing; the file store (`dataDir`) appends it to its journal.
   */
  protected persist(change: StoreChange): void {
    void change;
  }

  /** Forgets everything and starts a new epoch, like a Redis restarted without persistence. */
  flush(): void {
    this.marks.clear();
    this.fires.clear();
    this.leases.clear();
    this.runs.clear();
    this.catchups.clear();
    this.finished.length = 0;
    this.finishedHead = 0;
    this.epoch = Math.max(this.epoch + 1, Math.floor(this.clock.now() / 1000));
    this.counter = 0;
    this.initialised = false;
    this.persist({ kind: 'flush', epoch: this.epoch });
  }

  /** `epoch × 2^20 + counter`: monotonic while the epoch lasts, and across flushes. */
  nextFencingToken(): number {
    this.counter += 1;
    if (this.counter >= 2 ** 20) {
      this.epoch += 1;
      this.counter = 1;
      this.persist({ kind: 'epoch', epoch: this.epoch });
    }
    return this.epoch * 2 ** 20 + this.counter;
  }

  nextToken(nodeId: string): string {
    return `${nodeId}:${this.epoch}:${++this.counter}`;
  }

  /** Notes a fire record that became `done`, so it can be purged after its retention. */
  noteFinished(fireId: string, expiresAt: number): void {
    this.finished.push({ fireId, expiresAt });
  }

  /**
   * Drops finished fire records past their retention (oldest first, from the
   * finish-order queue) and expired runs and leases, at most once a second.
   */
  purgeExpired(): void {
    const now = this.clock.now();
    if (now - this.lastPurge < 1000) return;
    this.lastPurge = now;
    const queue = this.finished;
    while (this.finishedHead < queue.length && (queue[this.finishedHead] as { expiresAt: number }).expiresAt <= now) {
      const { fireId } = queue[this.finishedHead] as { fireId: string };
      const rec = this.fires.get(fireId);
      if (rec && rec.state === 'done' && rec.expiresAt <= now) this.fires.delete(fireId);
      this.finishedHead += 1;
    }
    if (this.finishedHead > 1024 && this.finishedHead * 2 > queue.length) {
      queue.splice(0, this.finishedHead);
      this.finishedHead = 0;
    }
    if (this.runs.size > 0) for (const [id, run] of this.runs) if (run.expiresAt <= now) this.runs.delete(id);
    if (this.leases.size > 0) for (const [key, lease] of this.leases) if (lease.expiresAt <= now) this.leases.delete(key);
  }
}
