import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import { Channels, type PreparedMessage, type PubSub, type Unsubscribe } from '../ports/pubsub.js';

export interface ClaimAnnouncerDeps {
  pubsub: PubSub;
  clock: Clock;
  logger: Logger;
  nodeId: string;
  /** How long what was heard is kept: a sweep later than that claims as before. */
  keepMs: number;
  /**
   * How long after its claim's answer an announcement the claim did not carry goes out: after
   * the instant's starts (on every node: hearing one is work too), before the others' sweep at
   * `T + grace`.
   */
  delayMs: number;
}

/** A fire as the announcer sees it: its job and instant. */
interface InstantFire {
  jobName: string;
  instant: number;
}

/** On the wire: the fires one claim settled, by instant. */
interface ClaimedMessage {
  node: string;
  claimed: Array<[instant: number, jobs: string[]]>;
}

/**
 * Tells the other nodes which fires this node's claims at an instant settled
 * (won here, or already someone's), and remembers what they told, so a node's
 * sweep at `T + grace` leaves those fires out: the sweep exists for fires no
 * one claimed, and every fire it sends costs the store a read. Best effort in
 * both directions: a node that heard nothing (a message lost, late, too big,
 * the transport down) sweeps as it always did, so a fire is only ever left out
 * when a claim of it is known to have been answered.
 *
 * Where the lock manager can, the claim publishes the announcement itself (it
 * is `prepare`d before the call, sent by the claim's script after its writes
 * unless data was lost): no command of its own, so the store wakes once an
 * instant for it fewer. Otherwise it goes out on its own, `delayMs` after.
 */
export class ClaimAnnouncer {
  private readonly heard = new Map<number, Set<string>>();
  private unsubscribe: Unsubscribe | undefined;

  constructor(private readonly deps: ClaimAnnouncerDeps) {}

  async attach(): Promise<void> {
    try {
      this.unsubscribe = await this.deps.pubsub.subscribe(Channels.claimed, (message) => this.hear(message));
    } catch (error) {
      // Without it this node sweeps every fire it does not own, as before: slower, never wrong.
      this.deps.logger.warn('claim announcements unavailable; sweeping every fire', { error });
    }
  }

  async detach(): Promise<void> {
    const off = this.unsubscribe;
    this.unsubscribe = undefined;
    this.heard.clear();
    await off?.();
  }

  /**
   * The announcement of `fires` encoded for the claim to publish itself, or undefined when the
   * transport cannot (no `prepare`, not subscribed, too large): then `announce` after the answer.
   */
  prepare(fires: readonly InstantFire[]): PreparedMessage | undefined {
    const { pubsub } = this.deps;
    if (fires.length === 0 || !this.unsubscribe || !pubsub.prepare) return undefined;
    try {
      return pubsub.prepare(Channels.claimed, this.message(fires));
    } catch (error) {
      this.deps.logger.debug('claim announcement not prepared; sent after the claim', { error });
      return undefined;
    }
  }

  /** Publishes, `delayMs` from now, the fires of an answered claim (won or lost, never lost to data loss). */
  announce(fires: readonly InstantFire[]): void {
    if (fires.length === 0) return;
    const message = this.message(fires);
    const { clock } = this.deps;
    clock.setTimer(clock.now() + this.deps.delayMs, () => {
      if (!this.unsubscribe) return; // detached meanwhile
      this.deps.pubsub
        .publish(Channels.claimed, message)
        .catch((error: unknown) => this.deps.logger.debug('claim announcement not sent', { error }));
    });
  }

  private message(fires: readonly InstantFire[]): ClaimedMessage {
    const byInstant = new Map<number, string[]>();
    for (const f of fires) {
      const jobs = byInstant.get(f.instant);
      if (jobs) jobs.push(f.jobName);
      else byInstant.set(f.instant, [f.jobName]);
    }
    return { node: this.deps.nodeId, claimed: [...byInstant] };
  }

  /** Whether another node announced a claim of this fire answered. */
  claimedElsewhere(fire: InstantFire): boolean {
    return this.heard.get(fire.instant)?.has(fire.jobName) === true;
  }

  private hear(message: unknown): void {
    const m = message as Partial<ClaimedMessage> | null;
    if (!m || typeof m.node !== 'string' || !Array.isArray(m.claimed)) {
      this.deps.logger.warn('malformed claim announcement dropped');
      return;
    }
    if (m.node === this.deps.nodeId) return;
    const oldest = this.deps.clock.now() - this.deps.keepMs;
    for (const entry of m.claimed as unknown[]) {
      if (!Array.isArray(entry) || !Number.isFinite(entry[0]) || !Array.isArray(entry[1])) continue;
      const instant = entry[0] as number;
      if (instant < oldest) continue;
      let jobs = this.heard.get(instant);
      if (!jobs) this.heard.set(instant, (jobs = new Set()));
      for (const job of entry[1] as unknown[]) if (typeof job === 'string') jobs.add(job);
    }
    for (const instant of this.heard.keys()) if (instant < oldest) this.heard.delete(instant);
  }
}
