import type { Clock, TimerHandle } from '../ports/clock.js';
import type { DueFire, LockManager, WonFire } from '../ports/lock-manager.js';
import type { Logger } from '../ports/logger.js';
import type { PreparedMessage } from '../ports/pubsub.js';
import type { JobEntry } from './job-entry.js';

/** A due cron fire not yet claimed. */
export interface PendingFire extends DueFire {
  entry: JobEntry;
  priority: number;
  /**
   * Not claimed before this time: a node that is not the job's preferred owner
   * sweeps at `instant + grace`, for what the owner left unclaimed.
   */
  notBefore?: number;
}

export interface ClaimQueueDeps {
  clock: Clock;
  logger: Logger;
  lockManager: LockManager;
  nodeId: string;
  leaseTtlMs: number;
  /** Retry interval for fires left unclaimed (the sweep). */
  graceMs: number;
  /** A fire still unclaimed this long after its instant is given up (`onExpired`). */
  thresholdMs: number;
  /** How many more fires this node may take now (free slots + queue room). */
  budget: () => number;
  /** Free slots now: that many of the fires claimed are started at once (written `running` by the claim). */
  freeSlots: () => number;
  onWon: (won: Array<{ fire: PendingFire; claim: WonFire }>, now: number) => void;
  onExpired: (fires: PendingFire[], reason: 'saturated' | 'store-unavailable', now: number) => void;
  /** Fires the store refused because it lost its data after they were due (see `ClaimDueResult.dataLoss`). */
  onDataLoss: (fires: PendingFire[], now: number) => void;
  onError: (error: Error) => void;
  /**
   * The owner's fires of a claim about to be sent, as an announcement the claim may publish
   * itself (`ClaimOptions.announce`); undefined when there is none to give.
   */
  prepareAnnouncement?: (fires: PendingFire[]) => PreparedMessage | undefined;
  /**
   * The owner's fires of an answered claim, won or lost (not those lost to data loss), that the
   * claim did not announce itself: announced to the others.
   */
  onClaimed?: (fires: PendingFire[]) => void;
  /** Whether another node announced this fire claimed: the sweep leaves it out. */
  claimedElsewhere?: (fire: PendingFire) => boolean;
}

const MAX_BACKOFF_MS = 5_000;
/** Fires per claimDue call: an instant with more goes out as several calls at once. */
export const CLAIM_CHUNK = 1_000;

/**
 * Due fires wait here until this node claims them. A flush claims as many as
 * the node has room for (higher priority first, then earlier instants) in
 * one `claimDue` call per `CLAIM_CHUNK` fires, sent together (answered in
 * order); what is left is retried every grace until claimed or past the
 * misfire threshold. A store that cannot be reached is retried with
 * backoff; nothing runs without its claim. Flushes never overlap, so the
 * instants of one job are always claimed in order.
 */
export class ClaimQueue {
  private pending: PendingFire[] = [];
  /** Fires waiting for their `notBefore` (the non-owner sweep), in arrival order. */
  private deferred: PendingFire[] = [];
  private timer: TimerHandle | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private flushing = false;
  private again = false;
  private failures = 0;
  private stopped = false;

  constructor(private readonly deps: ClaimQueueDeps) {}

  get size(): number {
    return this.pending.length + this.deferred.length;
  }

  add(fires: PendingFire[]): void {
    if (this.stopped || fires.length === 0) return;
    const now = this.deps.clock.now();
    let ready = false;
    for (const f of fires) {
      if (f.notBefore !== undefined && f.notBefore > now) this.deferred.push(f);
      else if (f.notBefore !== undefined && this.sweptElsewhere(f)) continue;
      else {
        this.pending.push(f);
        ready = true;
      }
    }
    if (ready) this.flushInBackground();
    else this.expireAndRearm();
  }

  /** Called when a slot frees: fires waiting for room may now be claimed. */
  poke(): void {
    if (this.pending.length > 0 && this.failures === 0) this.flushInBackground();
  }

  /** A job's new priority, for its fires not claimed yet (they are ordered by it at each flush). */
  reprioritize(entry: JobEntry, priority: number): void {
    for (const f of this.pending) if (f.entry === entry) f.priority = priority;
    for (const f of this.deferred) if (f.entry === entry) f.priority = priority;
  }

  /** Drops every pending fire (nothing was claimed for them) and stops. */
  stop(): PendingFire[] {
    this.stopped = true;
    this.clearTimer();
    const dropped = this.pending.concat(this.deferred);
    this.pending = [];
    this.deferred = [];
    return dropped;
  }

  /** Moves deferred fires whose time came into the pending list. */
  private promoteDeferred(now: number): void {
    if (this.deferred.length === 0) return;
    const keep: PendingFire[] = [];
    for (const f of this.deferred) {
      if ((f.notBefore as number) > now) keep.push(f);
      else if (!this.sweptElsewhere(f)) this.pending.push(f);
    }
    this.deferred = keep;
  }

  /** A fire of the sweep (not this node's at its instant) that its owner announced claimed: nothing to sweep. */
  private sweptElsewhere(fire: PendingFire): boolean {
    return this.deps.claimedElsewhere?.(fire) === true;
  }

  private flushInBackground(): void {
    this.flush().catch((e: unknown) => this.deps.onError(e instanceof Error ? e : new Error(String(e))));
  }

  private async flush(): Promise<void> {
    if (this.flushing) {
      this.again = true;
      return;
    }
    this.flushing = true;
    try {
      do {
        this.again = false;
        await this.flushOnce();
      } while (this.again && !this.stopped && this.failures === 0);
    } finally {
      this.flushing = false;
    }
  }

  private async flushOnce(): Promise<void> {
    const deps = this.deps;
    this.promoteDeferred(deps.clock.now());
    if (this.pending.length === 0) {
      this.expireAndRearm();
      return;
    }
    this.pending.sort(byPriorityThenInstant);
    const budget = deps.budget();
    const take = this.pending.splice(0, budget);
    // Fires due already and as many as the free slots are written running by the claim; a fire claimed
    // ahead of its instant never is (if this node dies before the instant, the others take it over).
    const now = deps.clock.now();
    let startable = deps.freeSlots();
    for (const f of take) f.startNow = f.instant <= now && startable-- > 0;
    // A big flush goes out as several claims at once (pipelined on one connection, answered in order):
    // the first chunk's fires start while the store still works on the next.
    const chunks: PendingFire[][] = [];
    for (let i = 0; i < take.length; i += CLAIM_CHUNK) chunks.push(take.slice(i, i + CLAIM_CHUNK));
    const answered = await Promise.all(chunks.map((chunk) => this.claimChunk(chunk)));
    if (answered.every(Boolean)) this.failures = 0;
    else this.failures += 1;
    this.expireAndRearm();
  }

  /** Claims one chunk and hands on what it won; false when the store did not answer (the chunk goes back). */
  private async claimChunk(take: PendingFire[]): Promise<boolean> {
    const deps = this.deps;
    // The owner's fires (not the sweep's): what an answered claim settled, told to the others.
    const settled = take.filter((f) => f.notBefore === undefined);
    // Encoded only if the store asks (it can carry it): otherwise `announce` below is the one encoding.
    const canAnnounce = settled.length > 0 && deps.prepareAnnouncement !== undefined;
    try {
      const { won, dataLoss, announced } = await deps.lockManager.claimDue(take, {
        nodeId: deps.nodeId,
        leaseTtlMs: deps.leaseTtlMs,
        ...(canAnnounce ? { announce: () => this.prepareAnnouncement(settled) } : {}),
      });
      if (dataLoss && dataLoss.length > 0 && !this.stopped) {
        const lostToData = new Set(dataLoss.map((f) => `${f.jobName}\u0000${f.instant}`));
        const fires = take.filter((f) => lostToData.has(`${f.jobName}\u0000${f.instant}`));
        this.safely(() => deps.onDataLoss(fires, deps.clock.now()));
      }
      if (announced !== true) this.announce(settled, dataLoss);
      if (won.length > 0 && !this.stopped) {
        const pairs = pairWon(take, won);
        this.safely(() => deps.onWon(pairs, deps.clock.now()));
      }
      return true;
    } catch (error) {
      // The call may have landed without an answer (a timeout): the retry asks for those fires back.
      for (const f of take) f.retry = true;
      this.pending = take.concat(this.pending);
      deps.onError(error as Error);
      return false;
    }
  }

  /** The announcement the claim of `settled` may carry (see ClaimAnnouncer); a bug in it only costs the carrying. */
  private prepareAnnouncement(settled: PendingFire[]): PreparedMessage | undefined {
    const prepare = this.deps.prepareAnnouncement;
    if (!prepare || this.stopped) return undefined;
    try {
      return prepare(settled);
    } catch (e) {
      this.deps.onError(e instanceof Error ? e : new Error(String(e)));
      return undefined;
    }
  }

  /** Tells the others which of the owner's fires this answered claim settled, when it did not itself (see ClaimAnnouncer). */
  private announce(settled: PendingFire[], dataLoss: readonly DueFire[] | undefined): void {
    const onClaimed = this.deps.onClaimed;
    if (!onClaimed || this.stopped || settled.length === 0) return;
    // After a data loss the marks were reseeded: nothing is announced, everyone sweeps as before.
    if (dataLoss && dataLoss.length > 0) return;
    this.safely(() => onClaimed(settled));
  }

  private expireAndRearm(): void {
    if (this.stopped) return;
    const now = this.deps.clock.now();
    const expired: PendingFire[] = [];
    this.pending = this.pending.filter((f) => {
      if (now - f.instant <= this.deps.thresholdMs) return true;
      expired.push(f);
      return false;
    });
    if (expired.length > 0) {
      const reason = this.failures > 0 ? 'store-unavailable' : 'saturated';
      this.safely(() => this.deps.onExpired(expired, reason, now));
    }
    if (this.pending.length === 0 && this.deferred.length === 0) {
      this.clearTimer();
      return;
    }
    const delay = this.failures > 0 ? Math.min(MAX_BACKOFF_MS, this.deps.graceMs * 2 ** (this.failures - 1)) : this.deps.graceMs;
    let at = this.pending.length > 0 ? now + delay : Number.POSITIVE_INFINITY;
    if (this.failures === 0) for (const f of this.deferred) at = Math.min(at, f.notBefore as number);
    else if (this.deferred.length > 0) at = Math.min(at, now + delay);
    if (this.timer && this.timerAt <= at) return;
    this.clearTimer();
    this.timerAt = at;
    this.timer = this.deps.clock.setTimer(at, () => {
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      this.flushInBackground();
    });
  }

  /** Runs a callback of the scheduler; a bug in it is reported, and claims go on. */
  private safely(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.deps.onError(e instanceof Error ? e : new Error(String(e)));
    }
  }

  private clearTimer(): void {
    if (this.timer) this.deps.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }
}

/** Each fire won with the pending fire it answers. */
function pairWon(take: PendingFire[], won: WonFire[]): Array<{ fire: PendingFire; claim: WonFire }> {
  // Usually one instant a job: found by the job name itself (no key string built a fire).
  const byJob = new Map<string, PendingFire>();
  for (const f of take) {
    const size = byJob.size;
    byJob.set(f.jobName, f);
    if (byJob.size === size) return pairWonByInstant(take, won);
  }
  return won.map((claim) => ({ fire: byJob.get(claim.jobName) as PendingFire, claim }));
}

/** A job with several instants in one claim (a catch-up after a pause of the timer): by job and instant. */
function pairWonByInstant(take: PendingFire[], won: WonFire[]): Array<{ fire: PendingFire; claim: WonFire }> {
  const byKey = new Map<string, PendingFire>();
  for (const f of take) byKey.set(`${f.jobName}\u0000${f.instant}`, f);
  return won.map((claim) => ({ fire: byKey.get(`${claim.jobName}\u0000${claim.instant}`) as PendingFire, claim }));
}

function byPriorityThenInstant(a: PendingFire, b: PendingFire): number {
  return b.priority - a.priority || a.instant - b.instant;
}
