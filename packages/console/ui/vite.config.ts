import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The web UI, bundled into dist/ui at build time (no CDN: the console works offline).
// Relative asset URLs (`base: './'`) let the handler serve it under any basePath.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 200,
  },
  logLevel: 'warn',
});
