import { defineConfig } from 'vitest/config';

// One root run over every package: vitest 4 reads `test.projects` (it silently
// ignores a vitest.workspace.ts file).
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'apps/*/vitest.config.ts'],
  },
});
