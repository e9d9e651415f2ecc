import {
  ConfigConflictError,
  InvalidConfigError,
  configDocumentSchema,
  isSchedError,
  parseCron,
  parseOrThrow,
  type ConfigChangeMeta,
  type ConfigDocument,
  type ConfigStore,
  type VersionedConfig,
} from '@sched/core';

/**
 * The document as every node would take it: the schema, then each job's cron
 * spec in its zone. Throws `InvalidConfigError` naming the path; nothing is
 * written by a caller that checks first.
 */
export function checkConfigDocument(document: unknown, api: string): ConfigDocument {
  const doc = parseOrThrow(configDocumentSchema, document, api);
  for (const [name, cfg] of Object.entries(doc.jobs)) {
    if (!cfg.cronSpec) continue;
    try {
      parseCron(cfg.cronSpec, cfg.timezone ?? doc.timezone ?? 'UTC');
    } catch (error) {
      throw new InvalidConfigError(api, [{ path: `jobs.${name}.cronSpec`, message: (error as Error).message }], {
        cause: error,
      });
    }
  }
  return doc;
}

export interface EditSharedConfigOptions {
  /** Who changed it and why, for the history (`nodeId`: the writer, e.g. `console`). */
  meta: ConfigChangeMeta;
  /** Names the change in errors. @default 'editSharedConfig' */
  api?: string;
  /** Times to re-read and re-apply the edit when another writer got there first. @default 3 */
  retries?: number;
}

/**
 * Changes the cluster's shared configuration from outside a scheduler (the
 * console, the CLI): reads the current version, applies `edit` to a copy,
 * checks the result, and writes it by compare-and-set. When someone else
 * wrote meanwhile, the edit is applied again to their version (it must be a
 * function of the document, such as "pause job X"), up to `retries` times.
 */
export async function editSharedConfig(
  store: Pick<ConfigStore, 'get' | 'compareAndSet'>,
  edit: (document: ConfigDocument, current: VersionedConfig | null) => ConfigDocument,
  options: EditSharedConfigOptions,
): Promise<VersionedConfig> {
  const api = options.api ?? 'editSharedConfig';
  const retries = options.retries ?? 3;
  for (let attempt = 0; ; attempt++) {
    const current = await store.get();
    const next = checkConfigDocument(edit(structuredClone(current?.document ?? { jobs: {} }), current), api);
    try {
      return await store.compareAndSet(next, current?.version ?? 0, options.meta);
    } catch (error) {
      if (attempt < retries && isSchedError(error) && error instanceof ConfigConflictError) continue;
      throw error;
    }
  }
}
