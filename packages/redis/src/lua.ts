import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Cluster, Redis } from 'ioredis';

/**
 * A Lua script kept in its own `.lua` file, opening with a header:
 *
 * ```lua
 * --[[ claim-due
 *   KEYS[1] marks hash …
 *   ARGV[1] node id …
 *   Returns …
 * ]]
 * ```
 *
 * Loaded once per process, run by SHA (`EVALSHA`) with the `NOSCRIPT`
 * fallback (`EVAL`, which also loads it), so a restarted or flushed Redis
 * costs one extra round trip. `name` carries the package and its version, so
 * two versions can share one Redis: their SHAs differ, their names say which.
 */
export class LuaScript {
  readonly sha: string;

  constructor(
    readonly name: string,
    readonly numberOfKeys: number,
    readonly source: string,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
    const declared = declaredKeys(source);
    if (declared !== numberOfKeys) {
      throw new Error(`sched: LuaScript: ${name} declares ${declared} KEYS in its header but is defined with ${numberOfKeys}`);
    }
  }

  /**
   * Reads `<dir>/<file>` (dir is a URL, e.g. `new URL('./scripts/', import.meta.url)`).
   * A line `--! include <other.lua>` is replaced by that file of the same
   * directory (shared helpers such as the epoch check), after the header.
   */
  static fromFile(dir: URL, file: string, packageName: string, version: string): LuaScript {
    const read = (name: string): string => readFileSync(fileURLToPath(new URL(name, dir)), 'utf8');
    const source = read(file).replace(/^--! include (\S+\.lua)\s*$/gm, (_, name: string) => read(name).trimEnd());
    const m = /-(\d+)\.lua$/.exec(file);
    if (!m) throw new Error(`sched: LuaScript: ${file} must be named <name>-<numberOfKeys>.lua`);
    return new LuaScript(`${packageName}@${version}:${file.replace(/\.lua$/, '')}`, Number(m[1]), source);
  }

  /**
   * A loader for a package's scripts: `dir` holds the `.lua` files and
   * `packageJson` names the package and version the script names carry, e.g.
   * `LuaScript.loader(new URL('./scripts/', import.meta.url), new URL('../package.json', import.meta.url))`.
   */
  static loader(dir: URL, packageJson: URL): (file: string) => LuaScript {
    const pkg = JSON.parse(readFileSync(fileURLToPath(packageJson), 'utf8')) as { name: string; version: string };
    return (file) => LuaScript.fromFile(dir, file, pkg.name, pkg.version);
  }

  /** Runs the script by SHA; on NOSCRIPT (a fresh or flushed Redis) sends the source once. */
  async run(client: Redis | Cluster, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    if (keys.length !== this.numberOfKeys) {
      throw new Error(`sched: ${this.name}: expected ${this.numberOfKeys} keys, got ${keys.length}`);
    }
    try {
      return await client.evalsha(this.sha, this.numberOfKeys, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.eval(this.source, this.numberOfKeys, ...keys, ...args);
    }
  }
}

/** The number of distinct `KEYS[n]` named in the header comment. */
function declaredKeys(source: string): number {
  const header = /^--\[\[([\s\S]*?)\]\]/.exec(source)?.[1];
  if (header === undefined) throw new Error('sched: LuaScript: a script must open with a --[[ KEYS / ARGV / Returns ]] header');
  const keys = new Set([...header.matchAll(/KEYS\[(\d+)\]/g)].map((m) => m[1]));
  return keys.size;
}
