import type { Clock, TimerHandle } from '../ports/clock.js';
import type { JobEntry } from './job-entry.js';

interface CatchupQueue {
  entry: JobEntry;
  instants: number[];
  nextAt: number;
}

/**
 * Paces the catch-up of missed instants (`misfirePolicy: 'delayed'`): each
 * job's list runs one instant every `intervalMs`, in order, so a long outage
 * never bursts hundreds of runs at once. One timer serves every list.
 */
export class CatchupPacer {
  private readonly queues = new Map<JobEntry, CatchupQueue>();
  private timer: TimerHandle | undefined;
  private timerAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly run: (entry: JobEntry, instant: number) => void,
  ) {}

  /** Queues `instants` (ascending) of `entry`; the first runs now. */
  add(entry: JobEntry, instants: readonly number[]): void {
    if (instants.length === 0) return;
    const existing = this.queues.get(entry);
    if (existing) {
      const merged = new Set([...existing.instants, ...instants]);
      existing.instants = [...merged].sort((a, b) => a - b);
    } else {
      this.queues.set(entry, { entry, instants: [...instants], nextAt: this.clock.now() });
    }
    this.tick();
  }

  /** Instants still waiting, per job name. */
  pending(): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const q of this.queues.values()) out.set(q.entry.name, [...q.instants]);
    return out;
  }

  forget(entry: JobEntry): void {
    this.queues.delete(entry);
  }

  stop(): void {
    this.queues.clear();
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  private tick(): void {
    const now = this.clock.now();
    let earliest = Number.POSITIVE_INFINITY;
    for (const q of [...this.queues.values()]) {
      if (q.nextAt <= now) {
        const instant = q.instants.shift();
        if (instant !== undefined) this.run(q.entry, instant);
        q.nextAt = now + this.intervalMs;
      }
      if (q.instants.length === 0) this.queues.delete(q.entry);
      else earliest = Math.min(earliest, q.nextAt);
    }
    if (earliest === Number.POSITIVE_INFINITY) return;
    if (this.timer && this.timerAt <= earliest) return;
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timerAt = earliest;
    this.timer = this.clock.setTimer(earliest, () => {
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      this.tick();
    });
  }
}
