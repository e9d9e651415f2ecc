/**
 * Clock port: the only source of time in sched. Logic never reads `Date.now()`
 * itself, so a FakeClock can drive a week of schedules in milliseconds and a
 * cluster clock can shift every node onto the store's time.
 *
 * Contract:
 * - `now()` is epoch milliseconds. It may jump (NTP, a cluster offset update),
 *   forwards or backwards; callers must not assume monotonicity.
 * - `setTimer(at, fn)` calls `fn` once, at or after `at` by this clock, as far as
 *   the clock can tell. Implementations on real timers may wake early or late:
 *   the scheduler re-checks `now()` when it wakes and re-arms if early.
 * - `clearTimer` on a fired or cleared handle is a no-op.
 * Outside the contract: precision below 1 ms, and ordering of timers due at
 * the same instant (the scheduler orders its own work).
 */
export interface Clock {
  now(): number;
  setTimer(at: number, fn: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/** Opaque handle for a timer armed through a `Clock`. */
export interface TimerHandle {
  readonly at: number;
}

interface SystemTimerHandle extends TimerHandle {
  timeout: ReturnType<typeof setTimeout> | undefined;
}

/** Node's longest setTimeout delay; longer ones fire at once. */
const MAX_TIMEOUT_MS = 2_147_483_647;

/**
 * The process clock, optionally shifted by `offsetMs` (a cluster clock sets the
 * offset from the store's time). Timers are armed on `setTimeout` and re-armed
 * when they wake early (Node's loop clock truncates to ms) or when the wanted
 * instant lies beyond setTimeout's range.
 */
export class SystemClock implements Clock {
  /** Added to `Date.now()`; a cluster clock adjusts it. */
  offsetMs = 0;
  /** Whether armed timers keep the process alive (a scheduler should). */
  private readonly ref: boolean;

  constructor(options: { offsetMs?: number; ref?: boolean } = {}) {
    this.offsetMs = options.offsetMs ?? 0;
    this.ref = options.ref ?? true;
  }

  now(): number {
    return Date.now() + this.offsetMs;
  }

  setTimer(at: number, fn: () => void): TimerHandle {
    const handle: SystemTimerHandle = { at, timeout: undefined };
    const arm = (): void => {
      const delay = at - this.now();
      if (delay <= 0) {
        handle.timeout = undefined;
        fn();
        return;
      }
      handle.timeout = setTimeout(arm, Math.min(delay, MAX_TIMEOUT_MS));
      if (!this.ref) handle.timeout.unref();
    };
    const delay = at - this.now();
    handle.timeout = setTimeout(arm, Math.max(0, Math.min(delay, MAX_TIMEOUT_MS)));
    if (!this.ref) handle.timeout.unref();
    return handle;
  }

  clearTimer(handle: TimerHandle): void {
    const h = handle as SystemTimerHandle;
    if (h.timeout !== undefined) clearTimeout(h.timeout);
    h.timeout = undefined;
  }
}
