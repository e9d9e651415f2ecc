import { SystemClock, type Clock, type Logger, type TimerHandle } from '@sched/core';
import type { RedisConnection } from './connection.js';

export interface ClusterClockOptions {
  /** The node's own clock (a skewed one in tests). @default the system clock */
  base?: Clock;
  /** How often to re-measure the offset. @default 10_000 */
  syncIntervalMs?: number;
  /** An offset larger than this is logged as a warning. @default 1_000 */
  warnThresholdMs?: number;
  logger?: Logger;
}

interface ShiftedHandle extends TimerHandle {
  inner: TimerHandle | undefined;
}

/**
 * The cluster clock: this node's clock corrected onto Redis `TIME`, so every
 * node fires by one time however far its own clock drifts (DESIGN.md
 * "Cluster clock"). The offset is measured at `sync()` (the scheduler's start)
 * and every `syncIntervalMs`, from the midpoint of the `TIME` round trip;
 * samples with a long round trip are kept only if better than the last.
 *
 * `offsetMs` is the node clock minus the cluster clock, as `NodeInfo`
 * advertises it. Timers are armed on the base clock, shifted by the current
 * correction; the scheduler re-checks `now()` when one wakes, so a correction
 * that changes while a timer is armed costs at most one re-arm.
 */
export class ClusterClock implements Clock {
  readonly base: Clock;
  /** Added to the base clock's time to get the cluster's. */
  private correction = 0;
  private lastRtt = Number.POSITIVE_INFINITY;
  private synced = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly syncIntervalMs: number;
  private readonly warnThresholdMs: number;
  private readonly logger: Logger;

  constructor(
    private readonly connection: RedisConnection,
    options: ClusterClockOptions = {},
  ) {
    this.base = options.base ?? new SystemClock();
    this.syncIntervalMs = options.syncIntervalMs ?? 10_000;
    this.warnThresholdMs = options.warnThresholdMs ?? 1_000;
    this.logger = options.logger ?? connection.logger;
  }

  /** This node's clock minus the cluster's, ms (0 before the first sync). */
  get offsetMs(): number {
    return -this.correction;
  }

  get isSynced(): boolean {
    return this.synced;
  }

  now(): number {
    return this.base.now() + this.correction;
  }

  setTimer(at: number, fn: () => void): TimerHandle {
    const handle: ShiftedHandle = { at, inner: undefined };
    handle.inner = this.base.setTimer(at - this.correction, fn);
    return handle;
  }

  clearTimer(handle: TimerHandle): void {
    const h = handle as ShiftedHandle;
    if (h.inner) this.base.clearTimer(h.inner);
    h.inner = undefined;
  }

  /**
   * Measures the offset from Redis `TIME` (the quickest of `samples` round trips).
   * Rejects with `StoreUnavailableError` when Redis cannot be reached; the
   * previous offset stays in force.
   */
  async sync(samples = 3): Promise<number> {
    let best: { before: number; server: number; after: number } | undefined;
    for (let i = 0; i < samples; i++) {
      const before = this.base.now();
      const server = await this.connection.time();
      const after = this.base.now();
      if (!best || after - before < best.after - best.before) best = { before, server, after };
    }
    const sample = best as { before: number; server: number; after: number };
    return this.observe(sample.before, sample.server, sample.after);
  }

  /**
   * Takes one sample of the offset from any round trip that read Redis `TIME`
   * (`before` and `after` on the base clock, `server` in ms): a heartbeat is
   * one, so the clock needs no round trip of its own. Returns the offset.
   */
  observe(before: number, server: number, after: number): number {
    const rtt = after - before;
    const correction = server - (before + after) / 2;
    // A slow sample (a GC pause, a busy Redis) is noisier than the one it would replace.
    if (Number.isFinite(correction) && (!this.synced || rtt <= Math.max(this.lastRtt * 2, 5))) {
      this.correction = correction;
      this.lastRtt = rtt;
      this.synced = true;
    }
    if (Math.abs(this.correction) > this.warnThresholdMs) {
      this.logger.warn('node clock is far from the cluster clock (Redis TIME); firing by the cluster clock', {
        offsetMs: Math.round(this.offsetMs),
        thresholdMs: this.warnThresholdMs,
      });
    }
    return this.offsetMs;
  }

  /** Re-syncs every `syncIntervalMs` until `stop()`; failures are logged and retried next time. */
  startSync(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.sync().catch((error: unknown) => this.logger.warn('cluster clock sync failed', { error: String(error) }));
    }, this.syncIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
