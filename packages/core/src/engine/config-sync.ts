import type { ConfigDocument } from '../config/schema.js';
import { ConfigConflictError, InvalidArgumentError, isSchedError, toError } from '../errors.js';
import type { ConfigChangeMeta, ConfigStore, VersionedConfig } from '../ports/config-store.js';
import type { Logger } from '../ports/logger.js';

/** What the sync needs of its scheduler. */
export interface ConfigSyncHost {
  readonly nodeId: string;
  readonly logger: Logger;
  /** Checks a document against this node's jobs (throws the typed error `api` would), changing nothing. */
  check(document: ConfigDocument, api: string): void;
  /** Applies a version of the shared document to this node; `since` is the change's time. Throws as `check`. */
  apply(document: ConfigDocument, api: string, since: number): void;
}

/** Who asks for a change, for the audit trail. */
export interface ChangeOptions {
  actor?: string;
  reason?: string;
}

/**
 * Keeps a scheduler on the cluster's shared configuration document (DESIGN.md
 * "Cluster-wide controls"): applies the stored version at start, then every
 * later version in order as the store's watch delivers them; and makes this
 * node's runtime changes (`loadFromConfig`, `updateCronSpec`, `pause`,
 * `resume`, a rollback) compare-and-set changes of that document, checked
 * against this node's jobs first. A change made against a version this node
 * had not seen yet loses with `ConfigConflictError` (the newer version is
 * applied meanwhile, so a retry starts from it). A version that this node
 * cannot apply (for example a spec its jobs' zone rejects) is logged and
 * skipped; the node keeps its running configuration.
 */
export class ConfigSync {
  private current: VersionedConfig | undefined;
  private unwatch: (() => void) | undefined;

  constructor(
    private readonly store: ConfigStore,
    private readonly host: ConfigSyncHost,
  ) {}

  /** The version this node applied last (0: none yet). */
  get version(): number {
    return this.current?.version ?? 0;
  }

  get latest(): VersionedConfig | undefined {
    return this.current;
  }

  /** Applies the stored version (if any) and follows the later ones. */
  async start(): Promise<void> {
    this.unwatch = this.store.watch((config) => this.receive(config));
    try {
      const stored = await this.store.get();
      if (stored) this.receive(stored);
    } catch (error) {
      // The watch catches up once the store answers.
      this.host.logger.warn('started without the shared configuration: the store did not answer', {
        error: toError('config', error).message,
      });
    }
  }

  stop(): void {
    this.unwatch?.();
    this.unwatch = undefined;
  }

  /**
   * Writes `edit(current document)` as the next version (after checking it
   * against this node's jobs) and applies it here at once.
   */
  async change(
    api: string,
    edit: (document: ConfigDocument) => ConfigDocument,
    options: ChangeOptions = {},
  ): Promise<VersionedConfig> {
    if (!this.unwatch) {
      // Not following the store yet (before start): start from what it holds.
      const stored = await this.store.get();
      if (stored && stored.version > this.version) this.current = stored;
    }
    const base: ConfigDocument = this.current ? structuredClone(this.current.document) : { jobs: {} };
    const next = edit(base);
    this.host.check(next, api);
    const meta: ConfigChangeMeta = { nodeId: this.host.nodeId };
    if (options.actor !== undefined) meta.actor = options.actor;
    if (options.reason !== undefined) meta.reason = options.reason;
    let written: VersionedConfig;
    try {
      written = await this.store.compareAndSet(next, this.version, meta);
    } catch (error) {
      if (isSchedError(error) && error instanceof ConfigConflictError) {
        // Someone else's change got there first: take it, so the caller can retry from it.
        const stored = await this.store.get().catch(() => null);
        if (stored) this.receive(stored);
      }
      throw error;
    }
    this.receive(written);
    return written;
  }

  /** Restores version `version`'s document as a new version. */
  async rollback(version: number, options: ChangeOptions = {}): Promise<VersionedConfig> {
    const history = await this.store.history(1_000);
    const target = history.find((h) => h.version === version);
    if (!target) {
      throw new InvalidArgumentError(
        'rollbackConfig',
        `version ${version} is not in the configuration history (kept: ${history.map((h) => h.version).join(', ') || 'none'})`,
      );
    }
    return this.change('rollbackConfig', () => structuredClone(target.document), {
      ...options,
      reason: options.reason ?? `rollback to version ${version}`,
    });
  }

  history(limit?: number): Promise<VersionedConfig[]> {
    return this.store.history(limit);
  }

  /** A version from the store: applied once, in order; an older or repeated one is ignored. */
  private receive(config: VersionedConfig): void {
    if (config.version <= this.version) return;
    this.current = config;
    try {
      this.host.apply(config.document, 'config sync', config.updatedAt);
    } catch (error) {
      this.host.logger.error(
        'a shared configuration version cannot be applied on this node; it keeps its running configuration',
        {
          version: config.version,
          error: toError('config', error).message,
        },
      );
    }
  }
}
