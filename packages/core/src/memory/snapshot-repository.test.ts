import { describe, expect, it } from 'vitest';
import { MemorySnapshotRepository } from './snapshot-repository.js';
import type { ExecutionSnapshot } from '../model.js';

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

describe('MemorySnapshotRepository (what is its own; the rest is in the shared contract suite)', () => {
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

  it('rejects a maxPerJob that is not a positive integer', () => {
    expect(() => new MemorySnapshotRepository({ maxPerJob: 0 })).toThrow(/maxPerJob must be a positive integer/);
  });

  // Filters, pages, retention and statistics: the adapters' shared contract suite runs on this
  // repository too (packages/snapshots/test/contract.ts).

  it('offers its synchronous writes unless a subclass overrides record or update', async () => {
    const repo = new MemorySnapshotRepository();
    repo.recordNow?.(snap(1, { status: 'running' }));
    repo.updateNow?.('e0001', { status: 'completed' });
    expect(await repo.get('e0001')).toMatchObject({ status: 'completed' });

    const mirrored: string[] = [];
    class Mirrored extends MemorySnapshotRepository {
      override async record(s: ExecutionSnapshot): Promise<void> {
        mirrored.push(s.executionId);
        await super.record(s);
      }
    }
    const sub = new Mirrored();
    // The scheduler would bypass the override through them: a subclass gets the promise forms only.
    expect(sub.recordNow).toBeUndefined();
    expect(sub.updateNow).toBeUndefined();
    await sub.record(snap(2));
    expect(mirrored).toEqual(['e0002']);
  });
});
