import type { ConfigDocument } from '../config/schema.js';
import type { ConfigLoadStrategy } from '../model.js';

/** Where a job's document entry came from. */
export type ConfigSource = 'local' | 'remote';

export interface MergedLayers {
  document: ConfigDocument;
  /** Which layer each job's entry came from. */
  sources: Map<string, ConfigSource>;
  /** Which layer the document's `timezone` came from. */
  timezoneSource: ConfigSource | undefined;
  /** Jobs paused by the shared document over a local entry that did not pause them. */
  pausedByShared: Set<string>;
}

/**
 * The document a node runs by, from its own local document (a file loaded
 * with `scope: 'node'`) and the cluster's shared one, by `configLoadStrategy`
 * (SPEC.md §4), job by job:
 *
 * | strategy         | a job in both                 | a job in one       | `timezone`         |
 * | ---------------- | ----------------------------- | ------------------ | ------------------ |
 * | `'local-first'`  | the local entry               | that entry         | local, else shared |
 * | `'remote-first'` | the shared entry              | that entry         | shared, else local |
 * | `'remote-only'`  | the shared entry              | shared ones only   | shared             |
 * | `'local-only'`   | the local entry               | local ones only    | local              |
 *
 * A pause is a runtime control: a job the shared document pauses stays
 * paused whatever the local file says (but under `'local-only'`, which
 * shares nothing).
 */
export function mergeLayers(
  strategy: ConfigLoadStrategy,
  local: ConfigDocument | undefined,
  shared: ConfigDocument | undefined,
): MergedLayers {
  const l = strategy === 'remote-only' ? undefined : local;
  const r = strategy === 'local-only' ? undefined : shared;
  const [low, high, lowSource, highSource]: [ConfigDocument | undefined, ConfigDocument | undefined, ConfigSource, ConfigSource] =
    strategy === 'local-first' || strategy === 'local-only' ? [r, l, 'remote', 'local'] : [l, r, 'local', 'remote'];
  const jobs: ConfigDocument['jobs'] = {};
  const sources = new Map<string, ConfigSource>();
  for (const [name, cfg] of Object.entries(low?.jobs ?? {})) {
    jobs[name] = cfg;
    sources.set(name, lowSource);
  }
  for (const [name, cfg] of Object.entries(high?.jobs ?? {})) {
    jobs[name] = cfg;
    sources.set(name, highSource);
  }
  const pausedByShared = new Set<string>();
  for (const [name, cfg] of Object.entries(r?.jobs ?? {})) {
    const entry = jobs[name];
    if (cfg.paused === true && entry && entry.paused !== true) {
      jobs[name] = { ...entry, paused: true };
      pausedByShared.add(name);
    }
  }
  const timezone = high?.timezone ?? low?.timezone;
  const timezoneSource = high?.timezone !== undefined ? highSource : low?.timezone !== undefined ? lowSource : undefined;
  return { document: timezone === undefined ? { jobs } : { timezone, jobs }, sources, timezoneSource, pausedByShared };
}
