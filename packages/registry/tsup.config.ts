import { cpSync } from 'node:fs';
import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // import.meta.url in the CJS build, to find dist/scripts.
  shims: true,
  external: ['ioredis'],
  onSuccess: async () => {
    cpSync('src/scripts', 'dist/scripts', { recursive: true });
  },
});
