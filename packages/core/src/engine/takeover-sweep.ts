import type { Clock, TimerHandle } from '../ports/clock.js';
import type { FireRecord, StateStore } from '../ports/state-store.js';

export interface TakeoverSweepDeps {
  clock: Clock;
  stateStore: StateStore;
  intervalMs: number;
  /** Records listed per sweep (oldest lease first). */
  limit: number;
  /** Runs before each listing (a membership refresh). */
  beforeSweep: () => Promise<void>;
  /** Decides on one lapsed record; called one at a time. */
  onExpired: (record: FireRecord) => Promise<void>;
  onError: (error: Error) => void;
}

/**
 * The takeover sweep (DESIGN.md "Claims"): every `intervalMs` a node lists the
 * per-fire records whose lease lapsed (their owner died, froze or lost the
 * store) and hands each to the scheduler, which claims it by id: a fire that
 * never started runs late on this node; one that had started is abandoned, or
 * run again with `recoverAbandoned`. Sweeps never overlap.
 */
export class TakeoverSweep {
  private timer: TimerHandle | undefined;
  private stopped = true;

  constructor(private readonly deps: TakeoverSweepDeps) {}

  start(): void {
    this.stopped = false;
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.deps.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  /** One sweep now (tests, and a node that just heard another leave). */
  async sweep(): Promise<void> {
    const deps = this.deps;
    await deps.beforeSweep();
    const records = await deps.stateStore.listExpiredFires(deps.clock.now(), deps.limit);
    for (const record of records) {
      if (this.stopped) return;
      try {
        await deps.onExpired(record);
      } catch (error) {
        deps.onError(error instanceof Error ? error : new Error(String(error)));
      }
    }
  }

  private arm(): void {
    if (this.stopped) return;
    this.timer = this.deps.clock.setTimer(this.deps.clock.now() + this.deps.intervalMs, () => {
      this.timer = undefined;
      this.sweep()
        .catch((error: unknown) => this.deps.onError(error instanceof Error ? error : new Error(String(error))))
        .finally(() => this.arm());
    });
  }
}
