import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  DependencyGraphError,
  ErrorCode,
  MemoryNodeRegistry,
  MemoryPubSub,
  MemoryPubSubHub,
  MemoryRegistryHub,
  MemorySchedulerCache,
  MemorySnapshotRepository,
  Scheduler,
  silentLogger,
  type TaskCfg,
} from '@sched/core';
import { FakeClock } from '@sched/core/testing';
import { createSimulatedCluster } from '@sched/testkit';
import { DAG_CHANNEL, DagCoordinator, DagGraph, readDagRun } from '../src/index.js';

const T0 = Date.UTC(2026, 0, 1);

interface Step {
  job: string;
  ev: 'start' | 'end';
  at: number;
  scheduledAt: number | undefined;
  node: string;
}

/** The seed's graph: A → B, A → D, B → C, and C also depends on A. */
const SEED: Array<[string, TaskCfg, number]> = [
  ['A', { cronSpec: '*/10 * * * * *' }, 1_000],
  ['B', { dependencies: ['A'] }, 2_000],
  ['D', { dependencies: ['A'] }, 2_000],
  ['C', { dependencies: ['B', 'A'] }, 500],
];

/** Schedulers on one shared memory store, registry and pub/sub (one node, or a simulated cluster). */
function cluster(nodeIds: string[], jobs = SEED, failing = new Set<string>()) {
  const clock = new FakeClock(T0);
  const cache = new MemorySchedulerCache({ clock });
  const registryHub = new MemoryRegistryHub();
  const pubsubHub = new MemoryPubSubHub();
  const snapshots = new MemorySnapshotRepository({ clock, maxPerJob: 1_000 });
  const steps: Step[] = [];
  const nodes = nodeIds.map((nodeId) => {
    const sched = new Scheduler({
      clock,
      nodeId,
      logger: silentLogger,
      schedulerCache: cache,
      distributed: new MemoryNodeRegistry({ nodeId, clock, hub: registryHub }),
      pubsub: new MemoryPubSub({ hub: pubsubHub }),
      snapshotRepository: snapshots,
      dependencyCoordinator: new DagCoordinator({ sweepIntervalMs: 500 }),
      maxConcurrency: 50,
    });
    for (const [name, cfg, ms] of jobs) {
      sched.registerJob(
        {
          name,
          execute: async (ctx) => {
            steps.push({ job: name, ev: 'start', at: clock.now(), scheduledAt: ctx.scheduledAt?.getTime(), node: nodeId });
            await clock.sleep(ms, ctx.signal);
            steps.push({ job: name, ev: 'end', at: clock.now(), scheduledAt: ctx.scheduledAt?.getTime(), node: nodeId });
            if (failing.has(`${name}@${ctx.scheduledAt?.getTime()}`)) throw new Error(`${name} failed`);
          },
        },
        cfg,
      );
    }
    return sched;
  });
  return { clock, nodes, steps, snapshots };
}

const at = (steps: Step[], job: string, ev: Step['ev'], instant: number) =>
  steps.filter((s) => s.job === job && s.ev === ev && s.scheduledAt === instant);

/** The seed graph's order for one instant: A, then B and D together, then C after B. */
function expectSeedOrder(steps: Step[], instant: number) {
  const one = (job: string, ev: Step['ev']) => {
    const found = at(steps, job, ev, instant);
    expect(found, `${job} ${ev} @${instant - T0}`).toHaveLength(1);
    return (found[0] as Step).at;
  };
  expect(one('B', 'start')).toBeGreaterThanOrEqual(one('A', 'end'));
  expect(one('D', 'start')).toBeGreaterThanOrEqual(one('A', 'end'));
  // B and D run at the same time.
  expect(one('B', 'start')).toBeLessThan(one('D', 'end'));
  expect(one('D', 'start')).toBeLessThan(one('B', 'end'));
  expect(one('C', 'start')).toBeGreaterThanOrEqual(one('B', 'end'));
}

describe('DagGraph', () => {
  const g = (entries: Array<[string, string[]]>) => new Map(entries);
  it('rejects a cycle naming it, a self-dependency and a missing job, with typed errors', () => {
    expect(() =>
      DagGraph.build(
        g([
          ['a', ['c']],
          ['b', ['a']],
          ['c', ['b']],
        ]),
      ),
    ).toThrow(
      expect.objectContaining({
        code: ErrorCode.DependencyGraph,
        cycle: ['a', 'b', 'c', 'a'],
        message: expect.stringContaining('a → b → c → a'),
      }),
    );
    expect(() => DagGraph.build(g([['a', ['a']]]))).toThrow(expect.objectContaining({ cycle: ['a', 'a'] }));
    expect(() =>
      DagGraph.build(
        g([
          ['a', []],
          ['b', ['a', 'x']],
        ]),
      ),
    ).toThrow(
      expect.objectContaining({
        missing: { jobName: 'b', dependency: 'x' },
        message: expect.stringContaining('"x", which is not a registered job'),
      }),
    );
  });

  it('rejects roots on different schedules and a dependent with a schedule of its own', () => {
    const graph = g([
      ['a', []],
      ['x', []],
      ['c', ['a', 'x']],
    ]);
    expect(() =>
      DagGraph.build(
        graph,
        new Map([
          ['a', '* * * * * * UTC'],
          ['x', '0 * * * * * UTC'],
        ]),
      ),
    ).toThrow(/fire on different schedules/);
    expect(() =>
      DagGraph.build(
        graph,
        new Map([
          ['a', '* * * * * * UTC'],
          ['x', '* * * * * * UTC'],
          ['c', '0 0 * * * * UTC'],
        ]),
      ),
    ).toThrow(/has its own schedule/);
    expect(
      DagGraph.build(
        graph,
        new Map([
          ['a', '* * * * * * UTC'],
          ['x', '* * * * * * UTC'],
        ]),
      ).component('c'),
    ).toBe('a');
  });
});

describe('DAG runs', () => {
  it('one node: A, then B and D in parallel, then C after B, at every instant', async () => {
    const { clock, nodes, steps } = cluster(['solo']);
    const [sched] = nodes as [Scheduler];
    await sched.start();
    await clock.advance(36_000);
    for (const instant of [T0 + 10_000, T0 + 20_000, T0 + 30_000]) expectSeedOrder(steps, instant);
    const run = await sched.getDagRun('A', T0 + 20_000);
    expect(run?.jobs.map((j) => [j.jobName, j.state, j.nodeId])).toEqual([
      ['A', 'completed', 'solo'],
      ['B', 'completed', 'solo'],
      ['C', 'completed', 'solo'],
      ['D', 'completed', 'solo'],
    ]);
    // The run carries its edges: a reader without the graph (the console) sees the same run.
    expect(run?.jobs.map((j) => [j.jobName, j.dependencies])).toEqual([
      ['A', []],
      ['B', ['A']],
      ['C', ['B', 'A']],
      ['D', ['A']],
    ]);
    expect(await readDagRun(sched.schedulerCache.stateStore, run?.runId ?? '')).toEqual(run);
    expect(await readDagRun(sched.schedulerCache.stateStore, 'no-such-run')).toBeNull();
    await sched.stop();
  });

  it('3 nodes: the same order, each job once per instant, dependents spread over the nodes', async () => {
    const { clock, nodes, steps } = cluster(['n1', 'n2', 'n3']);
    for (const n of nodes) await n.start();
    await clock.advance(56_000);
    for (const instant of [T0 + 10_000, T0 + 20_000, T0 + 30_000, T0 + 40_000, T0 + 50_000]) expectSeedOrder(steps, instant);
    expect(new Set(steps.map((s) => s.node)).size).toBeGreaterThan(1);
    for (const n of nodes) await n.stop();
  });

  it('A fails: B, C and D are skipped for that instant (dependency-failed) and run at the next one', async () => {
    const { clock, nodes, steps, snapshots } = cluster(['solo'], SEED, new Set([`A@${T0 + 10_000}`]));
    const [sched] = nodes as [Scheduler];
    await sched.start();
    await clock.advance(26_000);
    for (const job of ['B', 'C', 'D']) expect(at(steps, job, 'start', T0 + 10_000)).toEqual([]);
    expectSeedOrder(steps, T0 + 20_000);
    const skipped = await snapshots.list({ status: 'skipped' });
    expect(skipped.items.map((s) => [s.jobName, s.skipReason, s.scheduledAt]).sort()).toEqual([
      ['B', 'dependency-failed', T0 + 10_000],
      ['C', 'dependency-failed', T0 + 10_000],
      ['D', 'dependency-failed', T0 + 10_000],
    ]);
    const run = await sched.getDagRun('A', new Date(T0 + 10_000));
    expect(run?.jobs.map((j) => j.state)).toEqual(['failed', 'skipped', 'skipped', 'skipped']);
    await sched.stop();
  });

  it('a manual trigger of the root runs its own DAG run', async () => {
    const { clock, nodes, steps } = cluster(['solo']);
    const [sched] = nodes as [Scheduler];
    await sched.start();
    const outcome = sched.trigger('A');
    await clock.advance(5_000);
    const { fireId } = await outcome;
    expect(steps.filter((s) => s.ev === 'start' && s.scheduledAt === undefined).map((s) => s.job)).toEqual(['A', 'B', 'D', 'C']);
    expect((await sched.getDagRun('A', fireId))?.jobs.every((j) => j.state === 'completed')).toBe(true);
    await sched.stop();
  });

  it("misfire compensation of the root runs the DAG for each replayed instant ('delayed')", async () => {
    const jobs: Array<[string, TaskCfg, number]> = [
      ['A', { cronSpec: '*/10 * * * * *', misfirePolicy: 'delayed' }, 100],
      ['B', { dependencies: ['A'] }, 100],
    ];
    const first = cluster(['solo'], jobs);
    const [sched] = first.nodes as [Scheduler];
    await sched.start();
    await first.clock.advance(12_000);
    await sched.stop();
    // Down from 12 s to 55 s: 20, 30, 40 and 50 s are missed (threshold 5 s).
    first.clock.setTime(T0 + 55_000);
    const again = new Scheduler({
      clock: first.clock,
      nodeId: 'solo',
      logger: silentLogger,
      schedulerCache: sched.schedulerCache,
      dependencyCoordinator: new DagCoordinator(),
    });
    for (const [name, cfg, ms] of jobs) {
      again.registerJob(
        {
          name,
          execute: async (ctx) => {
            first.steps.push({
              job: name,
              ev: 'start',
              at: first.clock.now(),
              scheduledAt: ctx.scheduledAt?.getTime(),
              node: 'solo',
            });
            await first.clock.sleep(ms, ctx.signal);
            first.steps.push({
              job: name,
              ev: 'end',
              at: first.clock.now(),
              scheduledAt: ctx.scheduledAt?.getTime(),
              node: 'solo',
            });
          },
        },
        cfg,
      );
    }
    await again.start();
    await first.clock.advance(3_000);
    for (const t of [20_000, 30_000, 40_000, 50_000]) {
      const b = at(first.steps, 'B', 'start', T0 + t);
      expect(b, `B for the replayed ${t / 1000} s`).toHaveLength(1);
      expect((b[0] as Step).at).toBeGreaterThanOrEqual((at(first.steps, 'A', 'end', T0 + t)[0] as Step).at);
    }
    await again.stop({ timeoutMs: 0 });
  });

  it('malformed or misaddressed release messages are logged or ignored; the run goes on', async () => {
    const clock = new FakeClock(T0);
    const hub = new MemoryPubSubHub();
    const warnings: string[] = [];
    const sched = new Scheduler({
      clock,
      logger: { debug() {}, info() {}, warn: (msg) => warnings.push(msg), error() {} },
      pubsub: new MemoryPubSub({ hub }),
      dependencyCoordinator: new DagCoordinator(),
      nodeId: 'solo',
    });
    const ran: string[] = [];
    for (const [name, cfg] of SEED) sched.registerJob({ name, execute: () => void ran.push(name) }, cfg);
    await sched.start();
    const bus = new MemoryPubSub({ hub });
    for (const bad of [
      null,
      'text',
      { type: 'release', runId: 'r', jobName: 'B', target: 'solo', kind: 'bogus' },
      { type: 'release', runId: 'r', jobName: 'B', target: 'solo', kind: 'cron', scheduledAt: 'soon' },
      { type: 'release', runId: 'r', jobName: 'B', target: 'someone-else', kind: 'cron' },
    ])
      await bus.publish(DAG_CHANNEL, bad);
    await clock.advance(11_000);
    expect(warnings.filter((w) => w === 'malformed DAG release ignored')).toHaveLength(2);
    expect(ran).toEqual(['A', 'B', 'D', 'C']);
    await sched.stop();
  });

  it("a root's new cron spec is checked with the DAG's other roots: refused when they would disagree", async () => {
    const jobs: Array<[string, TaskCfg, number]> = [
      ['A', { cronSpec: '*/10 * * * * *' }, 100],
      ['X', { cronSpec: '*/10 * * * * *' }, 100],
      ['C', { dependencies: ['A', 'X'] }, 100],
    ];
    const { clock, nodes, steps } = cluster(['solo'], jobs);
    const [sched] = nodes as [Scheduler];
    await sched.start();
    await expect(sched.updateCronSpec('A', '*/5 * * * * *')).rejects.toBeInstanceOf(DependencyGraphError);
    expect(sched.getJob('A').cronSpec).toBe('*/10 * * * * *');
    await clock.advance(11_000);
    expect(at(steps, 'C', 'start', T0 + 10_000)).toHaveLength(1);
    await sched.stop();
  });

  it('a change that would make a cycle is refused, and the old graph keeps running', async () => {
    const { clock, nodes, steps } = cluster(['solo']);
    const [sched] = nodes as [Scheduler];
    await sched.start();
    expect(() => sched.registerJob({ name: 'E', execute: () => {} }, { dependencies: ['E'] })).toThrow();
    let refused: unknown;
    try {
      sched.registerJob({ name: 'F', execute: () => {} }, { dependencies: ['nowhere'] });
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(DependencyGraphError);
    await clock.advance(16_000);
    expectSeedOrder(steps, T0 + 10_000);
    await sched.stop();
  });

  it(
    'random DAGs of 20–1,000 jobs on 3 nodes (one store, FakeClock): every job after all of its dependencies, once per instant (property)',
    { timeout: 180_000 },
    async () => {
      // CPU-bound on fake time: ~4 s alone, but CI runs every package's suite at once on 2 cores (it once took over 60 s).
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 20, max: 1_000 }), fc.integer({ min: 1, max: 1_000_000 }), async (size, seed) => {
          // Job i depends on up to three earlier jobs: acyclic by construction, one root at least.
          let s = seed;
          const rand = () => (s = (s * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
          const jobs: Array<[string, TaskCfg, number]> = [['j0', { cronSpec: '*/10 * * * * *' }, 100]];
          for (let i = 1; i < size; i++) {
            const deps = [...new Set(Array.from({ length: 1 + Math.floor(rand() * 3) }, () => `j${Math.floor(rand() * i)}`))];
            jobs.push([`j${i}`, { dependencies: deps }, 50 + Math.floor(rand() * 200)]);
          }
          const { clock, nodes, steps } = cluster(['n1', 'n2', 'n3'], jobs);
          for (const n of nodes) await n.start();
          const instant = T0 + 10_000;
          // Until the first run is whole (each step is fake time; the bound only stops a broken run).
          const ended = () =>
            new Set(steps.filter((st) => st.ev === 'end' && st.scheduledAt === instant).map((st) => st.job)).size;
          for (let step = 0; step < 10 + size && ended() < jobs.length; step++) await clock.advance(1_000);
          for (const [name, cfg] of jobs) {
            const starts = at(steps, name, 'start', instant);
            expect(starts, `${name} runs once`).toHaveLength(1);
            for (const dep of cfg.dependencies ?? []) {
              expect((starts[0] as Step).at).toBeGreaterThanOrEqual((at(steps, dep, 'end', instant)[0] as Step).at);
            }
          }
          for (const n of nodes) await n.stop({ timeoutMs: 0 });
        }),
        { numRuns: 6, endOnFailure: true },
      );
    },
  );
});

describe('DagCoordinator.onFireComplete', () => {
  it('answers a fire no DAG run concerns at once, without a promise; a root opens its run', async () => {
    const clock = new FakeClock(T0);
    const coordinator = new DagCoordinator();
    const sched = new Scheduler({
      clock,
      logger: silentLogger,
      schedulerCache: new MemorySchedulerCache({ clock }),
      dependencyCoordinator: coordinator,
    });
    sched.registerJob({ name: 'A', execute() {} }, { cronSpec: '*/10 * * * * *' });
    sched.registerJob({ name: 'B', execute() {} }, { dependencies: ['A'] });
    sched.registerJob({ name: 'X', execute() {} }, { cronSpec: '* * * * * *' });
    await sched.start();
    const outcome = (jobName: string, instant: number) => ({
      jobName,
      fireId: `${jobName}@${instant}`,
      executionId: `e-${jobName}`,
      nodeId: sched.nodeId,
      status: 'completed' as const,
      attempt: 1,
      scheduledAt: new Date(instant),
      startedAt: new Date(instant),
      finishedAt: new Date(instant),
      durationMs: 0,
      kind: 'cron' as const,
    });
    expect(coordinator.onFireComplete(outcome('X', T0 + 1_000))).toBeUndefined();
    // B triggered on its own (no run id in its fire id) is no run either.
    expect(coordinator.onFireComplete(outcome('B', T0 + 1_000))).toBeUndefined();
    const opened = coordinator.onFireComplete(outcome('A', T0 + 10_000));
    expect(opened).toBeInstanceOf(Promise);
    await opened;
    const run = await coordinator.getRun('A', T0 + 10_000);
    expect(run?.jobs.find((j) => j.jobName === 'A')?.state).toBe('completed');
    // The records of DAG jobs are read after their end (a run whose node died is opened from its roots'); X's are not.
    expect(['A', 'B', 'X'].map((j) => coordinator.readsFireRecordsOf(j))).toEqual([true, true, false]);
    await clock.advance(10_100);
    expect(await sched.schedulerCache.stateStore.getFireRecord(`A@${T0 + 10_000}`)).toMatchObject({ state: 'done' });
    expect(await sched.schedulerCache.stateStore.getFireRecord(`X@${T0 + 10_000}`)).toBeNull();
    await sched.stop();
  });
});

describe('DagCoordinator.detach', () => {
  it('waits for a sweep in flight (a slow store) instead of pulling the host from under it', async () => {
    const clock = new FakeClock(T0);
    const cache = new MemorySchedulerCache({ clock });
    let block: Promise<void> = Promise.resolve();
    let unblock: () => void = () => undefined;
    const reads = cache.stateStore.getRunState.bind(cache.stateStore);
    cache.stateStore.getRunState = async (runId) => {
      await block;
      return reads(runId);
    };
    const warnings: string[] = [];
    const sched = new Scheduler({
      clock,
      logger: { ...silentLogger, warn: (msg: string) => void warnings.push(msg) },
      schedulerCache: cache,
      dependencyCoordinator: new DagCoordinator({ sweepIntervalMs: 500 }),
    });
    sched.registerJob({ name: 'A', execute() {} }, { cronSpec: '*/10 * * * * *' });
    sched.registerJob({ name: 'B', execute() {} }, { dependencies: ['A'] });
    await sched.start();
    await clock.advance(1_000);
    block = new Promise<void>((resolve) => (unblock = resolve)); // the next sweep waits on the store
    await clock.advance(500);
    let stopped = false;
    const stopping = sched.stop().then(() => (stopped = true));
    await clock.advance(100);
    expect(stopped).toBe(false);
    unblock();
    await stopping;
    expect(warnings).toEqual([]);
  });
});

describe('DagCoordinator when a dependent’s node dies mid-run (simulated cluster, shared history)', () => {
  // With the default 30 s lease, the lease lapses after the sweep's 30 s look-back from the run's instant.
  for (const [leaseTtlMs, leaseRenewMs] of [
    [3_000, 1_000],
    [30_000, 10_000],
  ] as const) {
    it(`the dependent is abandoned once: its record ended, its snapshot closed under its execution id, counted once; its dependents skipped (lease ${leaseTtlMs / 1_000} s)`, async () => {
      const clock = new FakeClock(T0);
      const history = new MemorySnapshotRepository({ clock, maxPerJob: 1_000 });
      const cluster = createSimulatedCluster({
        nodes: 3,
        clock,
        jobs: [
          { name: 'A', cfg: { cronSpec: '0 * * * * *' }, durationMs: 100 },
          { name: 'B', cfg: { dependencies: ['A'] }, durationMs: 20_000 },
          { name: 'C', cfg: { dependencies: ['B'] }, durationMs: 100 },
        ],
        schedulerOptions: { snapshotRepository: history, leaseTtlMs, leaseRenewMs },
        nodeOptions: () => ({ dependencyCoordinator: new DagCoordinator({ sweepIntervalMs: 500 }) }),
      });
      await cluster.start();
      await clock.advance(60_000 + 2_000);
      const b = cluster.ledger.find((e) => e.jobName === 'B');
      expect(b).toBeDefined();
      const [running] = (await history.list({ jobName: 'B', status: 'running' })).items;
      expect(running).toMatchObject({ fireId: b!.fireId, nodeId: b!.nodeId });
      cluster.node(b!.nodeId).kill();
      await clock.advance(leaseTtlMs + 12_000);
      // Ended, not left running under its lapsed lease for ever (where every takeover sweep would list it first).
      const record = await cluster.store.stateStore.getFireRecord(b!.fireId);
      expect(record?.state ?? 'deleted').not.toBe('running');
      expect((await cluster.store.stateStore.listExpiredFires(clock.now(), 100)).map((r) => r.fireId)).not.toContain(b!.fireId);
      const ofB = (await history.list({ jobName: 'B' })).items.filter((s) => s.fireId === b!.fireId);
      expect(ofB.map((s) => [s.executionId, s.status, s.nodeId])).toEqual([[running!.executionId, 'abandoned', b!.nodeId]]);
      const abandoned = cluster.nodes.reduce((sum, n) => sum + n.scheduler.getJobMetrics('B').abandonedCount, 0);
      expect(abandoned).toBe(1);
      // C never ran for that instant: its dependency failed.
      expect(cluster.ledger.filter((e) => e.jobName === 'C' && e.scheduledAt === T0 + 60_000)).toEqual([]);
      await cluster.stop();
    });
  }
});
