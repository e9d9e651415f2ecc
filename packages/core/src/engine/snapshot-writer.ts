import type { ExecutionSnapshot } from '../model.js';
import type { Clock, TimerHandle } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { SnapshotPatch, SnapshotRepository } from '../ports/snapshot-repository.js';

type Op = { kind: 'record'; snapshot: ExecutionSnapshot } | { kind: 'update'; executionId: string; patch: SnapshotPatch };

export interface SnapshotWriterOptions {
  clock: Clock;
  logger: Logger;
  /** Writes held while the store fails; past it the oldest are dropped (counted, logged). @default 10_000 */
  maxBuffered?: number;
  onError: (error: Error) => void;
}

const MAX_RETRY_MS = 30_000;

/**
 * Write-behind for snapshots, so recording never slows or breaks a fire.
 * Writes queue in memory and go to the repository in order right after the
 * current turn of the event loop; an execution that ends before its record
 * was written is written once, finished. While the store fails, writes stay
 * buffered (at most `maxBuffered`; the oldest beyond are dropped with a
 * counted warning) and are retried with backoff. A store in this process's
 * memory (`recordNow` / `updateNow`, the default one) is written through at
 * once while nothing waits in the queue.
 */
export class SnapshotWriter {
  private queue: Op[] = [];
  /** Records queued and not yet handed to the store, by execution id (updates fold into them). */
  private readonly unwritten = new Map<string, ExecutionSnapshot>();
  private scheduled = false;
  private flushing: Promise<void> | undefined;
  private retryTimer: TimerHandle | undefined;
  private failures = 0;
  private droppedCount = 0;
  private readonly maxBuffered: number;
  /** The store takes writes synchronously (`recordNow` / `updateNow`): written through while nothing waits. */
  private readonly synchronous: boolean;

  constructor(
    private readonly repo: SnapshotRepository,
    private readonly options: SnapshotWriterOptions,
  ) {
    this.maxBuffered = options.maxBuffered ?? 10_000;
    this.synchronous = repo.recordNow !== undefined && repo.updateNow !== undefined;
  }

  /** Writes waiting for the store. */
  get buffered(): number {
    return this.queue.length;
  }

  /** Writes dropped because the buffer was full while the store failed. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Queues a new snapshot. The writer owns it from now on. */
  record(snapshot: ExecutionSnapshot): void {
    if (this.writesThrough()) {
      try {
        this.repo.recordNow?.(snapshot);
        return;
      } catch (e) {
        this.throughFailed(e);
      }
    }
    this.queue.push({ kind: 'record', snapshot });
    this.unwritten.set(snapshot.executionId, snapshot);
    this.trim();
    this.schedule();
  }

  update(executionId: string, patch: SnapshotPatch): void {
    const pending = this.unwritten.get(executionId);
    if (pending) {
      Object.assign(pending, patch);
      return;
    }
    if (this.writesThrough()) {
      try {
        this.repo.updateNow?.(executionId, patch);
        return;
      } catch (e) {
        this.throughFailed(e);
      }
    }
    this.queue.push({ kind: 'update', executionId, patch });
    this.trim();
    this.schedule();
  }

  /** Resolves once everything queued before the call was handed to the store (or failed and stays buffered). */
  async drain(): Promise<void> {
    for (let i = 0; i < 100 && (this.queue.length > 0 || this.flushing) && this.failures === 0; i++) await this.flush();
  }

  stop(): void {
    if (this.retryTimer) this.options.clock.clearTimer(this.retryTimer);
    this.retryTimer = undefined;
  }

  /** Whether a write may go to the store at once: it takes writes synchronously and none waits before it. */
  private writesThrough(): boolean {
    return this.synchronous && this.queue.length === 0 && !this.flushing;
  }

  /** A synchronous write threw (a bug of the store): reported, and the write queued like any other. */
  private throughFailed(e: unknown): void {
    this.options.onError(e instanceof Error ? e : new Error(String(e)));
  }

  private schedule(): void {
    if (this.scheduled || this.retryTimer) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush().catch((e: unknown) => this.options.onError(e instanceof Error ? e : new Error(String(e))));
    });
  }

  private flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => (this.queue.length > 0 && this.failures === 0 ? this.flush() : undefined));
    if (this.queue.length === 0) return Promise.resolve();
    const run = this.writeAll().finally(() => {
      this.flushing = undefined;
    });
    this.flushing = run;
    return run;
  }

  private async writeAll(): Promise<void> {
    const ops = this.queue;
    this.queue = [];
    this.unwritten.clear();
    // All handed over at once, in order (the port applies them in call order), so an adapter
    // can send one turn's writes as one batch instead of one round trip each.
    const results = await Promise.allSettled(
      ops.map((op) => (op.kind === 'record' ? this.repo.record(op.snapshot) : this.repo.update(op.executionId, op.patch))),
    );
    const firstFailed = results.findIndex((r) => r.status === 'rejected');
    if (firstFailed >= 0) {
      // Keep that write and the rest, in order, ahead of anything queued since (writes are idempotent:
      // a record replaces, an update patches, so re-sending one that landed is harmless).
      this.queue = ops.slice(firstFailed).concat(this.queue);
      const reason = (results[firstFailed] as PromiseRejectedResult).reason as unknown;
      this.failed(reason instanceof Error ? reason : new Error(String(reason)));
      return;
    }
    if (this.failures > 0) {
      this.options.logger.info('snapshot store reachable again; buffered writes flushed', { dropped: this.droppedCount });
      this.failures = 0;
    }
  }

  private failed(error: Error): void {
    this.failures += 1;
    if (this.failures === 1 || this.failures % 10 === 0) {
      this.options.onError(error);
      this.options.logger.warn('snapshot writes buffered while the store fails', {
        buffered: this.queue.length,
        failures: this.failures,
      });
    }
    this.trim();
    const delay = Math.min(MAX_RETRY_MS, 100 * 2 ** Math.min(this.failures - 1, 10));
    const clock = this.options.clock;
    this.retryTimer = clock.setTimer(clock.now() + delay, () => {
      this.retryTimer = undefined;
      this.failures = Math.max(1, this.failures);
      this.retry().catch((e: unknown) => this.options.onError(e instanceof Error ? e : new Error(String(e))));
    });
  }

  private async retry(): Promise<void> {
    const before = this.failures;
    await this.flush();
    // A successful flush resets `failures`; a failing one armed the next retry.
    if (this.failures === before && !this.retryTimer && this.queue.length > 0) this.schedule();
  }

  /** Bounds the buffer while the store fails (a healthy store drains it every turn). */
  private trim(): void {
    if (this.failures === 0) return;
    const excess = this.queue.length - this.maxBuffered;
    if (excess <= 0) return;
    const dropped = this.queue.splice(0, excess);
    for (const op of dropped) if (op.kind === 'record') this.unwritten.delete(op.snapshot.executionId);
    this.droppedCount += excess;
    this.options.logger.warn('snapshot write buffer full: oldest writes dropped', {
      dropped: excess,
      droppedTotal: this.droppedCount,
    });
  }
}
