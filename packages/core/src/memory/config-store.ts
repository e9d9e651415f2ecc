import { configDocumentSchema, type ConfigDocument } from '../config/schema.js';
import { parseOrThrow } from '../config/validate.js';
import { ConfigConflictError } from '../errors.js';
import type { ConfigChangeMeta, ConfigStore, VersionedConfig } from '../ports/config-store.js';
import type { Clock } from '../ports/clock.js';
import type { MemoryStore } from './store.js';

/** ConfigStore in memory: versioned document, compare-and-set, history, watchers (shareable). */
export class MemoryConfigStore implements ConfigStore {
  private current: VersionedConfig | null = null;
  private readonly versions: VersionedConfig[] = [];
  private readonly watchers = new Set<(config: VersionedConfig) => void>();
  private readonly clock: Clock;
  private readonly historyLimit: number;

  constructor(
    private readonly store: MemoryStore,
    options: { historyLimit?: number } = {},
  ) {
    this.clock = store.clock;
    this.historyLimit = options.historyLimit ?? 1000;
  }

  async get(): Promise<VersionedConfig | null> {
    this.store.check('config.get');
    return this.current ? structuredClone(this.current) : null;
  }

  async compareAndSet(document: ConfigDocument, expectedVersion: number, meta: ConfigChangeMeta): Promise<VersionedConfig> {
    this.store.check('config.compareAndSet');
    // Only a valid document is ever stored (as on Redis): every node can apply what it reads.
    document = parseOrThrow(configDocumentSchema, document, 'config.compareAndSet');
    const actual = this.current?.version ?? 0;
    if (actual !== expectedVersion) throw new ConfigConflictError('compareAndSet', expectedVersion, actual);
    const next: VersionedConfig = {
      ...meta,
      version: actual + 1,
      document: structuredClone(document),
      updatedAt: this.clock.now(),
    };
    this.current = next;
    this.versions.unshift(next);
    if (this.versions.length > this.historyLimit) this.versions.length = this.historyLimit;
    for (const watcher of this.watchers) {
      const copy = structuredClone(next);
      queueMicrotask(() => watcher(copy));
    }
    return structuredClone(next);
  }

  async history(limit = 100): Promise<VersionedConfig[]> {
    this.store.check('config.history');
    return structuredClone(this.versions.slice(0, limit));
  }

  watch(listener: (config: VersionedConfig) => void): () => void {
    this.watchers.add(listener);
    const current = this.current ? structuredClone(this.current) : undefined;
    if (current) queueMicrotask(() => this.watchers.has(listener) && listener(current));
    return () => this.watchers.delete(listener);
  }
}
