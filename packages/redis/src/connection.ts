import type { Cluster, Redis } from 'ioredis';
import { StoreUnavailableError, type Logger, silentLogger } from '@sched/core';
import { fnv1a } from './hash.js';
import type { LuaScript } from './lua.js';

/** The schema version in every key; a change to the key schema ships a migration. */
export const SCHEMA_VERSION = 'v1';

export interface RedisConnectionOptions {
  /** First part of every key. @default 'sched' */
  keyPrefix?: string;
  /** Hash-tag buckets for claim state. @default 1 on one Redis, 16 on a Cluster */
  buckets?: number;
  /** A store call slower than this fails with `StoreUnavailableError`. @default 2000 */
  commandTimeoutMs?: number;
  logger?: Logger;
}

export type RedisClient = Redis | Cluster;

/**
 * One Redis or Redis Cluster as sched uses it: every key starts with
 * `<keyPrefix>:v1:`; claim state lives in N hash-tag buckets
 * (`{sched:v1:b0}` … `{sched:v1:bN-1}`), each wholly in one cluster slot so one
 * Lua call can touch all of a bucket's keys; cluster-wide data (nodes, config)
 * lives under the global tag `{sched:v1}`.
 *
 * The connection does not own the client it is given (closing is yours); it
 * owns the subscriber connection it duplicates for pub/sub.
 */
export class RedisConnection {
  readonly client: RedisClient;
  readonly isCluster: boolean;
  /** `<keyPrefix>:v1` */
  readonly prefix: string;
  readonly buckets: number;
  readonly logger: Logger;
  readonly commandTimeoutMs: number;
  private sub: RedisClient | undefined;
  private readonly handlers = new Map<string, Set<(message: string, channel: string) => void>>();
  /** SUBSCRIBEs in flight, by channel. */
  private readonly subscribing = new Map<string, Promise<void>>();

  constructor(client: RedisClient, options: RedisConnectionOptions = {}) {
    if (typeof client !== 'object' || client === null || typeof (client as Redis).evalsha !== 'function') {
      throw new TypeError('sched: RedisConnection: pass an ioredis Redis or Cluster instance');
    }
    this.client = client;
    this.isCluster = (client as { isCluster?: boolean }).isCluster === true;
    const keyPrefix = options.keyPrefix ?? 'sched';
    if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(keyPrefix)) {
      throw new TypeError(
        `sched: RedisConnection: keyPrefix must be 1-64 of letters, digits and _ . : -, got ${JSON.stringify(keyPrefix)}`,
      );
    }
    this.prefix = `${keyPrefix}:${SCHEMA_VERSION}`;
    this.buckets = options.buckets ?? (this.isCluster ? 16 : 1);
    if (!Number.isInteger(this.buckets) || this.buckets < 1 || this.buckets > 1024) {
      throw new TypeError(`sched: RedisConnection: buckets must be an integer from 1 to 1024, got ${String(options.buckets)}`);
    }
    this.commandTimeoutMs = options.commandTimeoutMs ?? 2_000;
    this.logger = options.logger ?? silentLogger;
  }

  /** A key outside the buckets: `<prefix>:<parts…>`. */
  key(...parts: Array<string | number>): string {
    return `${this.prefix}:${parts.join(':')}`;
  }

  /** The hash tag of cluster-wide data (nodes, config): one slot. */
  globalKey(...parts: Array<string | number>): string {
    return `{${this.prefix}}:${parts.join(':')}`;
  }

  /** The bucket a job's claim state lives in (stable on every node). */
  bucketOf(jobName: string): number {
    return this.buckets === 1 ? 0 : fnv1a(jobName) % this.buckets;
  }

  /** A key inside bucket `b`: `{<prefix>:b<b>}:<parts…>`. */
  bucketKey(bucket: number, ...parts: Array<string | number>): string {
    return `{${this.prefix}:b${bucket}}:${parts.join(':')}`;
  }

  /** Runs a Lua script; a timeout or a connection failure is a `StoreUnavailableError`. */
  async run(api: string, script: LuaScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    return this.call(api, () => script.run(this.client, keys, args));
  }

  /** Runs any client call with the command timeout and error mapping. */
  async call<T>(api: string, fn: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new StoreUnavailableError(api, `Redis did not answer within ${this.commandTimeoutMs} ms`)),
        this.commandTimeoutMs,
      );
      timer.unref();
    });
    try {
      return await Promise.race([fn(), timeout]);
    } catch (error) {
      throw toStoreError(api, error);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Redis `TIME` in epoch ms (microsecond precision). */
  async time(): Promise<number> {
    const [sec, usec] = await this.call('time', () => (this.client as Redis).time());
    return Number(sec) * 1000 + Number(usec) / 1000;
  }

  /**
   * Subscribes `handler` to `channel` on the one subscriber connection this
   * object owns (a duplicate of the client, made on first use; ioredis
   * re-subscribes it after a reconnect). Several handlers may share a channel;
   * a handler that throws is logged and the others still run.
   */
  async subscribe(channel: string, handler: (message: string, channel: string) => void): Promise<() => Promise<void>> {
    const sub = this.subscriber();
    // One SUBSCRIBE a channel, shared by callers that come while it is in flight; one that fails
    // leaves no trace, so the next caller sends it again (not a channel that looks subscribed and is not).
    let subscribing = this.subscribing.get(channel);
    if (!subscribing && !this.handlers.has(channel)) {
      subscribing = this.call('subscribe', () => sub.subscribe(channel)).then(
        () => {
          this.subscribing.delete(channel);
          if (!this.handlers.has(channel)) this.handlers.set(channel, new Set());
        },
        (error: unknown) => {
          this.subscribing.delete(channel);
          throw error;
        },
      );
      this.subscribing.set(channel, subscribing);
    }
    if (subscribing) await subscribing;
    let set = this.handlers.get(channel);
    if (!set) this.handlers.set(channel, (set = new Set()));
    set.add(handler);
    return async () => {
      const current = this.handlers.get(channel);
      if (!current?.delete(handler) || current.size > 0) return;
      this.handlers.delete(channel);
      if (this.sub) await this.call('unsubscribe', () => sub.unsubscribe(channel)).catch(() => undefined);
    };
  }

  /** Publishes a raw string (`PUBLISH`; on a Cluster it reaches every node's subscribers). */
  async publish(channel: string, message: string): Promise<void> {
    await this.call('publish', () => this.client.publish(channel, message));
  }

  private subscriber(): RedisClient {
    if (!this.sub) {
      const sub = (this.client as Redis).duplicate() as RedisClient;
      sub.on('error', (error: Error) => this.logger.warn('redis subscriber connection error', { error: error.message }));
      sub.on('message', (channel: string, message: string) => {
        const set = this.handlers.get(channel);
        if (!set) return;
        for (const handler of [...set]) {
          try {
            handler(message, channel);
          } catch (error) {
            this.logger.error('subscriber handler threw; message dropped', { channel, error });
          }
        }
      });
      this.sub = sub;
    }
    return this.sub;
  }

  /** Closes what this connection owns (the subscriber); the client stays yours. */
  async close(): Promise<void> {
    const sub = this.sub;
    this.sub = undefined;
    this.handlers.clear();
    if (sub) sub.disconnect();
  }
}

/** Connection trouble becomes `StoreUnavailableError`; Lua errors (bugs, bad input) stay as they are. */
export function toStoreError(api: string, error: unknown): Error {
  if (error instanceof StoreUnavailableError) return error;
  const e = error instanceof Error ? error : new Error(String(error));
  const m = e.message;
  const unreachable =
    /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|Connection is closed|Stream isn't writeable|max retries per request|MaxRetriesPerRequest|CLUSTERDOWN|TRYAGAIN|LOADING|None of startup nodes is available|Cluster isn't ready|connection lost/i.test(
      m,
    );
  return unreachable ? new StoreUnavailableError(api, `Redis is unreachable: ${m}`, { cause: e }) : e;
}

/** Accepts anything holding a connection (`RedisSchedulerCache`) or a connection itself. */
export function connectionOf(source: RedisConnection | { connection: RedisConnection }): RedisConnection {
  if (source instanceof RedisConnection) return source;
  if (typeof source === 'object' && source !== null && 'connection' in source) return source.connection;
  throw new TypeError('sched: expected a RedisConnection or an object with a `connection` (a RedisSchedulerCache)');
}
