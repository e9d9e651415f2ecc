import { describe, expect, it } from 'vitest';
import { FakeClock } from '../src/testing/index.js';
import {
  LeaseLostError,
  MemoryNodeRegistry,
  MemoryRegistryHub,
  MemorySchedulerCache,
  StoreUnavailableError,
  type DependencyCoordinator,
  type DependencyGraph,
  type ExecutionOutcome,
  type FireRecord,
  type SchedulerHost,
} from '../src/index.js';
import { T0, recorder, setup, stopWith } from './helpers.js';

describe('leases', () => {
  it('a run longer than the lease keeps it: the watchdog renews every leaseRenewMs', async () => {
    const { sched, clock } = setup({ leaseTtlMs: 1_000, leaseRenewMs: 300 });
    const outcomes: ExecutionOutcome[] = [];
    sched.on('complete', (o) => outcomes.push(o));
    sched.registerJob({ name: 'long', execute: (ctx) => clock.sleep(5_000, ctx.signal) }, { cronSpec: '0 * * * * *' });
    await sched.start();
    await clock.advance(60_000);
    const record = await sched.schedulerCache.stateStore.getFireRecord(`long@${T0 + 60_000}`);
    expect(record).toMatchObject({ state: 'running' });
    await clock.advance(5_000);
    expect(outcomes.map((o) => o.status)).toEqual(['completed']);
    // Done, a plain cron fire leaves no record: its job's mark guards the instant.
    expect(await sched.schedulerCache.stateStore.getFireRecord(`long@${T0 + 60_000}`)).toBeNull();
    await sched.stop();
  });

  it('a run whose lease is lost (the store forgot it) is aborted as abandoned, with a LeaseLostError reason', async () => {
    const leaseErrors: string[] = [];
    const { sched, clock } = setup({
      leaseTtlMs: 1_000,
      leaseRenewMs: 300,
      metricsSink: { record: (e) => void (e.type === 'lease-error' && leaseErrors.push(e.reason)) },
    });
    const cache = sched.schedulerCache as MemorySchedulerCache;
    let reason: unknown;
    const abandoned = sched.waitFor('abandon');
    sched.registerJob(
      {
        name: 'fenced',
        async execute(ctx) {
          try {
            await clock.sleep(10_000, ctx.signal);
          } catch (e) {
            reason = e;
            throw e;
          }
        },
      },
      { cronSpec: '0 * * * * *' },
    );
    await sched.start();
    await clock.advance(60_000);
    cache.store.flush(); // a Redis restarted without persistence: every record and lease is gone
    await clock.advance(400);
    expect(reason).toBeInstanceOf(LeaseLostError);
    expect(await abandoned).toMatchObject({ jobName: 'fenced', reason: expect.stringContaining('lost the lease') });
    expect(sched.getJobMetrics('fenced')).toMatchObject({ failureCount: 1, abandonedCount: 1, lastStatus: 'abandoned' });
    expect(leaseErrors).toEqual(['lost']);
    await stopWith(sched, clock);
  });

  it('fencing tokens given to runs only grow', async () => {
    const { sched, clock } = setup();
    const tokens: number[] = [];
    sched.registerJob({ name: 't', execute: (ctx) => void tokens.push(ctx.fencingToken as number) }, { cronSpec: '* * * * * *' });
    await sched.start();
    await clock.advance(5_000);
    expect(tokens).toHaveLength(5);
    expect([...tokens].sort((a, b) => a - b)).toEqual(tokens);
    expect(new Set(tokens).size).toBe(5);
    await sched.stop();
  });
});

/** A coordinator that records what core asks of it (core's side of the port is under test). */
function recordingCoordinator(reject?: (graph: DependencyGraph) => string | undefined) {
  const validated: Array<Record<string, readonly string[]>> = [];
  const completed: string[] = [];
  let host: SchedulerHost | undefined;
  const coordinator: DependencyCoordinator = {
    packageName: 'test-coordinator',
    validate(graph) {
      validated.push(Object.fromEntries(graph));
      const why = reject?.(graph);
      if (why) throw new Error(why);
    },
    attach(h) {
      host = h;
    },
    async onFireComplete(outcome) {
      completed.push(`${outcome.jobName}:${outcome.status}`);
      // Release the dependents of a completed job, as @sched/dag does across nodes.
      if (outcome.jobName === 'extract' && outcome.status === 'completed' && host) {
        await host.runFire({
          jobName: 'report',
          kind: 'cron',
          fireId: `report@${outcome.fireId}`,
          scheduledAt: outcome.scheduledAt?.getTime(),
        });
      }
    },
  };
  return { coordinator, validated, completed, host: () => host };
}

describe('the in-memory node registry', () => {
  it("shares each node's job summaries frozen: no reader or writer changes another's", async () => {
    const clock = new FakeClock(T0);
    const hub = new MemoryRegistryHub();
    const a = new MemoryNodeRegistry({ nodeId: 'a', clock, hub });
    const b = new MemoryNodeRegistry({ nodeId: 'b', clock, hub });
    const summaries = { report: { cronSpec: '0 * * * * *', dependencies: ['load'] } };
    await a.register({ jobs: ['report'], jobsHash: 'h1', version: '1', clockOffsetMs: 0, jobSummaries: summaries });
    await b.register({ jobs: [], jobsHash: 'h0', version: '1', clockOffsetMs: 0 });
    // The writer's object changed afterwards: the registry kept its own copy.
    summaries.report.cronSpec = '* * * * * *';
    summaries.report.dependencies.push('other');
    const seen = (await b.getAllNodes()).find((n) => n.nodeId === 'a');
    expect(seen?.jobSummaries).toEqual({ report: { cronSpec: '0 * * * * *', dependencies: ['load'] } });
    // A reader cannot change what the others read (ESM is strict: writing a frozen object throws).
    const report = seen?.jobSummaries?.report as { cronSpec?: string; dependencies?: string[] };
    expect(() => {
      report.cronSpec = 'changed';
    }).toThrow(TypeError);
    expect(() => report.dependencies?.push('x')).toThrow(TypeError);
    await a.update({ jobSummaries: { report: { cronSpec: '0 0 * * * *', paused: true } }, jobsHash: 'h2' });
    expect((await b.getAllNodes()).find((n) => n.nodeId === 'a')?.jobSummaries).toEqual({
      report: { cronSpec: '0 0 * * * *', paused: true },
    });
    await a.deregister();
    await b.deregister();
  });
});

describe('store calls that time out but land', () => {
  it('a start that lands after its timeout is given back, and the fire runs once, late, by the takeover sweep', async () => {
    const clock = new FakeClock(T0);
    const cache = new MemorySchedulerCache({ clock });
    const real = cache.lockManager;
    let failNextStart = true;
    // The store applies the start, but the answer never arrives (a timeout).
    const lockManager = Object.assign(Object.create(real) as typeof real, {
      startFire: async (lease: Parameters<typeof real.startFire>[0]) => {
        const done = await real.startFire(lease);
        if (failNextStart) {
          failNextStart = false;
          throw new StoreUnavailableError('startFire', 'Redis did not answer within 2000 ms');
        }
        return done;
      },
    });
    const { sched } = setup({
      clock,
      schedulerCache: { lockManager, stateStore: cache.stateStore, configStore: cache.configStore },
      maxConcurrency: 1,
      leaseTtlMs: 3_000,
      leaseRenewMs: 1_000,
    });
    const { runs, job } = recorder(clock);
    // Two fires at one instant and one slot: the second waits claimed, then needs startFire.
    sched.registerJob(
      job('first', () => clock.sleep(100)),
      { cronSpec: '0 * * * * *' },
    );
    sched.registerJob(job('second'), { cronSpec: '0 * * * * *' });
    await sched.start();
    await clock.advance(60_000 + 200);
    expect(runs.map((r) => r.jobName)).toEqual(['first']);
    const secondId = `second@${T0 + 60_000}`;
    expect((await cache.stateStore.getFireRecord(secondId))?.state).toBe('claimed');
    await clock.advance(5_000);
    const second = runs.filter((r) => r.jobName === 'second');
    expect(second).toHaveLength(1);
    expect(second[0]!.startedAt - second[0]!.scheduledAt!).toBeGreaterThan(0);
    await stopWith(sched, clock);
  });
});

describe('finished fire records', () => {
  const at = T0 + 60_000;

  it('a plain cron fire leaves none; a takeover that listed it before its finish does not run it again', async () => {
    const clock = new FakeClock(T0);
    const cache = new MemorySchedulerCache({ clock });
    const { sched } = setup({ clock, schedulerCache: cache, leaseTtlMs: 3_000, leaseRenewMs: 1_000 });
    const { runs, job } = recorder(clock);
    let listed: FireRecord | null = null;
    sched.registerJob(
      job('tick', async () => {
        // What another node's sweep saw: the record, its lease lapsed, before the owner finished it.
        const rec = await cache.stateStore.getFireRecord(`tick@${at}`);
        listed = rec && { ...rec, state: 'claimed', nodeId: 'gone', expiresAt: at };
      }),
      { cronSpec: '0 * * * * *' },
    );
    await sched.start();
    await clock.advance(60_000 + 100);
    expect(runs).toHaveLength(1);
    expect(listed).not.toBeNull();
    expect(await cache.stateStore.getFireRecord(`tick@${at}`)).toBeNull();
    // The sweep acts on that stale listing now: its claim must lose.
    const list = cache.stateStore.listExpiredFires.bind(cache.stateStore);
    const stale: FireRecord[] = [listed as unknown as FireRecord];
    cache.stateStore.listExpiredFires = async (now, limit) => [...stale.splice(0), ...(await list(now, limit))];
    const abandoned: string[] = [];
    sched.on('abandon', (o) => abandoned.push(o.fireId));
    await clock.advance(10_000);
    expect(stale).toEqual([]); // the sweep did read it
    expect(runs.filter((r) => r.scheduledAt === at)).toHaveLength(1);
    expect(abandoned).toEqual([]);
    await stopWith(sched, clock);
  });

  for (const reads of [true, false, undefined]) {
    it(`a DAG coordinator that ${reads === undefined ? 'does not say' : reads ? 'reads' : 'does not read'} a job's records: ${reads === false ? 'deleted' : 'kept'} at finish`, async () => {
      const c = recordingCoordinator();
      if (reads !== undefined) c.coordinator.readsFireRecordsOf = () => reads;
      const { sched, clock } = setup({ dependencyCoordinator: c.coordinator });
      sched.registerJob({ name: 'root', execute() {} }, { cronSpec: '0 * * * * *' });
      await sched.start();
      await clock.advance(60_000 + 100);
      expect(c.completed).toEqual(['root:completed']);
      const record = await sched.schedulerCache.stateStore.getFireRecord(`root@${at}`);
      if (reads === false) expect(record).toBeNull();
      else expect(record).toMatchObject({ state: 'done', status: 'completed', expiresAt: clock.now() - 100 + 60_000 });
      await sched.stop();
    });
  }

  it('a fire claimed by id (a manual trigger) keeps its record for fireRecordRetentionMs', async () => {
    const { sched, clock } = setup({ fireRecordRetentionMs: 5_000 });
    sched.registerJob({ name: 'm', execute() {} });
    await sched.start();
    const outcome = await sched.trigger('m');
    expect(await sched.schedulerCache.stateStore.getFireRecord(outcome.fireId)).toMatchObject({ state: 'done' });
    await clock.advance(6_000);
    expect(await sched.schedulerCache.stateStore.getFireRecord(outcome.fireId)).toBeNull();
    await sched.stop();
  });
});

describe('the DependencyCoordinator port', () => {
  it('is asked to validate the whole graph at start, and dependents fire only when it releases them', async () => {
    const c = recordingCoordinator();
    const { sched, clock } = setup({ dependencyCoordinator: c.coordinator });
    const { runs, job } = recorder(clock);
    sched.registerJob(job('extract'), { cronSpec: '0 * * * * *' });
    sched.registerJob(job('report'), { cronSpec: '0 * * * * *', dependencies: ['extract'] });
    await sched.start();
    expect(c.validated).toEqual([{ report: ['extract'], extract: [] }]);
    expect(c.host()?.jobNames().sort()).toEqual(['extract', 'report']);
    await clock.advance(60_000);
    expect(runs.map((r) => [r.jobName, r.scheduledAt])).toEqual([
      ['extract', T0 + 60_000],
      ['report', T0 + 60_000],
    ]);
    expect(c.completed).toEqual(['extract:completed', 'report:completed']);
    await sched.stop();
  });

  it('a run that ends while the scheduler stops still tells the coordinator before it is detached', async () => {
    const steps: string[] = [];
    let finishRelease: () => void = () => undefined;
    const coordinator: DependencyCoordinator = {
      packageName: 'slow-coordinator',
      validate() {},
      attach() {},
      detach: () => void steps.push('detach'),
      async onFireComplete(outcome) {
        steps.push(`release ${outcome.jobName}`);
        await new Promise<void>((resolve) => (finishRelease = resolve)); // a Redis round trip
        steps.push(`released ${outcome.jobName}`);
      },
    };
    const { sched, clock } = setup({ dependencyCoordinator: coordinator });
    sched.registerJob({ name: 'root', execute: (ctx) => clock.sleep(500, ctx.signal) }, { cronSpec: '0 * * * * *' });
    await sched.start();
    await clock.advance(60_000);
    const stopping = sched.stop();
    await clock.advance(500); // the run ends during the stop
    expect(steps).toEqual(['release root']);
    finishRelease();
    await stopping;
    expect(steps).toEqual(['release root', 'released root', 'detach']);
  });

  it('a graph it rejects fails start (nothing fires) or a later registration (nothing changes)', async () => {
    const cyclic = recordingCoordinator((g) =>
      g.get('a')?.includes('b') && g.get('b')?.includes('a') ? 'cycle a -> b -> a' : undefined,
    );
    const first = setup({ dependencyCoordinator: cyclic.coordinator });
    first.sched.registerJob({ name: 'a', execute() {} }, { cronSpec: '* * * * * *', dependencies: ['b'] });
    first.sched.registerJob({ name: 'b', execute() {} }, { cronSpec: '* * * * * *', dependencies: ['a'] });
    await expect(first.sched.start()).rejects.toThrow('cycle a -> b -> a');
    expect(first.sched.state).toBe('idle');

    const later = recordingCoordinator((g) =>
      g.get('a')?.includes('b') && g.get('b')?.includes('a') ? 'cycle a -> b -> a' : undefined,
    );
    const { sched } = setup({ dependencyCoordinator: later.coordinator });
    sched.registerJob({ name: 'a', execute() {} }, { cronSpec: '* * * * * *', dependencies: ['b'] });
    sched.registerJob({ name: 'b0', execute() {} }, { cronSpec: '* * * * * *' });
    await sched.start();
    expect(() => sched.registerJob({ name: 'b', execute() {} }, { dependencies: ['a'] })).toThrow('cycle a -> b -> a');
    expect(sched.getJobs().map((j) => j.jobName)).toEqual(['a', 'b0']);
    await sched.stop();
  });
});
