import { describe, expect, it } from 'vitest';
import {
  ErrorCode,
  MemoryNodeRegistry,
  MemoryPubSub,
  MemoryPubSubHub,
  MemoryRegistryHub,
  MemorySchedulerCache,
  Scheduler,
  silentLogger,
  type ConfigLoadStrategy,
} from '../src/index.js';
import { FakeClock } from '../src/testing/index.js';

const T0 = Date.UTC(2026, 0, 1);

interface Run {
  node: string;
  job: string;
  instant: number;
}

/** Three schedulers on one shared memory store (and so one shared configuration), each serving `job` and `other`. */
function cluster(options: { strategy?: ConfigLoadStrategy; strategies?: ConfigLoadStrategy[]; start?: number } = {}) {
  const clock = new FakeClock(T0);
  const cache = new MemorySchedulerCache({ clock });
  const registryHub = new MemoryRegistryHub();
  const pubsubHub = new MemoryPubSubHub();
  const runs: Run[] = [];
  const nodes = ['n1', 'n2', 'n3'].map((nodeId, i) => {
    const strategy = options.strategies?.[i] ?? options.strategy;
    const sched = new Scheduler({
      clock,
      nodeId,
      logger: silentLogger,
      schedulerCache: cache,
      distributed: new MemoryNodeRegistry({ nodeId, clock, hub: registryHub }),
      pubsub: new MemoryPubSub({ hub: pubsubHub }),
      takeoverGraceMs: 100,
      ...(strategy ? { configLoadStrategy: strategy } : {}),
    });
    for (const job of ['job', 'other']) {
      sched.registerJob(
        { name: job, execute: (ctx) => void runs.push({ node: nodeId, job, instant: ctx.scheduledAt?.getTime() as number }) },
        { cronSpec: '*/2 * * * * *' },
      );
    }
    return sched;
  });
  const start = async (count = options.start ?? 3) => {
    for (const n of nodes.slice(0, count)) await n.start();
    await clock.tick();
  };
  const stop = async () => {
    const stopping = nodes.filter((n) => n.state === 'running').map((n) => n.stop({ timeoutMs: 0 }));
    await clock.tick();
    await Promise.all(stopping);
  };
  /** Each (job, instant) of `job` ran exactly once; returns the instants, ascending. */
  const instantsOf = (job: string, from: number, to: number): number[] => {
    const mine = runs.filter((r) => r.job === job && r.instant > from && r.instant <= to);
    const counts = new Map<number, number>();
    for (const r of mine) counts.set(r.instant, (counts.get(r.instant) ?? 0) + 1);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    return [...counts.keys()].sort((a, b) => a - b);
  };
  return { clock, nodes, runs, start, stop, instantsOf, cache };
}

describe('the shared configuration across a cluster', () => {
  it('updateCronSpec on one node: every node switches at the change time; no instant twice, none lost', async () => {
    const c = cluster();
    await c.start();
    await c.clock.advance(5_500);
    const changedAt = c.clock.now();
    await c.nodes[0]?.updateCronSpec('job', '* * * * * *', { actor: 'ops' });
    for (const n of c.nodes) expect(n.getJob('job').cronSpec).toBe('* * * * * *');
    await c.clock.advance(6_000);
    const instants = c.instantsOf('job', T0, c.clock.now() - 1_000).map((t) => t - T0);
    // Every 2 s up to the change (5.5 s), every second after it.
    expect(instants).toEqual([2_000, 4_000, 6_000, 7_000, 8_000, 9_000, 10_000]);
    expect(c.nodes.map((n) => n.getConfig().version)).toEqual([1, 1, 1]);
    const [latest] = await c.nodes[2]!.configHistory();
    expect(latest).toMatchObject({
      version: 1,
      nodeId: 'n1',
      actor: 'ops',
      document: { jobs: { job: { cronSpec: '* * * * * *' } } },
    });
    expect(latest!.updatedAt).toBe(changedAt);
    await c.stop();
  });

  it('pause on one node stops the fires on all three; resume restarts them from the next instant', async () => {
    const c = cluster();
    await c.start();
    await c.clock.advance(4_500);
    await c.nodes[1]?.pause('job');
    for (const n of c.nodes) expect(n.getJob('job').paused).toBe(true);
    await c.clock.advance(6_000);
    expect(c.instantsOf('job', T0 + 4_500, c.clock.now()).length).toBe(0);
    expect(c.instantsOf('other', T0 + 4_500, c.clock.now()).length).toBe(3);
    const resumedAt = c.clock.now();
    await c.nodes[2]?.resume('job');
    for (const n of c.nodes) expect(n.getJob('job').paused).toBe(false);
    await c.clock.advance(4_100);
    expect(c.instantsOf('job', resumedAt, c.clock.now()).map((t) => t - T0)).toEqual([12_000, 14_000]);
    await c.stop();
  });

  it('loadFromConfig reaches every node; a node started afterwards applies the same configuration', async () => {
    const c = cluster({ start: 2 });
    await c.start();
    await c.nodes[0]?.loadFromConfig({
      timezone: 'Asia/Tokyo',
      jobs: { job: { cronSpec: '0 * * * * *', priority: 90 }, other: { enabled: false } },
    });
    await c.nodes[1]?.updateCronSpec('other', '*/5 * * * * *');
    await c.nodes[2]?.start();
    for (const n of c.nodes) {
      expect(n.getConfig().version).toBe(2);
      expect(n.getJob('job')).toMatchObject({ cronSpec: '0 * * * * *', priority: 90, timezone: 'Asia/Tokyo' });
      expect(n.getJob('other')).toMatchObject({ cronSpec: '*/5 * * * * *', enabled: false });
      expect(n.getConfig().jobs.job?.source).toBe('remote');
    }
    // Dropping a job from the document returns it to its code cfg everywhere.
    await c.nodes[2]?.loadFromConfig({ jobs: { job: { cronSpec: '0 * * * * *' } } });
    for (const n of c.nodes) expect(n.getJob('other')).toMatchObject({ cronSpec: '*/2 * * * * *', enabled: true });
    await c.stop();
  });

  it('two nodes changing at once: one wins by version, the other gets a conflict error; all converge', async () => {
    const c = cluster();
    await c.start();
    const results = await Promise.allSettled([
      c.nodes[0]!.updateCronSpec('job', '0 * * * * *'),
      c.nodes[1]!.updateCronSpec('job', '30 * * * * *'),
    ]);
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(rejected).toHaveLength(1);
    expect((rejected[0] as PromiseRejectedResult).reason).toMatchObject({ code: ErrorCode.ConfigConflict });
    await c.clock.tick();
    const specs = new Set(c.nodes.map((n) => n.getJob('job').cronSpec));
    expect(specs.size).toBe(1);
    expect(c.nodes.map((n) => n.getConfig().version)).toEqual([1, 1, 1]);
    // The loser retries from the version it now has, and wins.
    const loser = results[0]?.status === 'rejected' ? c.nodes[0]! : c.nodes[1]!;
    await loser.updateCronSpec('job', '15 * * * * *');
    for (const n of c.nodes) expect(n.getJob('job').cronSpec).toBe('15 * * * * *');
    await c.stop();
  });

  it('roll back to an earlier version: every node follows, and the history shows both', async () => {
    const c = cluster();
    await c.start();
    await c.nodes[0]?.updateCronSpec('job', '0 * * * * *');
    await c.nodes[1]?.updateCronSpec('job', '30 * * * * *');
    await c.nodes[2]?.rollbackConfig(1, { actor: 'alice' });
    for (const n of c.nodes) expect(n.getJob('job').cronSpec).toBe('0 * * * * *');
    const history = await c.nodes[0]!.configHistory();
    expect(history.map((h) => [h.version, h.reason])).toEqual([
      [3, 'rollback to version 1'],
      [2, undefined],
      [1, undefined],
    ]);
    expect(history[0]).toMatchObject({ actor: 'alice', nodeId: 'n3' });
    // Each version carries what changed from the one before.
    expect(history[0]?.diff).toEqual([{ path: 'jobs.job.cronSpec', from: '30 * * * * *', to: '0 * * * * *' }]);
    expect(history[2]?.diff).toEqual([{ path: 'jobs.job', from: undefined, to: { cronSpec: '0 * * * * *' } }]);
    await expect(c.nodes[0]!.rollbackConfig(42)).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
    await c.stop();
  });

  it('bad changes are typed errors that change nothing anywhere', async () => {
    const c = cluster();
    await c.start();
    await expect(c.nodes[0]!.updateCronSpec('job', 'not a cron')).rejects.toMatchObject({ code: ErrorCode.InvalidCron });
    await expect(c.nodes[0]!.loadFromConfig({ jobs: { ghost: { cronSpec: '0 * * * * *' } } })).rejects.toMatchObject({
      code: ErrorCode.UnknownJob,
    });
    await expect(c.nodes[0]!.loadFromConfig({ jobs: { job: { cronSpec: '61 * * * * *' } } })).rejects.toMatchObject({
      code: ErrorCode.InvalidConfig,
    });
    await expect(c.nodes[0]!.pause('ghost')).rejects.toMatchObject({ code: ErrorCode.UnknownJob });
    expect(await c.cache.configStore.get()).toBeNull();
    for (const n of c.nodes) expect(n.getJob('job').cronSpec).toBe('*/2 * * * * *');
    await c.stop();
  });

  it("with 'local-only' nothing is shared: a pause or a new spec stays on its node", async () => {
    const c = cluster({ strategy: 'local-only' });
    await c.start();
    await c.nodes[0]?.pause('job');
    await c.nodes[0]?.updateCronSpec('other', '0 * * * * *');
    expect(c.nodes.map((n) => n.getJob('job').paused)).toEqual([true, false, false]);
    expect(c.nodes.map((n) => n.getJob('other').cronSpec)).toEqual(['0 * * * * *', '*/2 * * * * *', '*/2 * * * * *']);
    expect(await c.cache.configStore.get()).toBeNull();
    await expect(c.nodes[0]!.rollbackConfig(1)).rejects.toMatchObject({ code: ErrorCode.InvalidState });
    await c.stop();
  });
});

describe('configLoadStrategy: a node with a local document that conflicts with the shared one', () => {
  const local = {
    timezone: 'Asia/Tokyo',
    jobs: { job: { cronSpec: '*/5 * * * * *', priority: 5 }, other: { priority: 7 } },
  };
  const shared = { timezone: 'Europe/Paris', jobs: { job: { cronSpec: '*/3 * * * * *', priority: 3 } } };
  const localJob = { cronSpec: '*/5 * * * * *', priority: 5, timezone: 'Asia/Tokyo' };
  const sharedJob = { cronSpec: '*/3 * * * * *', priority: 3, timezone: 'Europe/Paris' };
  const cases: Array<[ConfigLoadStrategy, { job: object; other: object; sources: [string, string] }]> = [
    ['local-first', { job: localJob, other: { priority: 7 }, sources: ['local', 'local'] }],
    ['remote-first', { job: sharedJob, other: { priority: 7 }, sources: ['remote', 'local'] }],
    ['remote-only', { job: sharedJob, other: { priority: 50 }, sources: ['remote', 'code'] }],
    ['local-only', { job: localJob, other: { priority: 7 }, sources: ['local', 'local'] }],
  ];
  for (const [strategy, expected] of cases) {
    it(`${strategy}: ends with the documented effective config`, async () => {
      const c = cluster({ strategies: [strategy, 'remote-first', 'remote-first'] });
      await c.start();
      await c.nodes[0]!.loadFromConfig(local, { scope: 'node' });
      await c.nodes[1]!.loadFromConfig(shared);
      await c.clock.tick();
      const n1 = c.nodes[0]!;
      expect(n1.getJob('job')).toMatchObject(expected.job);
      expect(n1.getJob('other')).toMatchObject(expected.other);
      const config = n1.getConfig();
      expect([config.jobs.job?.source, config.jobs.other?.source]).toEqual(expected.sources);
      // The other nodes run the shared document, untouched by n1's local one.
      expect(c.nodes[1]!.getJob('job')).toMatchObject({ cronSpec: '*/3 * * * * *', timezone: 'Europe/Paris' });
      expect(c.nodes[1]!.getJob('other')).toMatchObject({ priority: 50 });
      // Where each value came from.
      const fields = config.jobs.job?.fields;
      expect([fields?.cronSpec, fields?.timezone, fields?.misfirePolicy]).toEqual([
        expected.sources[0],
        expected.sources[0],
        'default',
      ]);
      expect(config.jobs.other?.fields.cronSpec).toBe('code');
      // A pause is a runtime control: it holds on n1 whatever its local document says (but with 'local-only').
      await c.nodes[2]!.pause('job');
      expect(n1.getJob('job').paused).toBe(strategy !== 'local-only');
      if (strategy === 'local-first') expect(n1.getConfig().jobs.job?.fields.paused).toBe('remote');
      await c.stop();
    });
  }
});
