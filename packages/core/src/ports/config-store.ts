import type { ConfigDocument } from '../config/schema.js';

/**
 * ConfigStore port: the cluster's shared configuration document, versioned.
 *
 * - `compareAndSet(doc, expectedVersion)` writes a new version only if the
 *   stored one is still `expectedVersion` (0 when none exists yet); otherwise it
 *   rejects with `ConfigConflictError`, so two concurrent changes never
 *   silently clobber each other.
 * - Every accepted change is kept in `history()` (newest first) with its
 *   version, time and author, so it can be audited and rolled back.
 * - `watch` delivers the version stored when it starts (if any), then each
 *   new version, in version order, at least once (a listener ignores a
 *   version it has seen); a watcher that missed some catches up with `get()`.
 * Failure: methods reject with `StoreUnavailableError` when the store cannot be
 * reached; the running configuration stays as it was.
 */
export interface ConfigStore {
  get(): Promise<VersionedConfig | null>;
  compareAndSet(document: ConfigDocument, expectedVersion: number, meta: ConfigChangeMeta): Promise<VersionedConfig>;
  history(limit?: number): Promise<VersionedConfig[]>;
  watch(listener: (config: VersionedConfig) => void): () => void;
}

export interface ConfigChangeMeta {
  nodeId: string;
  /** Who asked for the change (a user, a CLI, the console), if known. */
  actor?: string;
  /** Free text: why (e.g. `rollback to 3`). */
  reason?: string;
}

export interface VersionedConfig extends ConfigChangeMeta {
  version: number;
  document: ConfigDocument;
  updatedAt: number;
}
