import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, type ExecutionSnapshot, type ExecutionStatus, type SnapshotRepository } from '@sched/core';
import { FakeClock } from '@sched/core/testing';

export const T0 = Date.UTC(2026, 0, 1);

export function snap(i: number, over: Partial<ExecutionSnapshot> = {}): ExecutionSnapshot {
  return {
    executionId: `e${String(i).padStart(4, '0')}`,
    jobName: 'job',
    fireId: `job@${T0 + i * 1_000}`,
    scheduledAt: T0 + i * 1_000,
    startedAt: T0 + i * 1_000,
    finishedAt: T0 + i * 1_000 + 10 * i,
    durationMs: 10 * i,
    status: 'completed',
    nodeId: 'n1',
    attempt: 1,
    kind: 'cron',
    ...over,
  };
}

export interface ContractRepo {
  repo: SnapshotRepository;
  close?: () => Promise<void>;
}

/** Builds a fresh, empty repository (its own table or key prefix) with this retention and clock. */
export type MakeRepo = (options: { maxPerJob: number; maxAgeMs: number; clock: FakeClock }) => Promise<ContractRepo>;

const ids = (page: { items: ExecutionSnapshot[] }) => page.items.map((s) => s.executionId);

/**
 * The behaviour every SnapshotRepository adapter must have: memory, Redis,
 * Redis Cluster, PostgreSQL and the embedded store run this same suite.
 */
export function snapshotContract(name: string, make: MakeRepo): void {
  describe(`SnapshotRepository contract: ${name}`, () => {
    const open: ContractRepo[] = [];
    const fresh = async (options: Partial<{ maxPerJob: number; maxAgeMs: number; clock: FakeClock }> = {}) => {
      const made = await make({
        maxPerJob: options.maxPerJob ?? 1_000,
        maxAgeMs: options.maxAgeMs ?? 365 * 24 * 3_600_000,
        clock: options.clock ?? new FakeClock(T0 + 200_000),
      });
      open.push(made);
      return made.repo;
    };
    afterEach(async () => {
      for (const made of open.splice(0)) await made.close?.();
    });

    it('lists newest first with cursor pagination over every filter', async () => {
      const repo = await fresh();
      await Promise.all(
        Array.from({ length: 25 }, (_, k) => {
          const i = k + 1;
          return repo.record(snap(i, { status: i % 5 === 0 ? 'failed' : 'completed', nodeId: i % 2 ? 'n1' : 'n2' }));
        }),
      );
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await repo.list({ jobName: 'job', limit: 10, ...(cursor ? { cursor } : {}) });
        expect(page.items.length).toBeLessThanOrEqual(10);
        seen.push(...ids(page));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toEqual(Array.from({ length: 25 }, (_, k) => `e${String(25 - k).padStart(4, '0')}`));
      expect(ids(await repo.list({ status: 'failed' }))).toEqual(['e0025', 'e0020', 'e0015', 'e0010', 'e0005']);
      expect(ids(await repo.list({ startTime: new Date(T0 + 10_000), endTime: T0 + 13_000, nodeId: 'n2' }))).toEqual([
        'e0012',
        'e0010',
      ]);
      const multi = await repo.list({ status: ['failed', 'timeout'] as ExecutionStatus[], limit: 2 });
      expect(ids(multi)).toEqual(['e0025', 'e0020']);
      expect(multi.nextCursor).toBeDefined();
      const rest = await repo.list({ status: ['failed', 'timeout'] as ExecutionStatus[], limit: 2, cursor: multi.nextCursor });
      expect(ids(rest)).toEqual(['e0015', 'e0010']);
      expect((await repo.list({ jobName: 'nobody' })).items).toEqual([]);
    });

    it('merges jobs newest first, ties broken by executionId, and pages through them', async () => {
      const repo = await fresh();
      const at = T0 + 50_000;
      for (const [k, job] of ['a', 'b', 'c', 'd', 'e', 'f'].entries()) {
        await repo.record(snap(100 + k, { jobName: job, startedAt: at, executionId: `x-${job}` }));
        await repo.record(snap(200 + k, { jobName: job, startedAt: at + k * 10, executionId: `y-${job}` }));
      }
      const all: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await repo.list({ limit: 4, ...(cursor ? { cursor } : {}) });
        all.push(...ids(page));
        cursor = page.nextCursor;
      } while (cursor);
      expect(all).toEqual(['y-f', 'y-e', 'y-d', 'y-c', 'y-b', 'y-a', 'x-f', 'x-e', 'x-d', 'x-c', 'x-b', 'x-a']);
    });

    it('update patches a recorded snapshot; get returns it whole; unknown ids are a no-op', async () => {
      const repo = await fresh();
      await repo.record(snap(1, { status: 'running', finishedAt: undefined, durationMs: undefined }));
      expect(await repo.get('e0001')).toMatchObject({ status: 'running', finishedAt: undefined, durationMs: undefined });
      await repo.update('e0001', {
        status: 'failed',
        finishedAt: T0 + 2_000,
        durationMs: 1_000,
        errorMessage: 'boom',
        errorStack: 'Error: boom\n    at job',
      });
      const got = await repo.get('e0001');
      expect(got).toEqual({
        ...snap(1),
        status: 'failed',
        finishedAt: T0 + 2_000,
        durationMs: 1_000,
        errorMessage: 'boom',
        errorStack: 'Error: boom\n    at job',
      });
      await expect(repo.update('missing', { status: 'completed' })).resolves.toBeUndefined();
      expect(await repo.get('missing')).toBeNull();
    });

    it('keeps every field, and a second record of the same execution replaces the first', async () => {
      const repo = await fresh();
      const full = snap(7, {
        status: 'skipped',
        skipReason: 'overlap',
        shardIndex: 2,
        shardTotal: 4,
        kind: 'catch-up',
        misfirePolicy: 'delayed',
        missedCount: 3,
        attempt: 2,
        scheduledAt: undefined,
      });
      await repo.record(full);
      expect(await repo.get(full.executionId)).toEqual(full);
      await repo.record({ ...full, status: 'misfired', skipReason: undefined });
      const again = await repo.get(full.executionId);
      expect(again?.status).toBe('misfired');
      expect(again?.skipReason).toBeUndefined();
      expect(ids(await repo.list({ jobName: 'job' }))).toEqual([full.executionId]);
    });

    it('keeps a shard run item counts and a sharded fire shard results (record and update)', async () => {
      const repo = await fresh();
      const shard = snap(8, { shardIndex: 1, shardTotal: 3, itemsTotal: 10, itemsDone: 9, itemsFailed: 1, status: 'failed' });
      await repo.record(shard);
      expect(await repo.get(shard.executionId)).toEqual(shard);
      const parent = snap(9, { shardTotal: 3, status: 'running', finishedAt: undefined, durationMs: undefined });
      await repo.record(parent);
      const shards = [
        {
          shardIndex: 0,
          status: 'completed' as const,
          nodeId: 'n1',
          executionId: 'x0',
          attempt: 1,
          durationMs: 5,
          itemsTotal: 4,
          itemsDone: 4,
          itemsFailed: 0,
        },
        { shardIndex: 1, status: 'failed' as const, nodeId: 'n2', attempt: 2, itemsTotal: 10, itemsDone: 9, itemsFailed: 1 },
        { shardIndex: 2, status: 'abandoned' as const },
      ];
      const end = {
        status: 'failed' as const,
        finishedAt: T0 + 3_000,
        durationMs: 2_000,
        itemsTotal: 14,
        itemsDone: 13,
        itemsFailed: 1,
        shards,
      };
      await repo.update(parent.executionId, end);
      expect(await repo.get(parent.executionId)).toEqual({ ...parent, ...end });
    });

    it('takes a burst of writes from one turn of the event loop, all of them stored', async () => {
      const repo = await fresh();
      const n = 1_200;
      await Promise.all(
        Array.from({ length: n }, (_, i) =>
          repo.record(snap(i, { jobName: `j${i % 7}`, executionId: `b${String(i).padStart(5, '0')}` })),
        ),
      );
      await Promise.all(Array.from({ length: n }, (_, i) => repo.update(`b${String(i).padStart(5, '0')}`, { status: 'failed' })));
      let count = 0;
      let cursor: string | undefined;
      do {
        const page = await repo.list({ status: 'failed', limit: 1_000, ...(cursor ? { cursor } : {}) });
        count += page.items.length;
        cursor = page.nextCursor;
      } while (cursor);
      expect(count).toBe(n);
    });

    it('keeps maxPerJob per job and drops what started before maxAgeMs', async () => {
      const clock = new FakeClock(T0 + 100_000);
      const repo = await fresh({ maxPerJob: 3, maxAgeMs: 50_000, clock });
      for (let i = 1; i <= 5; i++) await repo.record(snap(i));
      await repo.record(snap(90, { jobName: 'other', executionId: 'o1' }));
      expect(ids(await repo.list({ jobName: 'job' }))).toEqual([]);
      expect(await repo.get('e0001')).toBeNull();
      await repo.record(snap(60));
      expect(ids(await repo.list({ jobName: 'job' }))).toEqual(['e0060']);
      for (let i = 61; i <= 65; i++) await repo.record(snap(i));
      expect(ids(await repo.list({ jobName: 'job' }))).toEqual(['e0065', 'e0064', 'e0063']);
      expect(ids(await repo.list())).toEqual(['o1', 'e0065', 'e0064', 'e0063']);
      expect(ids(await repo.list({ jobName: 'other' }))).toEqual(['o1']);
      expect((await repo.getStatistics('job', T0, T0 + 1_000_000)).totalCount).toBe(3);
    });

    it('statistics count by the SPEC.md rules with percentile_cont durations, over [start, end)', async () => {
      const repo = await fresh();
      const statuses: ExecutionStatus[] = [
        'completed',
        'completed',
        'failed',
        'timeout',
        'abandoned',
        'skipped',
        'misfired',
        'cancelled',
      ];
      for (const [i, status] of statuses.entries()) {
        await repo.record(snap(i + 1, { status, durationMs: status === 'skipped' || status === 'misfired' ? 0 : (i + 1) * 100 }));
      }
      await repo.record(snap(9, { jobName: 'other' }));
      const stats = await repo.getStatistics('job', T0, T0 + 100_000);
      expect(stats).toMatchObject({ totalCount: 8, successCount: 2, failureCount: 3, skippedCount: 1, timeoutCount: 1 });
      // Runs: 100, 200, 300, 400, 500, 800 (a cancelled run has a duration).
      expect(stats.avgDurationMs).toBeCloseTo(2300 / 6);
      expect(stats.p50DurationMs).toBeCloseTo(350);
      expect(stats.p95DurationMs).toBeCloseTo(725);
      expect(stats.lastRunAt).toEqual(new Date(T0 + 8_000));
      // The end is exclusive: the 8th run started at T0 + 8 s.
      expect((await repo.getStatistics('job', T0, T0 + 8_000)).totalCount).toBe(7);
      const empty = await repo.getStatistics('none', T0, T0 + 1);
      expect(empty).toMatchObject({ totalCount: 0, avgDurationMs: 0, p50DurationMs: 0, lastRunAt: undefined });
    });

    it.each([
      [{ startTime: T0 + 10, endTime: T0 }, /startTime .* is after endTime/],
      [{ status: 'exploded' }, /unknown status "exploded"/],
      [{ limit: -1 }, /limit must be an integer from 1 to 1000/],
      [{ limit: 5_000 }, /limit must be an integer/],
      [{ cursor: 'garbage' }, /cursor "garbage" is not one this repository returned/],
      [{ startTime: Number.NaN }, /startTime must be a Date or epoch ms/],
    ])('rejects the filter %j with a typed error', async (filter, message) => {
      const repo = await fresh();
      await expect(repo.list(filter as never)).rejects.toMatchObject({
        code: ErrorCode.InvalidArgument,
        message: expect.stringMatching(message),
      });
    });

    it('rejects statistics over a window that ends before it starts', async () => {
      const repo = await fresh();
      await expect(repo.getStatistics('job', T0 + 1, T0)).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
    });
  });
}
