import {
  ConfigConflictError,
  InvalidArgumentError,
  configDocumentSchema,
  parseOrThrow,
  type ConfigChangeMeta,
  type ConfigDocument,
  type ConfigStore,
  type Logger,
  type VersionedConfig,
} from '@sched/core';
import { LuaScript, connectionOf, type RedisConnection } from '@sched/redis';

const load = LuaScript.loader(new URL('./scripts/', import.meta.url), new URL('../package.json', import.meta.url));
const casScript = load('config-cas-3.lua');

export interface RedisConfigStoreOptions {
  /** Versions kept in `history()` (older ones are dropped). @default 1000 */
  historyLimit?: number;
  /**
   * How often a watcher reads the stored version besides the change notices
   * (a notice lost while its subscriber reconnected is caught up by then). @default 5000
   */
  pollIntervalMs?: number;
  logger?: Logger;
}

/** The stored shape of a version: the script joins these JSON fragments. */
interface StoredEntry {
  version: number;
  updatedAt: number;
  meta: ConfigChangeMeta;
  document: unknown;
}

/**
 * The `ConfigStore` of a cluster on Redis (or Redis Cluster: every key shares
 * the `{<prefix>}` hash tag): the current version, the current document and a
 * bounded history, all written by one Lua compare-and-set, so two concurrent
 * changes never clobber each other (the loser gets `ConfigConflictError` with
 * both versions). The change's time is Redis `TIME`. Each accepted change is
 * announced on `<prefix>:config`; a watcher delivers the version stored when
 * it starts, then every version after the one it last saw, in order, reading the history for any notice they missed
 * (and reading the version every `pollIntervalMs`, so a notice lost during a
 * reconnect is caught up too).
 */
export class RedisConfigStore implements ConfigStore {
  readonly connection: RedisConnection;
  private readonly historyLimit: number;
  private readonly pollIntervalMs: number;
  private readonly logger: Logger;
  private readonly keys: { version: string; current: string; history: string };
  private readonly channel: string;

  constructor(source: RedisConnection | { connection: RedisConnection }, options: RedisConfigStoreOptions = {}) {
    this.connection = connectionOf(source);
    this.historyLimit = positive('historyLimit', options.historyLimit ?? 1_000);
    this.pollIntervalMs = positive('pollIntervalMs', options.pollIntervalMs ?? 5_000);
    this.logger = options.logger ?? this.connection.logger;
    this.keys = {
      version: this.connection.globalKey('config', 'version'),
      current: this.connection.globalKey('config', 'current'),
      history: this.connection.globalKey('config', 'history'),
    };
    this.channel = this.connection.key('config');
  }

  async get(): Promise<VersionedConfig | null> {
    const raw = await this.connection.call('config.get', () => this.connection.client.get(this.keys.current));
    return raw === null ? null : parseEntry(raw, 'config.get');
  }

  async compareAndSet(document: ConfigDocument, expectedVersion: number, meta: ConfigChangeMeta): Promise<VersionedConfig> {
    if (!Number.isInteger(expectedVersion) || expectedVersion < 0) {
      throw new InvalidArgumentError(
        'config.compareAndSet',
        `expectedVersion must be a non-negative integer, got ${expectedVersion}`,
      );
    }
    // Only a valid document is ever stored: every node can apply what it reads.
    const checked = parseOrThrow(configDocumentSchema, document, 'config.compareAndSet');
    const metaJson = JSON.stringify({
      nodeId: meta.nodeId,
      ...(meta.actor === undefined ? {} : { actor: meta.actor }),
      ...(meta.reason === undefined ? {} : { reason: meta.reason }),
    });
    const reply = (await this.connection.run(
      'config.compareAndSet',
      casScript,
      [this.keys.version, this.keys.current, this.keys.history],
      [expectedVersion, metaJson, JSON.stringify(checked), this.historyLimit],
    )) as [number, number, string?];
    if (reply[0] !== 1) throw new ConfigConflictError('config.compareAndSet', expectedVersion, Number(reply[1]));
    const entry = parseEntry(reply[2] as string, 'config.compareAndSet');
    // The notice only says "look": watchers read the entries themselves, in order.
    await this.connection.publish(this.channel, String(entry.version)).catch((error: unknown) =>
      this.logger.warn('config change stored but not announced; watchers find it at their next poll', {
        version: entry.version,
        error: String(error),
      }),
    );
    return entry;
  }

  async history(limit = 100): Promise<VersionedConfig[]> {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new InvalidArgumentError('config.history', `limit must be a positive integer, got ${limit}`);
    }
    const raw = await this.connection.call('config.history', () =>
      this.connection.client.lrange(this.keys.history, 0, limit - 1),
    );
    return raw.map((r) => parseEntry(r, 'config.history'));
  }

  watch(listener: (config: VersionedConfig) => void): () => void {
    const watcher = new Watcher(this, listener, this.logger);
    let unsubscribe: (() => Promise<void>) | undefined;
    let closed = false;
    void this.connection
      .subscribe(this.channel, () => watcher.catchUp())
      .then((off) => {
        if (closed) void off();
        else unsubscribe = off;
      })
      .catch((error: unknown) => this.logger.warn('config watch: could not subscribe; polling only', { error: String(error) }));
    void watcher.catchUp();
    const timer = setInterval(() => void watcher.catchUp(), this.pollIntervalMs);
    timer.unref();
    return () => {
      closed = true;
      watcher.closed = true;
      clearInterval(timer);
      void unsubscribe?.();
    };
  }

  /** Versions after `after` up to the current one, oldest first (what the history still holds). */
  async versionsAfter(after: number): Promise<VersionedConfig[]> {
    const raw = await this.connection.call('config.watch', () => this.connection.client.get(this.keys.version));
    let want = Number(raw ?? 0) - after;
    if (want <= 0) return [];
    for (;;) {
      const entries = await this.history(Math.min(want, this.historyLimit)); // newest first
      const newest = entries[0]?.version ?? after;
      // A change that landed between the two reads pushed the older entries down the list: read
      // again, wider, so the one right after `after` is in (never skip a version).
      if (newest - after > want && want < this.historyLimit) {
        want = newest - after;
        continue;
      }
      return entries.filter((e) => e.version > after).reverse();
    }
  }
}

/**
 * One `watch()`: the last version delivered, and a catch-up that runs one at
 * a time (a notice arriving meanwhile runs it once more).
 */
class Watcher {
  closed = false;
  private last: number | undefined;
  private running: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly store: RedisConfigStore,
    private readonly listener: (config: VersionedConfig) => void,
    private readonly logger: Logger,
  ) {}

  catchUp(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.step();
        } catch (error) {
          this.logger.warn('config watch: could not read the stored configuration; trying again', { error: String(error) });
        }
      } while (this.again && !this.closed);
      this.running = undefined;
    })();
    return this.running;
  }

  private async step(): Promise<void> {
    if (this.last === undefined) {
      // The first read delivers the version stored now (so nothing between a reader's get() and its watch is lost).
      const current = await this.store.get();
      this.last = current?.version ?? 0;
      if (current && !this.closed) this.deliver(current);
      return;
    }
    for (const entry of await this.store.versionsAfter(this.last)) {
      if (this.closed) return;
      this.last = entry.version;
      this.deliver(entry);
    }
  }

  private deliver(entry: VersionedConfig): void {
    try {
      this.listener(entry);
    } catch (error) {
      this.logger.error('config watch listener threw', { version: entry.version, error });
    }
  }
}

function parseEntry(raw: string, api: string): VersionedConfig {
  let stored: StoredEntry;
  try {
    stored = JSON.parse(raw) as StoredEntry;
  } catch (cause) {
    throw new InvalidArgumentError(api, 'the stored configuration is not JSON (written by something else than sched?)', {
      cause,
    });
  }
  return {
    ...stored.meta,
    version: stored.version,
    updatedAt: stored.updatedAt,
    document: parseOrThrow(configDocumentSchema, stored.document, api),
  };
}

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidArgumentError('RedisConfigStore', `${name} must be a positive integer, got ${value}`);
  }
  return value;
}
