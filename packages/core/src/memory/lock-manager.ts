import type { FinalStatus } from '../model.js';
import type {
  ClaimDueResult,
  ClaimOptions,
  DueFire,
  FireClaimRequest,
  ClaimedFire,
  FireLease,
  Lease,
  LeaseOptions,
  LockManager,
  WonFire,
} from '../ports/lock-manager.js';
import { cronFireId } from '../ports/lock-manager.js';
import type { MemoryStore } from './store.js';

/** LockManager on a `MemoryStore`: the same semantics as the Redis scripts, in one process. */
export class MemoryLockManager implements LockManager {
  constructor(private readonly store: MemoryStore) {}

  async claimDue(fires: readonly DueFire[], options: ClaimOptions): Promise<ClaimDueResult> {
    const store = this.store;
    store.check('claimDue');
    store.purgeExpired();
    const now = store.clock.now();
    const won: WonFire[] = [];
    const lost: DueFire[] = [];
    const dataLoss: DueFire[] = [];
    // Marks this batch moved (a job may come twice): applied, and made durable, once at the end.
    const moved = new Map<string, number>();
    for (const fire of fires) {
      const mark = moved.get(fire.jobName) ?? store.marks.get(fire.jobName);
      if (mark !== undefined && fire.instant <= mark) {
        const mine = fire.retry === true ? this.ownEarlierClaim(fire, options.nodeId) : undefined;
        if (mine) won.push(mine);
        else lost.push(fire);
        continue;
      }
      if (mark === undefined && fire.instant <= store.floor) {
        moved.set(fire.jobName, fire.instant);
        dataLoss.push(fire);
        continue;
      }
      moved.set(fire.jobName, fire.instant);
      const fireId = cronFireId(fire.jobName, fire.instant);
      const lease: WonFire = {
        fireId,
        jobName: fire.jobName,
        nodeId: options.nodeId,
        token: store.nextToken(options.nodeId),
        fencingToken: store.nextFencingToken(),
        instant: fire.instant,
      };
      if (mark !== undefined && fire.prevInstant !== undefined && mark < fire.prevInstant) lease.gapAfter = mark;
      if (fire.startNow === true) lease.started = true;
      store.fires.set(fireId, {
        fireId,
        jobName: fire.jobName,
        state: fire.startNow === true ? 'running' : 'claimed',
        nodeId: options.nodeId,
        token: lease.token,
        fencingToken: lease.fencingToken,
        expiresAt: now + options.leaseTtlMs,
      });
      won.push(lease);
    }
    // Durable before anyone acts on the claim (the file store appends the batch to its journal).
    store.setMarks([...moved]);
    return dataLoss.length > 0 ? { won, lost, dataLoss } : { won, lost };
  }

  async claimFire(request: FireClaimRequest, options: ClaimOptions): Promise<ClaimedFire | null> {
    const store = this.store;
    store.check('claimFire');
    const now = store.clock.now();
    if (request.catchupInstant !== undefined) store.removeCatchupInstant(request.jobName, request.catchupInstant);
    const existing = store.fires.get(request.fireId);
    if (existing) {
      const expired = existing.expiresAt <= now;
      const takeable =
        expired && (existing.state === 'claimed' || (existing.state === 'running' && request.recoverAbandoned === true));
      if (!takeable) return null;
    } else if (request.takeover === true) {
      return null; // finished and deleted since it was listed
    }
    const lease: ClaimedFire = {
      fireId: request.fireId,
      jobName: request.jobName,
      nodeId: options.nodeId,
      token: store.nextToken(options.nodeId),
      fencingToken: store.nextFencingToken(),
      ...(request.startNow === true ? { started: true } : {}),
    };
    store.fires.set(request.fireId, {
      fireId: request.fireId,
      jobName: request.jobName,
      state: request.startNow === true ? 'running' : 'claimed',
      nodeId: options.nodeId,
      token: lease.token,
      fencingToken: lease.fencingToken,
      expiresAt: now + options.leaseTtlMs,
    });
    return lease;
  }

  async startFire(lease: FireLease): Promise<boolean> {
    const rec = this.owned(lease, 'startFire');
    if (!rec || rec.state !== 'claimed') return false;
    rec.state = 'running';
    return true;
  }

  async renewFire(lease: FireLease, options: { leaseTtlMs: number }): Promise<boolean> {
    const rec = this.owned(lease, 'renewFire');
    if (!rec || rec.state === 'done') return false;
    rec.expiresAt = this.store.clock.now() + options.leaseTtlMs;
    return true;
  }

  async finishFire(lease: FireLease, status: FinalStatus, options: { retentionMs: number }): Promise<boolean> {
    const store = this.store;
    store.check('finishFire');
    const rec = store.fires.get(lease.fireId);
    // A finish is accepted while the record is still ours, even just past its lease.
    if (!rec || rec.token !== lease.token || rec.state === 'done') return false;
    if (options.retentionMs <= 0) {
      store.fires.delete(rec.fireId);
      return true;
    }
    rec.state = 'done';
    rec.status = status;
    rec.expiresAt = store.clock.now() + options.retentionMs;
    store.noteFinished(rec.fireId, rec.expiresAt);
    return true;
  }

  async releaseFire(lease: FireLease): Promise<void> {
    const rec = this.owned(lease, 'releaseFire');
    if (rec && rec.state !== 'done') {
      rec.state = 'claimed';
      rec.expiresAt = this.store.clock.now();
    }
  }

  async acquireLease(key: string, options: LeaseOptions): Promise<Lease | null> {
    const store = this.store;
    store.check('acquireLease');
    const now = store.clock.now();
    const held = store.leases.get(key);
    if (held && held.expiresAt > now) return null;
    const entry = {
      token: store.nextToken(options.nodeId),
      fencingToken: store.nextFencingToken(),
      expiresAt: now + options.ttlMs,
      nodeId: options.nodeId,
    };
    store.leases.set(key, entry);
    const mine = (): boolean => {
      const cur = store.leases.get(key);
      return cur !== undefined && cur.token === entry.token && cur.expiresAt > store.clock.now();
    };
    return {
      key,
      token: entry.token,
      fencingToken: entry.fencingToken,
      renew: async (ttlMs = options.ttlMs) => {
        store.check('renewLease');
        if (!mine()) return false;
        entry.expiresAt = store.clock.now() + ttlMs;
        return true;
      },
      release: async () => {
        store.check('releaseLease');
        if (!mine()) return false;
        store.leases.delete(key);
        return true;
      },
    };
  }

  /** A retried claim whose earlier call did land: the same record, still this node's. */
  private ownEarlierClaim(fire: DueFire, nodeId: string): WonFire | undefined {
    const fireId = cronFireId(fire.jobName, fire.instant);
    const rec = this.store.fires.get(fireId);
    if (!rec || rec.nodeId !== nodeId || rec.state === 'done' || rec.expiresAt <= this.store.clock.now()) return undefined;
    const again: WonFire = {
      fireId,
      jobName: fire.jobName,
      nodeId,
      token: rec.token,
      fencingToken: rec.fencingToken,
      instant: fire.instant,
    };
    if (rec.state === 'running') again.started = true;
    return again;
  }

  /** The live record if `lease` still owns it (expired leases are lost, as keys with a TTL are in Redis). */
  private owned(lease: FireLease, api: string) {
    const store = this.store;
    store.check(api);
    const rec = store.fires.get(lease.fireId);
    if (!rec || rec.token !== lease.token) return undefined;
    if (rec.state !== 'done' && rec.expiresAt <= store.clock.now()) return undefined;
    return rec;
  }
}
