import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisConnection, RedisStateStore } from '@sched/cluster';
import { canRunRedis } from '@sched/testkit';
import { redisScenarios, sleep, until, type LedgerLine, type Scenario } from './harness.js';

// The seed's graph: A → B, A → D, B → C, and C also depends on A. A fires every 5 s.
const SEED = {
  A: { durationMs: 400 },
  B: { dependencies: ['A'], durationMs: 600 },
  D: { dependencies: ['A'], durationMs: 600 },
  C: { dependencies: ['B', 'A'], durationMs: 200 },
};

const lines = (s: Scenario, job: string, ev: LedgerLine['ev'], instant: number) =>
  s.read().filter((l) => l.job === job && l.ev === ev && l.scheduledAt === instant);

/** One instant of the seed graph: each job once, A first, B and D overlapping after A, C after B. */
function expectSeedOrder(s: Scenario, instant: number) {
  const one = (job: string, ev: LedgerLine['ev']) => {
    const found = lines(s, job, ev, instant);
    expect(found, `${job} ${ev} at ${new Date(instant).toISOString()}`).toHaveLength(1);
    return (found[0] as LedgerLine).wall;
  };
  expect(one('B', 'start')).toBeGreaterThanOrEqual(one('A', 'end'));
  expect(one('D', 'start')).toBeGreaterThanOrEqual(one('A', 'end'));
  expect(one('B', 'start')).toBeLessThan(one('D', 'end'));
  expect(one('D', 'start')).toBeLessThan(one('B', 'end'));
  expect(one('C', 'start')).toBeGreaterThanOrEqual(one('B', 'end'));
}

describe.skipIf(!canRunRedis())('DAG runs across node processes on Redis', () => {
  const suite = redisScenarios('dag');
  const make = () =>
    suite.scenario({
      jobs: 0,
      cronSpec: '*/5 * * * * *',
      dag: SEED,
    });

  it('the seed graph on 1 node and on 3: A, then B and D together, then C, once each per instant', async () => {
    const s = make();
    await s.start('a');
    await until(() => s.read().some((l) => l.job === 'C' && l.ev === 'end'), 12_000, 'a whole run on one node');
    const first = s.read().find((l) => l.job === 'A' && l.ev === 'start')?.scheduledAt as number;
    expectSeedOrder(s, first);
    await Promise.all(['b', 'c'].map((id) => s.start(id)));
    const since = Date.now();
    await until(
      () => s.read().filter((l) => l.job === 'C' && l.ev === 'end' && (l.scheduledAt as number) > since).length >= 2,
      15_000,
      'two whole runs on three nodes',
    );
    const instants = [
      ...new Set(
        s
          .read()
          .filter((l) => l.job === 'C' && l.ev === 'end')
          .map((l) => l.scheduledAt as number),
      ),
    ];
    for (const t of instants) expectSeedOrder(s, t);
    const later = s.read().filter((l) => l.ev === 'start' && (l.scheduledAt as number) > since);
    expect(new Set(later.map((l) => l.node)).size).toBeGreaterThan(1);
  });

  it.each([11, 29])(
    'a random 200-job DAG (seed %i) on 3 nodes: every job after all of its dependencies, once per instant',
    async (seed) => {
      // Job i depends on up to three earlier jobs: acyclic by construction; j0 is the root.
      let x = seed;
      const rand = () => (x = (x * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
      const dag: Record<string, { dependencies?: string[]; durationMs: number }> = { j0: { durationMs: 20 } };
      for (let i = 1; i < 200; i++) {
        const deps = [...new Set(Array.from({ length: 1 + Math.floor(rand() * 3) }, () => `j${Math.floor(rand() * i)}`))];
        dag[`j${i}`] = { dependencies: deps, durationMs: Math.floor(rand() * 30) };
      }
      const s = suite.scenario({ jobs: 0, cronSpec: '*/5 * * * * *', dag, maxConcurrency: 50 });
      await Promise.all(['a', 'b', 'c'].map((id) => s.start(id)));
      const ended = () => [
        ...new Set(
          s
            .read()
            .filter((l) => l.ev === 'end')
            .map((l) => l.scheduledAt as number),
        ),
      ];
      // Two whole runs: every job of the instant ended (bound: 2 instants 5 s apart plus the runs).
      const wholeRuns = () => {
        const ends = new Map<number, Set<string>>();
        for (const l of s.read())
          if (l.ev === 'end') ends.set(l.scheduledAt as number, (ends.get(l.scheduledAt as number) ?? new Set()).add(l.job));
        return [...ends.values()].filter((jobs) => jobs.size === Object.keys(dag).length).length;
      };
      await until(() => wholeRuns() >= 2, 20_000, 'two whole runs of the random DAG');
      await s.stopAll();
      const byKey = new Map<string, LedgerLine[]>();
      for (const l of s.read()) {
        const key = `${l.job}|${l.ev}|${l.scheduledAt}`;
        byKey.set(key, [...(byKey.get(key) ?? []), l]);
      }
      const get = (job: string, ev: string, t: number) => byKey.get(`${job}|${ev}|${t}`) ?? [];
      const complete = ended().filter((t) => Object.keys(dag).every((job) => get(job, 'end', t).length > 0));
      expect(complete.length).toBeGreaterThanOrEqual(2);
      for (const t of complete) {
        for (const [job, spec] of Object.entries(dag)) {
          const starts = get(job, 'start', t);
          expect(starts, `${job} once`).toHaveLength(1);
          for (const dep of spec.dependencies ?? []) {
            expect((starts[0] as LedgerLine).wall).toBeGreaterThanOrEqual((get(dep, 'end', t)[0] as LedgerLine).wall);
          }
        }
      }
      expect(new Set(s.read().map((l) => l.node)).size).toBe(3);
    },
  );

  it('the node running A is killed -9 right after A completes: B and D still run, once each, on the others', async () => {
    const s = make();
    await Promise.all(['a', 'b', 'c'].map((id) => s.start(id)));
    // Wait for an A to start, then kill its node the moment A's end is in the ledger.
    await until(() => s.read().some((l) => l.job === 'A' && l.ev === 'start'), 12_000, 'A to start');
    const aStart = s.read().find((l) => l.job === 'A' && l.ev === 'start') as LedgerLine;
    await until(() => lines(s, 'A', 'end', aStart.scheduledAt as number).length === 1, 5_000, 'A to end');
    // The job wrote its end before its node recorded it: kill only once A's record says done. (A node
    // killed in between leaves A running, then abandoned, and its dependents rightly never run.)
    const admin = new Redis(suite.url(), { maxRetriesPerRequest: 1 });
    try {
      const state = new RedisStateStore(new RedisConnection(admin, { keyPrefix: s.base.keyPrefix ?? 'e2e' }));
      await until(async () => (await state.getFireRecord(aStart.fireId))?.state === 'done', 5_000, "A's record done");
    } finally {
      admin.disconnect();
    }
    s.signal(aStart.node, 'SIGKILL');
    const instant = aStart.scheduledAt as number;
    // The bound: the others' sweep (250 ms) + the release grace (500 ms) + a dependent's lease (1.5 s), with margin.
    await until(() => lines(s, 'C', 'end', instant).length === 1, 10_000, 'B, D and C of that run on the other nodes');
    for (const job of ['B', 'D', 'C']) {
      const starts = lines(s, job, 'start', instant);
      expect(starts, job).toHaveLength(1);
      expect(starts[0]?.node).not.toBe(aStart.node);
    }
    await sleep(500);
    expectSeedOrder(s, instant);
  });
});
