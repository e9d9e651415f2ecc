import { readFile } from 'node:fs/promises';
import { watch as watchDir, type FSWatcher } from 'node:fs';
import { basename, dirname, extname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import {
  InvalidArgumentError,
  InvalidConfigError,
  configDocumentSchema,
  isSchedError,
  parseOrThrow,
  silentLogger,
  type ConfigDocument,
  type ConfigDocumentInput,
  type Logger,
} from '@sched/core';

/** What a configuration file is applied to: a `Scheduler` (or anything with its `loadFromConfig`). */
export interface ConfigTarget {
  loadFromConfig(document: ConfigDocumentInput, options?: { scope?: 'cluster' | 'node' }): Promise<void>;
  readonly logger?: Logger;
}

export interface LoadConfigFileOptions {
  /**
   * `'node'`: the file is this node's local document, weighed against the
   * cluster's shared one by `configLoadStrategy`. `'cluster'`: the file is
   * published as the shared document (every node follows). @default 'node'
   */
  scope?: 'node' | 'cluster';
  /** Reload when the file changes (debounced); an invalid edit is logged and the running config stays. @default false */
  watch?: boolean;
  /** Changes closer together than this are one reload. @default 200 */
  debounceMs?: number;
  /** @default the target's logger */
  logger?: Logger;
  /** Told after each reload that applied (not the first load). */
  onReload?: (document: ConfigDocument) => void;
  /** Told of each reload that failed (the running config stayed). */
  onError?: (error: Error) => void;
}

/** A loaded file; with `watch`, `close()` stops watching it. */
export interface ConfigFileHandle {
  readonly path: string;
  /** The document last applied from the file. */
  readonly document: ConfigDocument;
  close(): void;
}

/**
 * Reads a YAML (`.yaml`, `.yml`) or JSON (`.json`) configuration document and
 * checks it against SPEC.md's schema. Every failure is an
 * `InvalidConfigError` whose message names the file and the place: a YAML
 * syntax error by line and column, a schema error by its field
 * (`jobs.report.priority`), an unknown field by name.
 */
export async function readConfigFile(path: string): Promise<ConfigDocument> {
  const file = resolve(path);
  const api = `loadConfigFile(${file})`;
  const ext = extname(file).toLowerCase();
  if (ext !== '.yaml' && ext !== '.yml' && ext !== '.json') {
    throw new InvalidArgumentError(api, `a configuration file is .yaml, .yml or .json, not "${ext || '(none)'}"`);
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new InvalidConfigError(api, [{ path: '', message: `cannot read the file: ${(cause as Error).message}` }], { cause });
  }
  let data: unknown;
  if (ext === '.json') {
    try {
      data = JSON.parse(text);
    } catch (cause) {
      throw new InvalidConfigError(api, [{ path: '', message: `not valid JSON: ${(cause as Error).message}` }], { cause });
    }
  } else {
    const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    if (doc.errors.length > 0) {
      const issues = doc.errors.map((e) => ({
        path: e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '',
        message: `not valid YAML: ${e.message.split('\n')[0] ?? e.code}`,
      }));
      throw new InvalidConfigError(api, issues);
    }
    data = doc.toJS() ?? {};
  }
  return parseOrThrow(configDocumentSchema, data, api);
}

/**
 * Reads a configuration file and applies it with `target.loadFromConfig`
 * (all or nothing: a bad cron, an unknown field or a job with no registered
 * code rejects with a typed error naming the file, the job and the field, and
 * the running configuration stays). With `watch: true` the file is watched
 * and each change reloads it, debounced; an invalid edit is logged (and told
 * to `onError`) and the last good configuration keeps running.
 */
export async function loadConfigFile(
  target: ConfigTarget,
  path: string,
  options: LoadConfigFileOptions = {},
): Promise<ConfigFileHandle> {
  const file = resolve(path);
  const logger = options.logger ?? target.logger ?? silentLogger;
  const debounceMs = options.debounceMs ?? 200;
  if (!Number.isInteger(debounceMs) || debounceMs < 0) {
    throw new InvalidArgumentError('loadConfigFile', `debounceMs must be a non-negative integer, got ${debounceMs}`);
  }
  const scope = options.scope ?? 'node';
  if (scope !== 'node' && scope !== 'cluster') {
    throw new InvalidArgumentError('loadConfigFile', `scope is 'node' or 'cluster', not ${JSON.stringify(scope)}`);
  }
  let current = await applyFile(target, file, scope);
  let text = JSON.stringify(current);
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  let reloading: Promise<void> = Promise.resolve();
  const reload = async (): Promise<void> => {
    try {
      const next = await applyFile(target, file, scope);
      const nextText = JSON.stringify(next);
      if (nextText === text) return;
      current = next;
      text = nextText;
      logger.info('configuration file reloaded', { file, jobs: Object.keys(next.jobs).length });
      options.onReload?.(next);
    } catch (error) {
      const e = error as Error;
      logger.error('configuration file change rejected; the running configuration stays', { file, error: e.message });
      options.onError?.(e);
    }
  };
  if (options.watch) {
    // The directory, not the file: editors often save by writing a new file and renaming it over the old one.
    watcher = watchDir(dirname(file), (_event, name) => {
      if (name !== null && name !== basename(file)) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = undefined;
        reloading = reloading.then(reload);
      }, debounceMs);
    });
    watcher.on('error', (error) => logger.error('configuration file watch failed; reloads stop', { file, error: error.message }));
  }
  return {
    path: file,
    get document() {
      return current;
    },
    close() {
      if (timer) clearTimeout(timer);
      watcher?.close();
    },
  };
}

/** Reads, checks and applies one version of the file; errors name the file. */
async function applyFile(target: ConfigTarget, file: string, scope: 'node' | 'cluster'): Promise<ConfigDocument> {
  const document = await readConfigFile(file);
  try {
    await target.loadFromConfig(document, { scope });
  } catch (error) {
    // The scheduler's error names the job and field; the file is added so the reader knows where.
    if (isSchedError(error)) error.message = `${error.message} (in ${file})`;
    throw error;
  }
  return document;
}
