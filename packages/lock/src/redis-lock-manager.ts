import type {
  ClaimDueResult,
  ClaimOptions,
  DueFire,
  FinalStatus,
  ClaimedFire,
  FireClaimRequest,
  FireLease,
  FireWriteDone,
  Lease,
  LeaseOptions,
  LockManager,
  PreparedMessage,
  WonFire,
} from '@sched/core';
import { cronFireId } from '@sched/core';
import { connectionOf, type RedisConnection } from '@sched/redis';
import { BucketKeyring, catchupKey, EpochWatermark } from './keys.js';
import { scripts } from './scripts.js';
import { groupBy, keyPerRun } from './group-by.js';
import { UpdateBatcher } from './update-batcher.js';

/**
 * LockManager on Redis (DESIGN.md "Claims, two mechanisms"): cron fires are
 * claimed against per-job high-water marks, every due fire of a bucket in one
 * Lua call, which also writes a per-fire record under the winner's lease;
 * other fires are claimed by id. Fencing tokens are `epoch × 2^20 + counter`
 * per bucket, the epoch being Redis `TIME` (s) when the bucket was
 * (re)initialised, so they grow across data loss too.
 */
export class RedisLockManager implements LockManager {
  readonly connection: RedisConnection;
  private readonly keys: BucketKeyring;
  private readonly epochs: EpochWatermark;
  private readonly batcher: UpdateBatcher;

  constructor(source: RedisConnection | { connection: RedisConnection }) {
    this.connection = connectionOf(source);
    this.keys = new BucketKeyring(this.connection);
    this.epochs = new EpochWatermark(this.connection);
    this.batcher = new UpdateBatcher(this.connection);
  }

  async claimDue(fires: readonly DueFire[], options: ClaimOptions): Promise<ClaimDueResult> {
    const byBucket = groupBy(fires, (fire) => this.connection.bucketOf(fire.jobName));
    const result: ClaimDueResult = { won: [], lost: [] };
    // The script publishes the announcement when it is one call (the message names the fires of
    // all of them) on this client (the same server as the subscribers'); only then is it encoded.
    const prepared = byBucket.size === 1 ? options.announce?.() : undefined;
    const announce = prepared?.transport === this.connection.client ? prepared : undefined;
    // One call per bucket, all sent before any answer is awaited.
    await Promise.all([...byBucket].map(([b, list]) => this.claimBucket(b, list, options, announce, result)));
    return result;
  }

  private async claimBucket(
    bucket: number,
    fires: DueFire[],
    options: ClaimOptions,
    announce: PreparedMessage | undefined,
    result: ClaimDueResult,
  ): Promise<void> {
    const k = this.keys.of(bucket);
    // Fires that share an instant, a previous instant and flags go as one group (usually
    // the whole call): the script reads each group's header once, then one job name a fire.
    const groups = groupBy(fires, claimGroupKey());
    const args: Array<string | number> = [
      options.nodeId,
      options.leaseTtlMs,
      this.epochs.next(),
      announce?.channel ?? '',
      announce?.payload ?? '',
    ];
    const sent: DueFire[] = [];
    for (const group of groups.values()) {
      const first = group[0] as DueFire;
      args.push(first.instant, first.prevInstant ?? '', claimFlags(first), group.length);
      for (const f of group) {
        args.push(f.jobName);
        sent.push(f);
      }
    }
    const [codes, fencings, gaps, announced] = (await this.connection.run(
      'claimDue',
      scripts.claimDue,
      [k.meta, k.marks, k.fires, k.live, k.done, k.batches],
      args,
    )) as [string, number[], number[], number];
    if (announced === 1) result.announced = true;
    const gapAt = new Map<number, number>();
    for (let i = 0; i < gaps.length; i += 2) gapAt.set(Number(gaps[i]) - 1, Number(gaps[i + 1]));
    let nextFencing = 0;
    let lastWon = 0; // a fire coded 1 follows the previous one won by this call (1 or 5): its token is the next
    for (let i = 0; i < sent.length; i++) {
      const fire = sent[i] as DueFire;
      const code = codes.charCodeAt(i) - 48;
      if (code === 1 || code === 5 || code === 3 || code === 4) {
        const fencingToken = code === 1 ? lastWon + 1 : Number(fencings[nextFencing++]);
        if (code === 1 || code === 5) lastWon = fencingToken;
        this.epochs.seen(fencingToken);
        const won: WonFire = {
          fireId: cronFireId(fire.jobName, fire.instant),
          jobName: fire.jobName,
          nodeId: options.nodeId,
          token: `${options.nodeId}:${fencingToken}`,
          fencingToken,
          instant: fire.instant,
        };
        const gapAfter = gapAt.get(i);
        if (gapAfter !== undefined) won.gapAfter = gapAfter;
        // 1 / 5: won now (running if asked); 3 / 4: won by this node's earlier, unanswered call.
        if (((code === 1 || code === 5) && fire.startNow === true) || code === 4) won.started = true;
        result.won.push(won);
      } else if (code === 2) {
        (result.dataLoss ??= []).push(fire);
      } else {
        result.lost.push(fire);
      }
    }
  }

  async claimFire(request: FireClaimRequest, options: ClaimOptions): Promise<ClaimedFire | null> {
    const k = this.keys.forFire(request.fireId);
    const fencing = await this.connection.run(
      'claimFire',
      scripts.claimFire,
      [k.meta, k.fires, k.live, k.done, catchupKey(this.connection, request.jobName), k.batches],
      [
        request.fireId,
        request.jobName,
        options.nodeId,
        options.leaseTtlMs,
        request.recoverAbandoned === true ? '1' : '0',
        this.epochs.next(),
        request.catchupInstant ?? '',
        request.startNow === true ? '1' : '0',
        request.takeover === true ? '1' : '0',
      ],
    );
    if (fencing === null || fencing === undefined) return null;
    const fencingToken = Number(fencing);
    this.epochs.seen(fencingToken);
    return {
      fireId: request.fireId,
      jobName: request.jobName,
      nodeId: options.nodeId,
      token: `${options.nodeId}:${fencingToken}`,
      fencingToken,
      ...(request.startNow === true ? { started: true } : {}),
    };
  }

  startFire(lease: FireLease): Promise<boolean> {
    return this.update('start', lease, 0);
  }

  renewFire(lease: FireLease, options: { leaseTtlMs: number }): Promise<boolean> {
    return this.update('renew', lease, options.leaseTtlMs);
  }

  finishFire(lease: FireLease, status: FinalStatus, options: { retentionMs: number }): Promise<boolean> {
    return this.update('finish', lease, options.retentionMs, status);
  }

  startFireThen<R>(lease: FireLease, ref: R, done: FireWriteDone<R>): void {
    this.batcher.updateThen(this.keys.forJob(lease.jobName), 'start', lease.fireId, lease.token, 0, '', ref, done);
  }

  finishFireThen<R>(
    lease: FireLease,
    status: FinalStatus,
    options: { retentionMs: number },
    ref: R,
    done: FireWriteDone<R>,
  ): void {
    this.batcher.updateThen(
      this.keys.forJob(lease.jobName),
      'finish',
      lease.fireId,
      lease.token,
      options.retentionMs,
      status,
      ref,
      done,
    );
  }

  async releaseFire(lease: FireLease): Promise<void> {
    await this.update('release', lease, 0);
  }

  /** Per-fire record updates go through the batcher: one call per bucket per turn of the event loop. */
  private update(op: string, lease: FireLease, ms: number, status = ''): Promise<boolean> {
    return this.batcher.update(this.keys.forJob(lease.jobName), op, lease.fireId, lease.token, ms, status);
  }

  async acquireLease(key: string, options: LeaseOptions): Promise<Lease | null> {
    const bucket = this.connection.bucketOf(key);
    const meta = this.keys.of(bucket).meta;
    const leaseKey = this.connection.bucketKey(bucket, 'lease', key);
    const run = (api: string, args: Array<string | number>): Promise<unknown> =>
      this.connection.run(api, scripts.lease, [meta, leaseKey], args);
    const fencing = await run('acquireLease', ['acquire', options.nodeId, options.ttlMs, this.epochs.next()]);
    if (fencing === null || fencing === undefined) return null;
    const fencingToken = Number(fencing);
    this.epochs.seen(fencingToken);
    const token = `${options.nodeId}:${fencingToken}`;
    return {
      key,
      token,
      fencingToken,
      renew: async (ttlMs = options.ttlMs) => (await run('renewLease', ['renew', token, ttlMs])) === 1,
      release: async () => (await run('releaseLease', ['release', token])) === 1,
    };
  }
}

/** A fire's group key (instant, previous instant, flags), built once per run of fires that share it. */
const claimGroupKey = (): ((fire: DueFire) => string) =>
  keyPerRun(
    (a, b) => a.instant === b.instant && a.prevInstant === b.prevInstant && claimFlags(a) === claimFlags(b),
    (f) => `${f.instant}|${f.prevInstant ?? ''}|${claimFlags(f)}`,
  );

/** The claim script's flags of a due fire: 1 = write it running, 2 = a retry of an unanswered claim. */
function claimFlags(fire: DueFire): number {
  return (fire.startNow === true ? 1 : 0) + (fire.retry === true ? 2 : 0);
}
