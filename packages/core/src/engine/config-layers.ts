import type { ConfigDocument } from '../config/schema.js';
import type { ConfigLoadStrategy } from '../model.js';

/** Where a job's document entry came from. */
export type ConfigSource = 'local' | 'remote';

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
): { document: ConfigDocument; sources: Map<string, ConfigSource> } {
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
  for (const [name, cfg] of Object.entries(r?.jobs ?? {})) {
    const entry = jobs[name];
    if (cfg.paused === true && entry && entry.paused !== true) jobs[name] = { ...entry, paused: true };
  }
  const timezone = high?.timezone ?? low?.timezone;
  return { document: timezone === undefined ? { jobs } : { timezone, jobs }, sources };
}
