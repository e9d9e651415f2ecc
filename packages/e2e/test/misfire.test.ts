import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { SnapshotRepository } from '@sched/core';
import { RedisConnection } from '@sched/cluster';
import { EmbeddedSnapshotRepository, RedisSnapshotRepository } from '@sched/snapshots';
import { RedisServer, canRunRedis } from '@sched/testkit';
import { Scenario, sleep, until, type LedgerLine } from './harness.js';

// job-0 'delayed', job-1 'immediate', job-2 'skip'; every second; threshold 1 s so an outage is mostly misfires.
const policies = { misfirePolicies: ['delayed', 'immediate', 'skip'] as const, misfireThresholdMs: 1_000, catchupIntervalMs: 50 };

/** Sleeps until the wall clock is `offsetMs` into a second (kills and stops land between instants). */
async function midSecond(offsetMs = 500): Promise<void> {
  await sleep((offsetMs - (Date.now() % 1000) + 1000) % 1000);
}

const byJob = (starts: LedgerLine[], job: string) => starts.filter((l) => l.job === job);
const misfireEvents = (lines: LedgerLine[], job: string) => lines.filter((l) => l.ev === 'misfire' && l.job === job);

/** The instants job-0 ('delayed') started, in order. */
const delayedInstants = (lines: LedgerLine[]) =>
  byJob(
    lines.filter((l) => l.ev === 'start'),
    'job-0',
  )
    .map((l) => l.scheduledAt as number)
    .sort((a, b) => a - b);

/**
 * Whether job-0's misfire was seen and its paced replays have all started:
 * no instant is missing between its first and last start. A stop before that
 * would cut the replay short, which is not what the test is about.
 */
function replaysDone(lines: LedgerLine[]): boolean {
  if (misfireEvents(lines, 'job-0').length === 0) return false;
  const instants = delayedInstants(lines);
  return instants.every((t, i) => i === 0 || t - (instants[i - 1] as number) === 1_000);
}

/**
 * The outcome the three policies must show around one outage, read from the
 * ledger (and the history): `before` are starts scheduled before the outage.
 */
async function expectPolicies(lines: LedgerLine[], outageFrom: number, history: SnapshotRepository) {
  const starts = lines.filter((l) => l.ev === 'start');
  // No fire ran twice, under any policy.
  const ids = starts.map((l) => `${l.fireId}#${l.attempt}`);
  expect(new Set(ids).size).toBe(ids.length);

  // 'delayed': every instant from the first to the last ran exactly once, the missed ones replayed.
  const delayed = delayedInstants(lines);
  const first = Math.min(...delayed);
  const last = Math.max(...delayed);
  expect(delayed).toEqual(Array.from({ length: (last - first) / 1000 + 1 }, (_, i) => first + i * 1000));
  const [delayedMisfire] = misfireEvents(lines, 'job-0');
  expect(delayedMisfire?.count).toBeGreaterThanOrEqual(3);
  const catchups = (await history.list({ jobName: 'job-0', limit: 1_000 })).items.filter((s) => s.kind === 'catch-up');
  expect(catchups.length).toBe(delayedMisfire?.count);

  // 'immediate': one run stands for the missed instants; none of them ran on its own.
  const immediate = byJob(starts, 'job-1');
  const [immediateMisfire] = misfireEvents(lines, 'job-1');
  const compensating = immediate.filter((l) => l.missedCount !== undefined);
  expect(compensating).toHaveLength(1);
  expect(compensating[0]?.missedCount).toBe(immediateMisfire?.count);
  const missedImmediate = await history.list({ jobName: 'job-1', status: 'misfired', limit: 1_000 });
  const missedAt = new Set(missedImmediate.items.map((s) => s.scheduledAt));
  expect(missedAt.size).toBeGreaterThanOrEqual(3);
  expect(immediate.filter((l) => missedAt.has(l.scheduledAt))).toEqual([]);

  // 'skip': nothing of the outage ran; each missed instant is a misfired snapshot.
  const skip = byJob(starts, 'job-2');
  const [skipMisfire] = misfireEvents(lines, 'job-2');
  const missedSkip = await history.list({ jobName: 'job-2', status: 'misfired', limit: 1_000 });
  expect(missedSkip.items).toHaveLength(skipMisfire?.count as number);
  expect(skipMisfire?.count).toBeGreaterThanOrEqual(3);
  const skipped = new Set(missedSkip.items.map((s) => s.scheduledAt));
  expect(skip.filter((l) => skipped.has(l.scheduledAt))).toEqual([]);
  expect([...skipped].every((t) => (t as number) > outageFrom)).toBe(true);
}

describe('misfire compensation across a restart, real processes', () => {
  let scenario: Scenario | undefined;
  afterEach(async () => {
    await scenario?.stopAll();
    scenario = undefined;
  });

  it('embedded with a dataDir: killed -9, restarted instants later; history kept, each policy as documented', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sched-embedded-e2e-'));
    try {
      const s = (scenario = new Scenario({ jobs: 3, dataDir, ...policies }));
      await s.start('solo');
      await until(() => byJob(s.starts(), 'job-0').length >= 3, 10_000, 'three runs before the kill');
      await midSecond();
      s.signal('solo', 'SIGKILL');
      const killedAt = Date.now();
      const before = s.starts();
      await sleep(4_000);
      await s.start('solo');
      await until(
        () => s.starts().filter((l) => l.wall > killedAt + 4_000).length >= 9,
        15_000,
        'three instants after the restart',
      );
      await until(() => replaysDone(s.read()), 10_000, "job-0's replays");
      await s.stopAll();
      const history = await EmbeddedSnapshotRepository.open({ dataDir: join(dataDir, 'history') });
      try {
        // The history written before the kill survived it.
        const kept = new Set((await history.list({ limit: 1_000 })).items.map((x) => x.fireId));
        const ranBefore = before.filter((l) => (l.scheduledAt as number) < killedAt - 1_000).map((l) => l.fireId);
        expect(ranBefore.length).toBeGreaterThanOrEqual(6);
        expect(ranBefore.filter((id) => !kept.has(id))).toEqual([]);
        await expectPolicies(s.read(), killedAt, history);
      } finally {
        await history.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  describe.skipIf(!canRunRedis())('3 nodes on Redis', () => {
    let server: RedisServer;
    let admin: Redis;
    beforeAll(async () => {
      server = await RedisServer.start();
      admin = new Redis(server.url);
    });
    afterAll(async () => {
      admin?.disconnect();
      await server?.dispose();
    });

    it('all stopped for 10 s, restarted together: each policy compensates once in the cluster, and the snapshots say so', async () => {
      const s = (scenario = new Scenario({
        redis: { url: server.url },
        keyPrefix: 'outage',
        jobs: 3,
        snapshots: 'redis',
        ...policies,
      }));
      await Promise.all(['a', 'b', 'c'].map((id) => s.start(id)));
      await until(() => byJob(s.starts(), 'job-0').length >= 3, 10_000, 'three runs before the outage');
      await midSecond();
      await Promise.all(['a', 'b', 'c'].map((id) => s.stop(id)));
      const stoppedAt = Date.now();
      await sleep(10_000);
      await Promise.all(['a', 'b', 'c'].map((id) => s.start(id)));
      const back = Date.now();
      await until(() => s.starts().filter((l) => l.wall > back).length >= 9, 15_000, 'three instants after the restart');
      await until(() => replaysDone(s.read()), 10_000, "job-0's replays");
      await s.stopAll();
      const history = new RedisSnapshotRepository(new RedisConnection(admin, { keyPrefix: 'outage' }));
      await expectPolicies(s.read(), stoppedAt, history);
      const [delayed] = misfireEvents(s.read(), 'job-0');
      // 10 s down plus the restart, less the 1 s threshold: about 10 missed instants.
      expect(delayed?.count).toBeGreaterThanOrEqual(9);
    });
  });
});
