import type { Clock, TimerHandle } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';

/**
 * What renews a kind of lease and hears of one lost, for every key it is given: one
 * holder serves every fire (a burst of thousands keeps no closures a fire).
 */
export interface LeaseHolder<K extends object> {
  renew(key: K): Promise<boolean>;
  lost(key: K): void;
}

/**
 * The watchdog: one timer renews every lease this node holds, every
 * `renewMs`, together (one batch, not a timer per lease). A lease whose
 * renewal answers false is lost: its owner is told and must stop. A renewal
 * that fails (store down) is retried on the next round.
 */
export class LeaseKeeper {
  private readonly kept = new Map<object, LeaseHolder<object>>();
  private timer: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly renewMs: number,
    private readonly logger: Logger,
    /** Told of each renewal that failed or found its lease lost (a metric). */
    private readonly onLeaseError: (reason: 'renew-failed' | 'lost') => void = () => undefined,
  ) {}

  keep<K extends object>(key: K, holder: LeaseHolder<K>): void {
    this.kept.set(key, holder);
    if (!this.timer) this.arm();
  }

  release(key: object): void {
    this.kept.delete(key);
    if (this.kept.size === 0) this.stop();
  }

  stop(): void {
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  get size(): number {
    return this.kept.size;
  }

  private arm(): void {
    this.timer = this.clock.setTimer(this.clock.now() + this.renewMs, () => {
      this.timer = undefined;
      this.round().catch((error: unknown) => this.logger.error('lease watchdog failed', { error }));
    });
  }

  private async round(): Promise<void> {
    const entries = [...this.kept.entries()];
    await Promise.all(
      entries.map(async ([key, holder]) => {
        try {
          if (!(await holder.renew(key)) && this.kept.get(key) === holder) {
            this.kept.delete(key);
            this.onLeaseError('lost');
            holder.lost(key);
          }
        } catch (error) {
          this.onLeaseError('renew-failed');
          this.logger.warn('lease renewal failed; retrying next round', { error });
        }
      }),
    );
    if (this.kept.size > 0 && !this.timer) this.arm();
  }
}
