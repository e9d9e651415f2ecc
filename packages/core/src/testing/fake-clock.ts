import type { Clock, TimerHandle } from '../ports/clock.js';
import { IndexedHeap } from '../internal/heap.js';
import { sleepOn } from './sleep.js';

interface FakeTimer extends TimerHandle {
  at: number;
  seq: number;
  fn: () => void;
  heapIndex: number;
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A clock for tests: time moves only when told. Timers fire in time order
 * (then in the order they were set) as `advance` passes them, and after each
 * one the async work it started is allowed to run, so a week of schedules
 * runs in milliseconds and in a repeatable order.
 *
 * ```ts
 * const clock = new FakeClock('2025-01-01T00:00:00Z');
 * const sched = new Scheduler({ clock, logger: silentLogger });
 * await clock.advance(60_000);
 * ```
 */
export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly timers = new IndexedHeap<FakeTimer>((a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq));

  constructor(start: Date | number | string = Date.UTC(2025, 0, 1)) {
    this.t = typeof start === 'number' ? start : new Date(start).getTime();
    if (!Number.isFinite(this.t)) throw new TypeError(`FakeClock: invalid start ${String(start)}`);
  }

  now(): number {
    return this.t;
  }

  setTimer(at: number, fn: () => void): TimerHandle {
    const timer: FakeTimer = { at, seq: ++this.seq, fn, heapIndex: -1 };
    this.timers.push(timer);
    return timer;
  }

  clearTimer(handle: TimerHandle): void {
    this.timers.remove(handle as FakeTimer);
  }

  /** Timers waiting to fire. */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /** When the next timer fires, if any. */
  nextTimerAt(): number | undefined {
    return this.timers.peek()?.at;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`FakeClock.advance: ms must be >= 0, got ${ms}`);
    await this.advanceTo(this.t + ms);
  }

  /** Moves time forward to `at` (no-op if it is in the past), firing due timers. */
  async advanceTo(at: Date | number): Promise<void> {
    const target = typeof at === 'number' ? at : at.getTime();
    await settle();
    for (let next = this.timers.peek(); next !== undefined && next.at <= target; next = this.timers.peek()) {
      this.timers.pop();
      if (next.at > this.t) this.t = next.at;
      next.fn();
      await settle();
      await settle();
    }
    if (target > this.t) this.t = target;
    await settle();
  }

  /** Fires whatever is due now (after `setTime` jumped forward, say) and lets async work run. */
  async tick(): Promise<void> {
    await this.advance(0);
  }

  /**
   * Jumps the clock to `at` without firing timers on the way (a wall-clock
   * jump, forwards or backwards). Timers keep their instants: after a forward
   * jump the overdue ones fire on the next `tick()` or `advance()`.
   */
  setTime(at: Date | number): void {
    this.t = typeof at === 'number' ? at : at.getTime();
  }

  /** Advances timer by timer until none is left, or `maxMs` of fake time passed (then throws). */
  async runAll(maxMs = 365 * 86_400_000): Promise<void> {
    const limit = this.t + maxMs;
    for (let next = this.timers.peek(); next !== undefined; next = this.timers.peek()) {
      if (next.at > limit) throw new Error(`FakeClock.runAll: timers still pending after ${maxMs} ms of fake time`);
      await this.advanceTo(next.at);
    }
  }

  /** A promise that resolves after `ms` of fake time (rejects with the reason if `signal` aborts first). */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }
}
