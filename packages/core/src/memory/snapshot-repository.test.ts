import { describe, expect, it } from 'vitest';
import { MemorySnapshotRepository } from './snapshot-repository.js';
import { FakeClock } from '../testing/fake-clock.js';
import { ErrorCode } from '../errors.js';
import type { ExecutionSnapshot, ExecutionStatus } from '../model.js';

const T0 = Date.UTC(2025, 0, 1);

function snap(i: number, over: Partial<ExecutionSnapshot> = {}): ExecutionSnapshot {
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

describe('MemorySnapshotRepository', () => {
  it('lists newest first with cursor pagination over every filter', async () => {
    const repo = new MemorySnapshotRepository({ maxPerJob: 1_000 });
    for (let i = 1; i <= 25; i++) {
      await repo.record(snap(i, { status: i % 5 === 0 ? 'failed' : 'completed', nodeId: i % 2 ? 'n1' : 'n2' }));
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await repo.list({ jobName: 'job', limit: 10, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((s) => s.executionId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(25);
    expect(seen[0]).toBe('e0025');
    expect(seen.at(-1)).toBe('e0001');
    const failed = await repo.list({ status: 'failed' });
    expect(failed.items.map((s) => s.executionId)).toEqual(['e0025', 'e0020', 'e0015', 'e0010', 'e0005']);
    const window = await repo.list({ startTime: new Date(T0 + 10_000), endTime: T0 + 13_000, nodeId: 'n2' });
    expect(window.items.map((s) => s.executionId)).toEqual(['e0012', 'e0010']);
    const multi = await repo.list({ status: ['failed', 'timeout'] as ExecutionStatus[], limit: 2 });
    expect(multi.items).toHaveLength(2);
    expect(multi.nextCursor).toBeDefined();
  });

  it('update patches a recorded snapshot; get returns a copy', async () => {
    const repo = new MemorySnapshotRepository();
    await repo.record(snap(1, { status: 'running', finishedAt: undefined, durationMs: undefined }));
    await repo.update('e0001', { status: 'failed', finishedAt: T0 + 2_000, durationMs: 1_000, errorMessage: 'x' });
    const got = await repo.get('e0001');
    expect(got).toMatchObject({ status: 'failed', durationMs: 1_000, errorMessage: 'x' });
    got!.status = 'completed';
    expect((await repo.get('e0001'))?.status).toBe('failed');
    expect(await repo.get('nope')).toBeNull();
  });

  it('keeps maxPerJob per job and drops what is older than maxAgeMs', async () => {
    const clock = new FakeClock(T0 + 100_000);
    const repo = new MemorySnapshotRepository({ maxPerJob: 3, maxAgeMs: 50_000, clock });
    for (let i = 1; i <= 5; i++) await repo.record(snap(i));
    await repo.record(snap(90, { jobName: 'other', executionId: 'o1' }));
    expect((await repo.list({ jobName: 'job' })).items.map((s) => s.executionId)).toEqual([]);
    await repo.record(snap(60));
    expect((await repo.list({ jobName: 'job' })).items.map((s) => s.executionId)).toEqual(['e0060']);
    for (let i = 61; i <= 65; i++) await repo.record(snap(i));
    expect((await repo.list({ jobName: 'job' })).items.map((s) => s.executionId)).toEqual(['e0065', 'e0064', 'e0063']);
    expect((await repo.list({ jobName: 'other' })).items.map((s) => s.executionId)).toEqual(['o1']);
  });

  it('statistics count by the SPEC.md rules with percentile_cont durations', async () => {
    const repo = new MemorySnapshotRepository({ maxPerJob: 100 });
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
    const stats = await repo.getStatistics('job', T0, T0 + 100_000);
    expect(stats).toMatchObject({ totalCount: 8, successCount: 2, failureCount: 3, skippedCount: 1, timeoutCount: 1 });
    // Runs: 100, 200, 300, 400, 500, 800 (cancelled counts as a run's duration).
    expect(stats.avgDurationMs).toBeCloseTo(2300 / 6);
    expect(stats.p50DurationMs).toBe(350);
    expect(stats.p95DurationMs).toBeCloseTo(725);
    expect(stats.lastRunAt).toEqual(new Date(T0 + 8_000));
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
    const repo = new MemorySnapshotRepository();
    await expect(repo.list(filter as never)).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
      message: expect.stringMatching(message),
    });
  });
});
