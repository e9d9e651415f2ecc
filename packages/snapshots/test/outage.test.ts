import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { Scheduler, type Logger } from '@sched/core';
import { canRunPostgres, PostgresServer } from '@sched/testkit';
import { PostgresSnapshotRepository } from '../src/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

// A real PostgreSQL of this test's own (never the machine's shared one), stopped mid-run.
describe.skipIf(!canRunPostgres())('PostgreSQL down during a run', () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = await PostgresServer.start({ useDatabaseUrl: false });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('the scheduler keeps firing, logs it, and the buffered snapshots are stored once the server is back', async () => {
    const pool = new pg.Pool({ connectionString: server.url, max: 2, connectionTimeoutMillis: 1_000 });
    pool.on('error', () => {}); // idle clients cut by the server's stop; the repository reports the failures
    const repo = new PostgresSnapshotRepository(pool);
    await repo.init();
    const warnings: string[] = [];
    const logger: Logger = { debug() {}, info() {}, warn: (msg) => warnings.push(msg), error() {} };
    const sched = new Scheduler({ snapshotRepository: repo, logger });
    const runs: string[] = [];
    sched.registerJob({ name: 'tick', execute: (ctx) => void runs.push(ctx.executionId) }, { cronSpec: '* * * * * *' });
    await sched.start();
    try {
      await until(() => runs.length >= 2, 5_000, 'two runs with the store up');
      await server.stop();
      const downFrom = runs.length;
      await until(() => runs.length >= downFrom + 3, 6_000, 'three runs with the store down');
      expect(warnings).toContain('snapshot writes buffered while the store fails');
      await server.restart();
      // The writer retries with backoff (100 ms doubling, capped): give it a generous 15 s.
      await until(
        async () => {
          const page = await repo.list({ jobName: 'tick', limit: 1_000 }).catch(() => ({ items: [] }));
          const stored = new Set(page.items.filter((s) => s.status === 'completed').map((s) => s.executionId));
          return runs.slice(0, downFrom + 3).every((id) => stored.has(id));
        },
        15_000,
        'the buffered snapshots in PostgreSQL',
      );
    } finally {
      await sched.stop();
      await pool.end();
    }
  });
});
