import type { Clock, TimerHandle } from '../ports/clock.js';
import type { WonFire } from '../ports/lock-manager.js';
import type { PendingFire } from './claim-queue.js';

export interface HeldFire {
  fire: PendingFire;
  claim: WonFire;
  /** Its `startFire`, sent at the instant before the fire is accepted (see FireTask.startRequest). */
  startRequest?: Promise<boolean>;
}

/**
 * Fires claimed ahead of their instant (`claimAheadMs`), held until it: the
 * claim's round trip and the store's work are done before the instant, and at
 * the instant only the start is left. One timer per instant held, whatever
 * the number of fires at it; `onInstant` gets them all together.
 */
export class HeldFires {
  private readonly byInstant = new Map<number, { fires: HeldFire[]; timer: TimerHandle }>();
  private count = 0;

  constructor(
    private readonly clock: Clock,
    /** `now`: the clock's time, checked to be at or past the instant. */
    private readonly onInstant: (fires: HeldFire[], now: number) => void,
  ) {}

  /** Fires held now (claimed, not yet handed on): they count against the node's budget. */
  get size(): number {
    return this.count;
  }

  hold(fires: HeldFire[]): void {
    for (const held of fires) {
      const instant = held.claim.instant;
      let slot = this.byInstant.get(instant);
      if (!slot) {
        const timer = this.clock.setTimer(instant, () => this.release(instant));
        slot = { fires: [], timer };
        this.byInstant.set(instant, slot);
      }
      slot.fires.push(held);
      this.count += 1;
    }
  }

  /** Everything held, timers cleared (at stop: the claims are given back). */
  drain(): HeldFire[] {
    const all: HeldFire[] = [];
    for (const slot of this.byInstant.values()) {
      this.clock.clearTimer(slot.timer);
      for (const held of slot.fires) all.push(held);
    }
    this.byInstant.clear();
    this.count = 0;
    return all;
  }

  private release(instant: number): void {
    const slot = this.byInstant.get(instant);
    if (!slot) return;
    // A cluster clock arms timers on the node's own clock: a correction that moved back while
    // this one was armed wakes it a little early. The fires wait for their instant by this clock.
    const now = this.clock.now();
    if (now < instant) {
      slot.timer = this.clock.setTimer(instant, () => this.release(instant));
      return;
    }
    this.byInstant.delete(instant);
    this.count -= slot.fires.length;
    this.onInstant(slot.fires, now);
  }
}
