import type { CatchupList, FireRecord, FireState, StateStore } from '@sched/core';
import { connectionOf, fnv1a, type RedisConnection } from '@sched/redis';
import { BucketKeyring, catchupKey, EpochWatermark, jobOfFireId } from './keys.js';
import { scripts } from './scripts.js';

/** The separator of the scripts' packed fields (records, owners, a batch's fire ids). */
export const SEP = '\u001f';

/** A catch-up list not finished within a day is dropped (its owner and every resumer are long gone). */
const CATCHUP_TTL_MS = 24 * 3_600_000;

/** Job names grouped by the bucket they live in (one call per bucket: one slot on a Cluster). */
function byJobBucket(connection: RedisConnection, jobNames: readonly string[]): Map<number, string[]> {
  const byBucket = new Map<number, string[]>();
  for (const name of jobNames) {
    const b = connection.bucketOf(name);
    let list = byBucket.get(b);
    if (!list) byBucket.set(b, (list = []));
    list.push(name);
  }
  return byBucket;
}

function parseCatchup(raw: string): CatchupList {
  const list = JSON.parse(raw) as CatchupList;
  // cjson writes an empty array as {}; the scripts delete empty lists, so only a stray one could be.
  if (!Array.isArray(list.instants)) list.instants = [];
  return list;
}

/**
 * StateStore on Redis: marks and per-fire records in the claim buckets
 * (written by `RedisLockManager`), DAG run state and catch-up lists beside
 * them. Finished fire records expire after their retention; runs after their
 * TTL; a catch-up list when its last instant is acknowledged.
 */
export class RedisStateStore implements StateStore {
  readonly connection: RedisConnection;
  private readonly keys: BucketKeyring;
  private readonly epochs: EpochWatermark;

  constructor(source: RedisConnection | { connection: RedisConnection }) {
    this.connection = connectionOf(source);
    this.keys = new BucketKeyring(this.connection);
    this.epochs = new EpochWatermark(this.connection);
  }

  /** Reads the marks (one call per bucket) and initialises any bucket whose epoch is missing. */
  async getMarks(jobNames: readonly string[]): Promise<Map<string, number>> {
    const byBucket = byJobBucket(this.connection, jobNames);
    const out = new Map<string, number>();
    await Promise.all(
      [...byBucket].map(async ([b, names]) => {
        const k = this.keys.of(b);
        const marks = (await this.connection.run(
          'getMarks',
          scripts.marks,
          [k.meta, k.marks],
          ['get', this.epochs.next(), ...names],
        )) as Array<string | null>;
        names.forEach((name, i) => {
          const m = marks[i];
          if (m !== null && m !== undefined) out.set(name, Number(m));
        });
      }),
    );
    return out;
  }

  async advanceMark(jobName: string, instant: number): Promise<number> {
    const k = this.keys.forJob(jobName);
    return Number(
      await this.connection.run(
        'advanceMark',
        scripts.marks,
        [k.meta, k.marks],
        ['advance', this.epochs.next(), jobName, instant],
      ),
    );
  }

  async getFireRecord(fireId: string): Promise<FireRecord | null> {
    const k = this.keys.forFire(fireId);
    const packed = (await this.connection.run('getFireRecord', scripts.getFire, [k.fires, k.live, k.batches], [fireId])) as
      string | null;
    if (packed === null || packed === undefined) return null;
    const rec = unpackRecord(fireId, packed);
    // A finished record past its retention is gone, though the purge may not have run yet.
    if (rec.state === 'done' && rec.expiresAt <= (await this.connection.time())) return null;
    return rec;
  }

  async listExpiredFires(now: number, limit: number): Promise<FireRecord[]> {
    const out: FireRecord[] = [];
    await Promise.all(
      this.keys.all().map(async (k) => {
        const flat = (await this.connection.run(
          'listExpiredFires',
          scripts.listExpired,
          [k.fires, k.live, k.batches],
          [Math.floor(now), limit],
        )) as string[];
        for (let i = 0; i < flat.length; i += 2) out.push(unpackRecord(flat[i] as string, flat[i + 1] as string));
      }),
    );
    out.sort((a, b) => a.expiresAt - b.expiresAt);
    return out.slice(0, limit);
  }

  async getRunState(runId: string): Promise<Record<string, string> | null> {
    const fields = await this.connection.call('getRunState', () => this.connection.client.hgetall(this.runKey(runId)));
    return Object.keys(fields).length === 0 ? null : fields;
  }

  async getRunFields(runId: string, fields: readonly string[]): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    if (fields.length === 0) return out;
    const values = await this.connection.call('getRunFields', () => this.connection.client.hmget(this.runKey(runId), ...fields));
    for (const [i, value] of values.entries()) if (value !== null) out[fields[i] as string] = value;
    return out;
  }

  async setRunFieldIfAbsent(runId: string, field: string, value: string, ttlMs: number): Promise<boolean> {
    return (
      (await this.connection.run('setRunFieldIfAbsent', scripts.runField, [this.runKey(runId)], [field, value, ttlMs])) === 1
    );
  }

  async setRunFields(runId: string, fields: Record<string, string>, ttlMs: number): Promise<void> {
    const key = this.runKey(runId);
    await this.connection.call('setRunFields', () => this.connection.client.multi().hset(key, fields).pexpire(key, ttlMs).exec());
  }

  async saveCatchup(list: CatchupList): Promise<void> {
    const key = this.catchupKey(list.jobName);
    await this.connection.call('saveCatchup', () => this.connection.client.set(key, JSON.stringify(list), 'PX', CATCHUP_TTL_MS));
  }

  async getCatchup(jobName: string): Promise<CatchupList | null> {
    const raw = await this.connection.call('getCatchup', () => this.connection.client.get(this.catchupKey(jobName)));
    return raw === null ? null : parseCatchup(raw);
  }

  async getCatchups(jobNames: readonly string[]): Promise<Map<string, CatchupList>> {
    const byBucket = byJobBucket(this.connection, jobNames);
    const out = new Map<string, CatchupList>();
    const chunks: string[][] = [];
    for (const names of byBucket.values()) for (let i = 0; i < names.length; i += 1_000) chunks.push(names.slice(i, i + 1_000));
    await Promise.all(
      chunks.map(async (names) => {
        // One bucket per MGET: one slot on a Cluster.
        const raws = await this.connection.call('getCatchups', () =>
          this.connection.client.mget(...names.map((n) => this.catchupKey(n))),
        );
        raws.forEach((raw, i) => {
          if (raw !== null) out.set(names[i] as string, parseCatchup(raw));
        });
      }),
    );
    return out;
  }

  async ackCatchup(jobName: string, instant: number): Promise<void> {
    await this.connection.run('ackCatchup', scripts.catchup, [this.catchupKey(jobName)], [instant]);
  }

  private runKey(runId: string): string {
    return this.connection.bucketKey(fnv1a(runId) % this.connection.buckets, 'run', runId);
  }

  private catchupKey(jobName: string): string {
    return catchupKey(this.connection, jobName);
  }
}

/**
 * Reads a packed record (see bucket.lua): state, nodeId, fencing token,
 * expiresAt, final status. The owner token is `<nodeId>:<fencing>`; the job is
 * the fire id's prefix.
 */
export function unpackRecord(fireId: string, packed: string): FireRecord {
  const [state, nodeId = '', fencing = '', expiresAt, status] = packed.split(SEP);
  const rec: FireRecord = {
    fireId,
    jobName: jobOfFireId(fireId),
    state: state as FireState,
    nodeId,
    token: `${nodeId}:${fencing}`,
    fencingToken: Number(fencing),
    expiresAt: Number(expiresAt),
  };
  if (status) rec.status = status;
  return rec;
}
