import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, Redis } from 'ioredis';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { ErrorCode, MemorySnapshotRepository } from '@sched/core';
import { FakeClock } from '@sched/core/testing';
import { RedisConnection } from '@sched/redis';
import {
  canRunPostgres,
  canRunRedis,
  PostgresServer,
  RedisServer,
  startRedisCluster,
  type RedisClusterInfo,
} from '@sched/testkit';
import {
  EmbeddedSnapshotRepository,
  PostgresSnapshotRepository,
  RedisSnapshotRepository,
  SCHEMA_VERSION,
  SqlSnapshotRepository,
} from '../src/index.js';
import { snap, snapshotContract, T0 } from './contract.js';

snapshotContract('memory (core)', async (o) => ({ repo: new MemorySnapshotRepository(o) }));

describe.skipIf(!canRunRedis())('on Redis', () => {
  let server: RedisServer;
  let client: Redis;
  let cluster: RedisClusterInfo;
  let clusterClient: Cluster;
  let prefixes = 0;
  beforeAll(async () => {
    server = await RedisServer.start();
    client = new Redis(server.url);
    cluster = await startRedisCluster();
    clusterClient = new Cluster(cluster.nodes);
  });
  afterAll(async () => {
    client?.disconnect();
    clusterClient?.disconnect();
    await server?.dispose();
    await cluster?.stop();
  });
  snapshotContract('one redis-server', async (o) => ({
    repo: new RedisSnapshotRepository(new RedisConnection(client, { keyPrefix: `s${++prefixes}` }), o),
  }));
  snapshotContract('Redis Cluster (16 buckets over 3 masters)', async (o) => ({
    repo: new RedisSnapshotRepository(new RedisConnection(clusterClient, { keyPrefix: `c${++prefixes}` }), o),
  }));

  it('fails with StoreUnavailableError while Redis is down, and works again after', async () => {
    const own = await RedisServer.start();
    const c = new Redis(own.url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    c.on('error', () => {});
    try {
      const repo = new RedisSnapshotRepository(new RedisConnection(c, { keyPrefix: 'down', commandTimeoutMs: 500 }));
      await repo.record(snap(1, { startedAt: Date.now() }));
      await own.stop();
      await expect(repo.record(snap(2, { startedAt: Date.now() }))).rejects.toMatchObject({ code: ErrorCode.StoreUnavailable });
      await own.restart();
      await repo.record(snap(3, { startedAt: Date.now() }));
      expect((await repo.list()).items.map((s) => s.executionId)).toEqual(['e0003']);
    } finally {
      c.disconnect();
      await own.dispose();
    }
  });
});

describe.skipIf(!canRunPostgres())('on PostgreSQL', () => {
  let server: PostgresServer;
  let pool: pg.Pool;
  let tables = 0;
  beforeAll(async () => {
    server = await PostgresServer.start();
    pool = new pg.Pool({ connectionString: server.url, max: 4 });
  });
  afterAll(async () => {
    await pool?.end();
    await server?.dispose();
  });
  snapshotContract('PostgreSQL (pg)', async (o) => ({
    repo: new PostgresSnapshotRepository(pool, { ...o, table: `snap_${process.pid}_${++tables}`, pruneIntervalMs: 0 }),
  }));

  it('creates the table and indexes once, also when nodes start together, and queries by index', async () => {
    const table = `mig_${process.pid}`;
    await Promise.all(Array.from({ length: 4 }, () => new PostgresSnapshotRepository(pool, { table }).init()));
    const { rows } = await pool.query(`SELECT version FROM ${table}_migrations`);
    expect(rows).toEqual([{ version: 1 }, { version: 2 }]);
    expect(SCHEMA_VERSION).toBe(2);
    const idx = await pool.query(`SELECT indexname FROM pg_indexes WHERE tablename = $1 ORDER BY 1`, [table]);
    expect(idx.rows.map((r: { indexname: string }) => r.indexname)).toEqual([
      `${table}_job_started`,
      `${table}_node_started`,
      `${table}_pkey`,
      `${table}_started`,
      `${table}_status_started`,
    ]);
  });

  it('upgrades a version-1 table in place: its rows are kept, the sharding columns added', async () => {
    const table = `up_${process.pid}`;
    const repo = new PostgresSnapshotRepository(pool, { table });
    await repo.init();
    // Back to what version 1 created, with a row in it.
    await pool.query(
      `ALTER TABLE ${table} DROP COLUMN items_total, DROP COLUMN items_done, DROP COLUMN items_failed, DROP COLUMN shards`,
    );
    await pool.query(`DELETE FROM ${table}_migrations WHERE version = 2`);
    await pool.query(
      `INSERT INTO ${table} (execution_id, job_name, fire_id, started_at, status, node_id, attempt, kind)
       VALUES ('old', 'j', 'j@1', $1, 'completed', 'n', 1, 'cron')`,
      [Date.now()],
    );
    const upgraded = new PostgresSnapshotRepository(pool, { table });
    await upgraded.init();
    expect((await pool.query(`SELECT version FROM ${table}_migrations ORDER BY 1`)).rows).toEqual([
      { version: 1 },
      { version: 2 },
    ]);
    expect(await upgraded.get('old')).toMatchObject({ executionId: 'old', status: 'completed' });
    await upgraded.update('old', { itemsTotal: 3, shards: [{ shardIndex: 0, status: 'completed' }] });
    expect(await upgraded.get('old')).toMatchObject({ itemsTotal: 3, shards: [{ shardIndex: 0, status: 'completed' }] });
  });

  it('rejects a table name that is not a plain identifier', () => {
    expect(() => new PostgresSnapshotRepository(pool, { table: 'x; drop table y' })).toThrow(/lower-case identifier/);
  });
});

describe('embedded (PGlite)', () => {
  // One in-memory PGlite for the suite (creating one takes seconds), a table per test.
  let shared: Promise<PGlite> | undefined;
  let tables = 0;
  afterAll(async () => {
    await (await shared)?.close();
  });
  snapshotContract('embedded (PGlite, the same SQL)', async (o) => {
    shared ??= PGlite.create();
    return { repo: new SqlSnapshotRepository(await shared, { ...o, table: `t${++tables}`, pruneIntervalMs: 0 }) };
  });

  it('keeps its history in dataDir across a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sched-embedded-'));
    try {
      const clock = new FakeClock(T0 + 100_000);
      const first = await EmbeddedSnapshotRepository.open({ dataDir: dir, clock });
      await Promise.all([1, 2, 3].map((i) => first.record(snap(i))));
      await first.update('e0002', { status: 'failed', errorMessage: 'x' });
      await first.close();
      const second = await EmbeddedSnapshotRepository.open({ dataDir: dir, clock });
      expect((await second.list()).items.map((s) => [s.executionId, s.status])).toEqual([
        ['e0003', 'completed'],
        ['e0002', 'failed'],
        ['e0001', 'completed'],
      ]);
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a failed write rejects with StoreUnavailableError and leaves the repository usable', async () => {
    const db = await PGlite.create();
    const repo = new SqlSnapshotRepository(db, { table: 'w', clock: new FakeClock(T0 + 10_000) });
    await repo.init();
    await db.exec('ALTER TABLE w ADD CONSTRAINT no_x CHECK (job_name <> $$x$$)');
    await expect(repo.record(snap(1, { jobName: 'x' }))).rejects.toMatchObject({ code: ErrorCode.StoreUnavailable });
    await repo.record(snap(2));
    expect((await repo.list()).items.map((s) => s.executionId)).toEqual(['e0002']);
    await db.close();
  });
});
