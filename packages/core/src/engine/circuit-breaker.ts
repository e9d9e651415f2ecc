/**
 * Per-job circuit breaker (the seed's JobProtector). After `maxFailures`
 * consecutive failed fires it opens: fires are skipped (`circuit-open`) until
 * `resetTimeoutMs` has passed; then one trial fire runs (half-open) and
 * decides: success closes the breaker, failure opens it again. A fire's
 * outcome is its last attempt's; cancelled fires count neither way.
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

export class CircuitBreaker {
  state: BreakerState = 'closed';
  consecutiveFailures = 0;
  openUntil = 0;

  constructor(
    private readonly maxFailures: number,
    private readonly resetTimeoutMs: number,
  ) {}

  /** Whether a fire may run now; moves an expired open breaker to half-open (this fire is the trial). */
  admit(now: number): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open' && now >= this.openUntil) {
      this.state = 'half-open';
      return true;
    }
    return false;
  }

  onSuccess(): void {
    this.state = 'closed';
    this.consecutiveFailures = 0;
  }

  onFailure(now: number): void {
    this.consecutiveFailures += 1;
    if (this.state === 'half-open' || this.consecutiveFailures >= this.maxFailures) {
      this.state = 'open';
      this.openUntil = now + this.resetTimeoutMs;
    }
  }

  /** A trial that ended without a verdict (cancelled) lets the next fire try again. */
  onNoVerdict(): void {
    if (this.state === 'half-open') {
      this.state = 'open';
      this.openUntil = 0;
    }
  }
}
