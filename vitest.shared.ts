import { defineProject } from 'vitest/config';

// Workspace packages resolve to their TypeScript source through the
// `@sched/source` export condition, so tests never need a build first.
// Custom conditions replace Vite's defaults, so the defaults are listed too.
const conditions = ['@sched/source', 'module', 'node', 'development|production'];

export function packageProject(name: string, overrides: { testTimeout?: number; include?: string[] } = {}) {
  return defineProject({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ['@sched/source'] } },
    test: {
      name,
      globals: false,
      environment: 'node',
      include: overrides.include ?? ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: overrides.testTimeout ?? 20_000,
      hookTimeout: 60_000,
    },
  });
}
