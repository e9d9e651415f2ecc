import { defineConfig } from 'vitest/config';

const conditions = ['@sched/source', 'module', 'node', 'development|production'];

// Multi-process scenarios: one file at a time, nothing beside them (DESIGN.md "Testing").
export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@sched/source'] } },
  test: {
    name: 'e2e',
    environment: 'node',
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
