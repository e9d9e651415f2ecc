import { cpSync } from 'node:fs';
import { defineConfig, type Options } from 'tsup';

/**
 * The build every package shares: ESM + CJS + `.d.ts` for Node 20, ioredis left
 * to the user. `luaScripts` ships `src/scripts/*.lua` in `dist/scripts`, with
 * `import.meta.url` shimmed in the CJS build so the loader finds them.
 */
export function packageBuild(options: { entry?: Options['entry']; luaScripts?: boolean; extra?: Options } = {}) {
  return defineConfig({
    entry: options.entry ?? { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    // Declarations against the dependencies' built `.d.ts` (built first: build depends on ^build),
    // not their source through the `@sched/source` condition, which re-checked every dependency's
    // source in every package and made the build several times slower.
    dts: { compilerOptions: { customConditions: [] } },
    sourcemap: true,
    clean: true,
    target: 'node20',
    external: ['ioredis'],
    ...(options.luaScripts
      ? {
          shims: true,
          onSuccess: async () => {
            cpSync('src/scripts', 'dist/scripts', { recursive: true });
          },
        }
      : {}),
    ...options.extra,
  });
}
