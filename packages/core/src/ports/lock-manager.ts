import type { FinalStatus } from '../model.js';
import type { PreparedMessage } from './pubsub.js';

/**
 * LockManager port: who runs what, exactly once in the cluster (DESIGN.md).
 *
 * Two claim mechanisms:
 * 1. Cron fires are claimed against a per-job high-water mark: instant `T` of a
 *    job is won only if `T` is later than the job's mark, and winning moves the
 *    mark to `T`. A node that is late, restarted or skewed can never win an
 *    instant again. `claimDue` takes every due fire of an instant at once (one
 *    store round trip per bucket) and writes a per-fire record, owned under a
 *    lease, for each fire it wins.
 * 2. Everything else (DAG dependents, shards, catch-up instants, recovery) is
 *    claimed by id with `claimFire`, which writes the same per-fire record.
 *
 * A record goes `claimed` → `running` (`startFire`) → `done` (`finishFire`,
 * kept for the retention so a late claimer still loses). A cron fire won by
 * `claimDue` needs no such record once done — its job's mark already makes
 * every later claim of the instant lose — so its finish may delete it
 * (`retentionMs: 0`) and Redis keeps only what is in flight. A claim whose lease
 * lapses before it started may be claimed again by anyone: it never ran, so
 * that is no duplicate. A running fire whose lease lapses is abandoned.
 *
 * An adapter may keep the fires one `claimDue` call wins for one instant under
 * one shared lease (Redis does: a claim batch, one write for the lot instead of
 * a record each): renewing any of them renews all that are still in flight, so
 * such a fire lapses when its node stops renewing every fire of its batch —
 * what a node that died or froze does. Each still has its own state, fencing
 * token and record as read by id; one given back or taken over leaves the
 * batch for a lease of its own.
 *
 * Failure: every method rejects with `StoreUnavailableError` when the store
 * cannot be reached; the scheduler then runs nothing it could not claim.
 * Outside the contract: fairness between nodes, and which of several
 * simultaneous claimers wins.
 */
export interface LockManager {
  claimDue(fires: readonly DueFire[], options: ClaimOptions): Promise<ClaimDueResult>;
  claimFire(request: FireClaimRequest, options: ClaimOptions): Promise<ClaimedFire | null>;
  /**
   * `claimed` → `running`, under the lease the record has: the start does not extend it (the
   * scheduler's watchdog renews a fire's lease from its admission on), so it writes only the
   * state. False when the lease was lost (expired and taken, or fenced).
   */
  startFire(lease: FireLease): Promise<boolean>;
  /** Extends the record's lease (a shared one: see above). False when the lease is no longer ours. */
  renewFire(lease: FireLease, options: { leaseTtlMs: number }): Promise<boolean>;
  /**
   * `running` → `done` with the final status; the record is kept `retentionMs`,
   * or deleted at once with 0 (only for a fire its mark guards: a cron fire won
   * by `claimDue`; a takeover claims with `takeover`, so it cannot win it back).
   * False when the record was no longer ours (it was taken over meanwhile).
   */
  finishFire(lease: FireLease, status: FinalStatus, options: { retentionMs: number }): Promise<boolean>;
  /**
   * Gives back a claim that never started (also one won with `startNow`): it
   * is `claimed` again and its lease ends now, so the next sweep of any node
   * (`StateStore.listExpiredFires`) may claim it by id.
   */
  releaseFire(lease: FireLease): Promise<void>;
  /**
   * Optional, for bursts: `startFire` that tells `done` (with `ref`, given back as is)
   * instead of returning a promise, so the thousands of fires a node has in flight hold
   * no promise each. Same semantics, order and answers; `done` is called exactly once,
   * never before the call returned.
   */
  startFireThen?<R>(lease: FireLease, ref: R, done: FireWriteDone<R>): void;
  /** Optional, for bursts: `finishFire` telling `done`, as `startFireThen`. */
  finishFireThen?<R>(
    lease: FireLease,
    status: FinalStatus,
    options: { retentionMs: number },
    ref: R,
    done: FireWriteDone<R>,
  ): void;
  /** A named, token-owned lease (e.g. overlap prevention); `null` when someone else holds it. */
  acquireLease(key: string, options: LeaseOptions): Promise<Lease | null>;
}

/** A fire record's write landed (`changed`: the promise form's answer) or failed (`error`: what it would reject with). */
export type FireWriteDone<R> = (ref: R, changed: boolean, error: unknown) => void;

export interface DueFire {
  jobName: string;
  /** The cron instant claimed, epoch ms. */
  instant: number;
  /**
   * The spec's instant before `instant`, when the job has been scheduled on
   * this spec without interruption since then. A mark earlier than it means
   * instants were missed (a gap); without it no gap is reported.
   */
  prevInstant?: number;
  /**
   * The caller will start this fire at once if it wins it (it has a free
   * slot): the record is written `running`, saving the `startFire` round trip.
   * A node that dies before actually starting it leaves it `abandoned`; a
   * caller that gives it back unstarted calls `releaseFire` as usual.
   */
  startNow?: boolean;
  /**
   * This node claimed the fire before and got no answer (a timeout): the call
   * may still have landed. If it did, the fire is won again, by this node, with
   * the same record (a retried claim is idempotent for its node).
   */
  retry?: boolean;
}

export interface ClaimOptions {
  /** The claiming node. */
  nodeId: string;
  /** How long the per-fire record is ours without renewal. */
  leaseTtlMs: number;
  /**
   * `claimDue` only, optional for an adapter: a message to publish in the same
   * atomic step as the claim, after it is written, when the adapter shares the
   * message's transport and the claim lost no fire to data loss. It saves the
   * store a command of its own; `ClaimDueResult.announced` says whether it
   * went out (if not, the caller publishes it itself).
   * Encoded on demand: an adapter calls it at most once a call, and only when it
   * could carry a message (so a claim that cannot costs no encoding); undefined
   * when there is none after all.
   */
  announce?: () => PreparedMessage | undefined;
}

export interface FireClaimRequest {
  fireId: string;
  jobName: string;
  /**
   * Also take over a record that was `running` when its lease lapsed (its node
   * died mid-run): only for `recoverAbandoned` jobs, as the next attempt.
   */
  recoverAbandoned?: boolean;
  /**
   * A compensation from the job's stored catch-up list: the instant leaves the
   * list in the same atomic step as this claim, whether it wins or not, so a
   * list another node resumes never offers an instant that was claimed.
   */
  catchupInstant?: number;
  /**
   * As `DueFire.startNow`: the caller starts the fire at once if it wins it, so
   * the record is written `running` and the lease comes back `started`.
   */
  startNow?: boolean;
  /**
   * Takes over a record found with a lapsed lease (`StateStore.listExpiredFires`):
   * only an existing record is claimed. If it is gone (its owner finished it
   * meanwhile and the finish deleted it), the claim loses instead of starting
   * the fire afresh.
   */
  takeover?: boolean;
}

/** A fire claimed by id; `started` when it was written `running` (`startNow`): do not call `startFire`. */
export interface ClaimedFire extends FireLease {
  started?: boolean;
}

/** A per-fire record held under a lease. */
export interface FireLease {
  fireId: string;
  jobName: string;
  nodeId: string;
  /** Owner token of this claim; every later call on the record must present it. */
  token: string;
  /**
   * `epoch × 2^20 + counter`: grows with every claim of the same record or
   * lease (a store may keep one counter per bucket of jobs), also across store
   * data loss. A higher token means a later owner.
   */
  fencingToken: number;
}

export interface WonFire extends FireLease {
  instant: number;
  /** Written `running` at the claim (`DueFire.startNow`): do not call `startFire`. */
  started?: boolean;
  /**
   * Present when the mark lagged behind `prevInstant`: the last instant claimed
   * before this one. The instants strictly between it and `instant` were
   * missed, and this winner alone owns their compensation.
   */
  gapAfter?: number;
}

export interface ClaimDueResult {
  won: WonFire[];
  /** Fires another node (or an earlier claim) already took. */
  lost: DueFire[];
  /**
   * Fires no one may run because the store lost its data (a restart without
   * persistence, FLUSHALL) after they were due: they may have run before. The
   * claim moved their marks, so exactly one caller gets each; it records them
   * as misfired and does not compensate them (DESIGN.md "Data loss").
   */
  dataLoss?: DueFire[];
  /** The claim published `ClaimOptions.announce` itself. */
  announced?: boolean;
}

export interface LeaseOptions {
  ttlMs: number;
  nodeId: string;
}

export interface Lease {
  readonly key: string;
  readonly token: string;
  readonly fencingToken: number;
  /** Extends the lease; false when it was lost. */
  renew(ttlMs?: number): Promise<boolean>;
  /** Compare-and-delete: releases only if still ours; false otherwise. */
  release(): Promise<boolean>;
}

/** `fireId` of a cron fire: `jobName@<instant ms>`, the same on every node. */
export function cronFireId(jobName: string, instant: number): string {
  return `${jobName}@${instant}`;
}

/** Fencing tokens: `epoch × 2^20 + counter`, exact as doubles while epoch (seconds) < 2^33. */
export const FENCING_COUNTER_BITS = 20;
export function fencingToken(epochSeconds: number, counter: number): number {
  return epochSeconds * 2 ** FENCING_COUNTER_BITS + (counter % 2 ** FENCING_COUNTER_BITS);
}
