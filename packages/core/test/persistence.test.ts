import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ErrorCode,
  FileStore,
  MemorySchedulerCache,
  MemorySnapshotRepository,
  Scheduler,
  type MisfirePolicy,
  type TaskCfg,
} from '../src/index.js';
import { FakeClock } from '../src/testing/index.js';
import { T0, memoryLogger, recorder } from './helpers.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'sched-data-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const rel = (t: number | undefined) => (t === undefined ? undefined : t - T0);

describe('FileStore (dataDir)', () => {
  it('keeps marks, catch-up lists and a growing fencing epoch across a reopen', async () => {
    const dir = tempDir();
    const clock = new FakeClock(T0);
    const first = new MemorySchedulerCache({ store: new FileStore({ dataDir: dir, clock }) });
    const { won } = await first.lockManager.claimDue(
      [
        { jobName: 'a', instant: T0 - 1_000 + 2_000 },
        { jobName: 'b', instant: T0 + 5_000 },
      ],
      { nodeId: 'n', leaseTtlMs: 1_000 },
    );
    await first.stateStore.saveCatchup({
      jobName: 'a',
      policy: 'delayed',
      instants: [1, 2, 3],
      droppedCount: 0,
      createdBy: 'n',
      createdAt: T0,
    });
    await first.stateStore.ackCatchup('a', 2);
    const lastToken = Math.max(...won.map((w) => w.fencingToken));
    (first.store as FileStore).close();

    const second = new MemorySchedulerCache({ store: new FileStore({ dataDir: dir, clock }) });
    expect(await second.stateStore.getMarks(['a', 'b', 'c'])).toEqual(
      new Map([
        ['a', T0 + 1_000],
        ['b', T0 + 5_000],
      ]),
    );
    expect((await second.stateStore.getCatchup('a'))?.instants).toEqual([1, 3]);
    // An instant at or before a kept mark is never won again, and tokens keep growing.
    const again = await second.lockManager.claimDue(
      [
        { jobName: 'a', instant: T0 + 1_000 },
        { jobName: 'c', instant: T0 + 1_000 },
      ],
      {
        nodeId: 'n',
        leaseTtlMs: 1_000,
      },
    );
    expect(again.won.map((w) => w.jobName)).toEqual(['c']);
    expect(again.won[0]?.fencingToken).toBeGreaterThan(lastToken);
    (second.store as FileStore).close();
  });

  it('appends each claim batch to its journal before answering, and a torn last line is ignored', async () => {
    const dir = tempDir();
    const clock = new FakeClock(T0);
    const store = new FileStore({ dataDir: dir, clock });
    const cache = new MemorySchedulerCache({ store });
    await cache.lockManager.claimDue([{ jobName: 'a', instant: T0 }], { nodeId: 'n', leaseTtlMs: 1_000 });
    const journal = readFileSync(join(dir, 'sched-state.log'), 'utf8');
    expect(journal).toBe(`${JSON.stringify({ m: [['a', T0]] })}\n`);
    store.close();
    expect(readFileSync(join(dir, 'sched-state.log'), 'utf8')).toBe(''); // folded into the snapshot
    // A crash mid-append: the journal ends with a torn line; what it held was never acted on.
    appendFileSync(join(dir, 'sched-state.log'), `${JSON.stringify({ m: [['a', T0 + 5_000]] })}\n{"m":[["a",99`);
    const reopened = new FileStore({ dataDir: dir, clock: new FakeClock(T0) });
    expect(reopened.marks.get('a')).toBe(T0 + 5_000);
    reopened.close();
  });

  it('refuses a second scheduler on the same directory, in this process or another live one', async () => {
    const dir = tempDir();
    const a = new Scheduler({ dataDir: dir, logger: memoryLogger() });
    expect(() => new Scheduler({ dataDir: dir, logger: memoryLogger() })).toThrow(/in use by another scheduler of this process/);
    await a.stop();
    writeFileSync(join(dir, 'sched.lock'), String(process.ppid));
    expect(() => new Scheduler({ dataDir: dir, logger: memoryLogger() })).toThrow(
      new RegExp(`in use by process ${process.ppid}`),
    );
    // A lock left by a process that is gone is taken over.
    writeFileSync(join(dir, 'sched.lock'), '2147483646');
    const b = new Scheduler({ dataDir: dir, logger: memoryLogger() });
    await b.stop();
  });

  it('a corrupt state file is a typed error naming the file; dataDir with a schedulerCache is refused', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'sched-state.json'), '{"format":"sched-state", oops');
    expect(() => new Scheduler({ dataDir: dir, logger: memoryLogger() })).toThrow(
      expect.objectContaining({
        code: ErrorCode.InvalidConfig,
        message: expect.stringContaining('sched-state.json: it is not JSON'),
      }),
    );
    writeFileSync(join(dir, 'sched-state.json'), JSON.stringify({ format: 'other' }));
    expect(() => new Scheduler({ dataDir: dir, logger: memoryLogger() })).toThrow(/is not a sched-state file/);
    expect(() => new Scheduler({ dataDir: tempDir(), schedulerCache: new MemorySchedulerCache() })).toThrow(
      expect.objectContaining({
        code: ErrorCode.InvalidConfig,
        message: expect.stringMatching(/dataDir: is for the embedded store/),
      }),
    );
  });
});

/** One process with a dataDir: runs a per-second job 3 s, stops, and a new one starts at T0 + 23.5 s. */
async function restartOnDataDir(policy: MisfirePolicy, extra: TaskCfg = {}) {
  const dir = tempDir();
  const clock = new FakeClock(T0);
  const snapshots = new MemorySnapshotRepository({ clock, maxPerJob: 1_000 });
  const { runs, job } = recorder(clock);
  const make = () => {
    const sched = new Scheduler({ clock, logger: memoryLogger(), dataDir: dir, snapshotRepository: snapshots });
    sched.registerJob(job('tick'), { cronSpec: '* * * * * *', misfirePolicy: policy, ...extra });
    return sched;
  };
  const first = make();
  await first.start();
  await clock.advance(3_000);
  await first.stop();
  clock.setTime(T0 + 23_500);
  const second = make();
  return { clock, second, runs, snapshots };
}

describe('misfire compensation on the embedded store with a dataDir', () => {
  it("previewMisfires shows what a start would do, before it does; 'delayed' then replays each instant once", async () => {
    const { clock, second, runs, snapshots } = await restartOnDataDir('delayed');
    const [preview] = await second.previewMisfires();
    expect(preview).toMatchObject({ jobName: 'tick', policy: 'delayed', missedCount: 15, recordedCount: 0, lateCount: 5 });
    expect(preview?.lastClaimedAt).toEqual(new Date(T0 + 3_000));
    expect(preview?.runs.map((r) => rel(r.scheduledAt.getTime()))).toEqual(
      Array.from({ length: 15 }, (_, i) => 4_000 + i * 1_000),
    );
    expect(runs).toHaveLength(3); // 1..3 s: the preview ran nothing
    await second.start();
    await clock.advance(2_000);
    const scheduled = runs.map((r) => rel(r.scheduledAt));
    expect(new Set(scheduled).size).toBe(scheduled.length);
    expect(scheduled.filter((t) => (t as number) >= 4_000 && (t as number) <= 18_000)).toHaveLength(15);
    const catchups = (await snapshots.list({ jobName: 'tick', limit: 1_000 })).items.filter((s) => s.kind === 'catch-up');
    expect(catchups).toHaveLength(15);
    await second.stop();
  });

  it("'skip' runs none of the missed instants and records each; 'immediate' runs once", async () => {
    const skip = await restartOnDataDir('skip');
    const [preview] = await skip.second.previewMisfires('tick');
    expect(preview).toMatchObject({ missedCount: 15, runs: [], recordedCount: 15 });
    await skip.second.start();
    await skip.clock.tick();
    expect(skip.runs.map((r) => rel(r.scheduledAt))).toEqual([1_000, 2_000, 3_000, 19_000, 20_000, 21_000, 22_000, 23_000]);
    expect((await skip.snapshots.list({ status: 'misfired', limit: 100 })).items).toHaveLength(15);
    await skip.second.stop();

    const once = await restartOnDataDir('immediate');
    const [p2] = await once.second.previewMisfires('tick');
    expect(p2?.runs).toEqual([{ scheduledAt: new Date(T0 + 19_000), kind: 'immediate' }]);
    await once.second.start();
    await once.clock.tick();
    expect(once.runs.map((r) => rel(r.scheduledAt))).toEqual([1_000, 2_000, 3_000, 19_000, 20_000, 21_000, 22_000, 23_000]);
    await once.second.stop();
  });

  it('a catch-up list left halfway by a stopped node is finished by the next one, each instant once', async () => {
    const clock = new FakeClock(T0);
    const cache = new MemorySchedulerCache({ clock });
    const { runs, job } = recorder(clock);
    const make = (nodeId: string) => {
      const sched = new Scheduler({ clock, logger: memoryLogger(), schedulerCache: cache, nodeId, catchupIntervalMs: 100 });
      sched.registerJob(job('tick'), { cronSpec: '* * * * * *', misfirePolicy: 'delayed' });
      return sched;
    };
    const a = make('a');
    await a.start();
    await clock.advance(3_000);
    await a.stop();
    clock.setTime(T0 + 23_500);
    const a2 = make('a');
    await a2.start();
    await clock.advance(250); // three replays: 4, 5 and 6 s
    await a2.stop({ timeoutMs: 0 });
    expect((await cache.stateStore.getCatchup('tick'))?.instants).toHaveLength(12);
    const b = make('b');
    expect((await b.previewMisfires())[0]?.resumedCatchup).toHaveLength(12);
    await b.start();
    await clock.advance(2_000);
    const replayed = runs.map((r) => rel(r.scheduledAt) as number).filter((t) => t >= 4_000 && t <= 18_000);
    expect(replayed.sort((x, y) => x - y)).toEqual(Array.from({ length: 15 }, (_, i) => 4_000 + i * 1_000));
    expect(await cache.stateStore.getCatchup('tick')).toBeNull();
    await b.stop();
  });
});
