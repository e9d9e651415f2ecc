import type { RedisConnection } from '@sched/redis';

/** The job a fire id belongs to: the part before the first `@` (job names hold no `@`). */
export function jobOfFireId(fireId: string): string {
  const at = fireId.indexOf('@');
  return at === -1 ? fireId : fireId.slice(0, at);
}

/** A job's stored catch-up list, in the job's bucket (so a claim can update it in the same call). */
export function catchupKey(connection: RedisConnection, jobName: string): string {
  return connection.bucketKey(connection.bucketOf(jobName), 'catchup', jobName);
}

/** The keys of one claim bucket: `{<prefix>:b<n>}:meta|marks|fires|live|done|batches`. */
export interface BucketKeys {
  bucket: number;
  meta: string;
  marks: string;
  fires: string;
  live: string;
  done: string;
  /** The claim batches' index (scripts/batch.lua). */
  batches: string;
}

/** Builds (once per bucket) the key names of a connection's buckets. */
export class BucketKeyring {
  private readonly cache: BucketKeys[] = [];

  constructor(readonly connection: RedisConnection) {
    for (let b = 0; b < connection.buckets; b++) {
      const k = (part: string): string => connection.bucketKey(b, part);
      this.cache.push({
        bucket: b,
        meta: k('meta'),
        marks: k('marks'),
        fires: k('fires'),
        live: k('live'),
        done: k('done'),
        batches: k('batches'),
      });
    }
  }

  of(bucket: number): BucketKeys {
    return this.cache[bucket] as BucketKeys;
  }

  forJob(jobName: string): BucketKeys {
    return this.of(this.connection.bucketOf(jobName));
  }

  forFire(fireId: string): BucketKeys {
    return this.forJob(jobOfFireId(fireId));
  }

  all(): readonly BucketKeys[] {
    return this.cache;
  }
}

const COUNTER_SPAN = 2 ** 20;
const highestEpochs = new WeakMap<RedisConnection, { max: number }>();

/**
 * The highest fencing epoch this process has seen on a connection, shared by
 * every adapter on it. A bucket re-initialised after data loss starts past it,
 * so fencing tokens grow even when the data is lost within the second the
 * epoch began (the epoch is TIME in seconds).
 */
export class EpochWatermark {
  private readonly state: { max: number };

  constructor(connection: RedisConnection) {
    let state = highestEpochs.get(connection);
    if (!state) highestEpochs.set(connection, (state = { max: 0 }));
    this.state = state;
  }

  /** Notes a fencing token seen in a reply. */
  seen(fencingToken: number): void {
    const epoch = Math.floor(fencingToken / COUNTER_SPAN);
    if (epoch > this.state.max) this.state.max = epoch;
  }

  /** The lowest epoch a re-initialised bucket may start at. */
  next(): number {
    return this.state.max === 0 ? 0 : this.state.max + 1;
  }
}
