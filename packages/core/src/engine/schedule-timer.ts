import { IndexedHeap, type HeapItem } from '../internal/heap.js';
import type { Clock, TimerHandle } from '../ports/clock.js';

/** An entry with the next instant it is due at (`NaN` when it has none). */
export interface Scheduled extends HeapItem {
  next: number;
  /**
   * Wake this long after `next` (the instant stays `next`): a node that is not
   * a job's preferred owner handles it at `T + grace`, off the instant's rush;
   * negative, before it (the owner claiming ahead, `claimAheadMs`).
   */
  wakeDelay: number;
  /** Breaks ties between entries due at the same instant (lower first). */
  seq: number;
}

const wakeAt = (e: Scheduled): number => e.next + e.wakeDelay;

/**
 * One timer for the nearest due instant over a heap of every scheduled job —
 * never a timer per job, never a chained interval. The timer is capped at
 * `maxSleepMs` and re-checks the time when it wakes: a wake-up that comes
 * early (Node may fire a timer up to 1 ms early) or after a clock jump simply
 * re-arms. Due entries are handed to `onDue` together, with the time of the
 * wake; `onDue` must set each entry's `next` and call `schedule` again.
 */
export class ScheduleTimer<T extends Scheduled> {
  private readonly heap = new IndexedHeap<T>((a, b) => wakeAt(a) < wakeAt(b) || (wakeAt(a) === wakeAt(b) && a.seq < b.seq));
  private timer: TimerHandle | undefined;
  private armedAt = Number.POSITIVE_INFINITY;
  private running = false;

  constructor(
    private readonly clock: Clock,
    private readonly maxSleepMs: number,
    private readonly onDue: (due: T[], now: number) => void,
  ) {}

  get size(): number {
    return this.heap.size;
  }

  /** When the timer wakes next for a due instant, if any. */
  peekNext(): number | undefined {
    const top = this.heap.peek();
    return top === undefined ? undefined : wakeAt(top);
  }

  /** (Re)places `entry` by its `next`; `NaN` removes it. */
  schedule(entry: T): void {
    if (Number.isNaN(entry.next)) {
      this.unschedule(entry);
      return;
    }
    this.heap.update(entry);
    if (this.running && wakeAt(entry) < this.armedAt) this.arm();
  }

  unschedule(entry: T): void {
    this.heap.remove(entry);
  }

  start(): void {
    this.running = true;
    this.arm();
  }

  stop(): void {
    this.running = false;
    this.disarm();
  }

  private disarm(): void {
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.armedAt = Number.POSITIVE_INFINITY;
  }

  private arm(): void {
    const top = this.heap.peek();
    if (!top) {
      this.disarm();
      return;
    }
    const at = Math.min(wakeAt(top), this.clock.now() + this.maxSleepMs);
    if (this.timer && at === this.armedAt) return;
    this.disarm();
    this.armedAt = at;
    this.timer = this.clock.setTimer(at, () => this.wake());
  }

  private wake(): void {
    this.timer = undefined;
    this.armedAt = Number.POSITIVE_INFINITY;
    if (!this.running) return;
    const now = this.clock.now();
    const due: T[] = [];
    for (let top = this.heap.peek(); top !== undefined && wakeAt(top) <= now; top = this.heap.peek()) {
      this.heap.pop();
      due.push(top);
    }
    if (due.length > 0) this.onDue(due, now);
    if (this.running) this.arm();
  }
}
