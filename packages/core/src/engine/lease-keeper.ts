import type { Clock, TimerHandle } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';

interface Kept {
  renew: () => Promise<boolean>;
  onLost: () => void;
}

/**
 * The watchdog: one timer renews every lease this node holds, every
 * `renewMs`, together (one batch, not a timer per lease). A lease whose
 * renewal answers false is lost: its owner is told and must stop. A renewal
 * that fails (store down) is retried on the next round.
 */
export class LeaseKeeper {
  private readonly kept = new Map<object, Kept>();
  private timer: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly renewMs: number,
    private readonly logger: Logger,
    /** Told of each renewal that failed or found its lease lost (a metric). */
    private readonly onLeaseError: (reason: 'renew-failed' | 'lost') => void = () => undefined,
  ) {}

  keep(key: object, renew: () => Promise<boolean>, onLost: () => void): void {
    this.kept.set(key, { renew, onLost });
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
      entries.map(async ([key, kept]) => {
        try {
          if (!(await kept.renew()) && this.kept.get(key) === kept) {
            this.kept.delete(key);
            this.onLeaseError('lost');
            kept.onLost();
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
