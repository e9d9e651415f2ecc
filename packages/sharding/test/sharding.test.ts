import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  Chain,
  ErrorCode,
  MemorySchedulerCache,
  MemorySnapshotRepository,
  Scheduler,
  silentLogger,
  type ExecutionSnapshot,
  type JobContext,
  type ShardingJob,
  type TaskCfg,
} from '@sched/core';
import { FakeClock } from '@sched/core/testing';
import { createSimulatedCluster, type SimulatedCluster, type SimulatedNode } from '@sched/testkit';
import {
  averageAllocation,
  ClusterShardPlanner,
  consistentHashAllocation,
  decodeRanges,
  encodeRanges,
  getShardIndex,
  getShardTotal,
  withSharding,
  type ShardAllocationStrategy,
} from '../src/index.js';
import { StoredItemProgress } from '../src/progress.js';

const T0 = Date.UTC(2026, 0, 1);

interface ItemRun {
  fireId: string;
  shardIndex: number;
  item: number;
  nodeId: string;
  attempt: number;
  /** False while running (a killed node's item never finishes). */
  ok: boolean;
}

interface Options {
  nodes?: number;
  total?: number;
  itemsPerFire?: number;
  itemMs?: number;
  cfg?: TaskCfg;
  failItem?: (item: number) => boolean;
  strategy?: ShardAllocationStrategy;
  /** Register and start only the first `startNodes` nodes. */
  startNodes?: number;
}

/** Simulated nodes on one store and FakeClock, each with its own planner, all serving one ShardingJob. */
function shardedCluster(o: Options = {}) {
  const total = o.total ?? 10;
  const itemsPerFire = o.itemsPerFire ?? 100;
  const clock = new FakeClock(T0);
  const snapshots = new MemorySnapshotRepository({ clock, maxPerJob: 10_000 });
  const runs: ItemRun[] = [];
  const cluster = createSimulatedCluster({
    nodes: o.nodes ?? 3,
    clock,
    schedulerOptions: { snapshotRepository: snapshots, maxConcurrency: 10 },
    nodeOptions: () => ({
      shardPlanner: new ClusterShardPlanner({
        takeoverGraceMs: 500,
        sweepIntervalMs: 250,
        pollIntervalMs: 250,
        progressFlushMs: 20,
        ...(o.strategy ? { strategy: o.strategy } : {}),
      }),
    }),
  });
  const register = (node: SimulatedNode): void => {
    const job: ShardingJob<number> = {
      name: 'report',
      fetchShardingItems: (_ctx, s) => [...Array(itemsPerFire).keys()].filter((i) => i % s.shardTotal === s.shardIndex),
      async processShardingItem(ctx: JobContext, item: number, s) {
        const run: ItemRun = {
          fireId: ctx.fireId.split('#')[0] as string,
          shardIndex: s.shardIndex,
          item,
          nodeId: ctx.nodeId,
          attempt: ctx.attempt,
          ok: false,
        };
        runs.push(run);
        if (o.itemMs) await node.clock.sleep(o.itemMs, ctx.signal);
        if (o.failItem?.(item)) throw new Error(`item ${item} is bad`);
        run.ok = true;
      },
    };
    node.scheduler.registerJob(job, { cronSpec: '*/2 * * * * *', shardingEnabled: true, shardingTotal: total, ...o.cfg });
  };
  cluster.nodes.forEach(register);
  const start = async (): Promise<void> => {
    cluster.startedAt = clock.now();
    for (const n of cluster.nodes.slice(0, o.startNodes ?? cluster.nodes.length)) await n.scheduler.start();
    await clock.tick();
  };
  const all = async (): Promise<ExecutionSnapshot[]> => (await snapshots.list({ jobName: 'report', limit: 1_000 })).items;
  return { cluster, clock, runs, start, snapshots: all, total, itemsPerFire };
}

/** Snapshots of shard runs (with an index) and of parents (the fire's own), by fire. */
function split(snaps: ExecutionSnapshot[]) {
  const shards = snaps.filter((s) => s.shardIndex !== undefined);
  const parents = snaps.filter((s) => s.shardIndex === undefined && s.status !== 'misfired');
  return { shards, parents };
}

/** The first minute instant after T0 (jobs on '0 * * * * *'). */
const FIRST_MINUTE = Math.ceil((T0 + 1) / 60_000) * 60_000;

/** Which node ran each fire's parent execution (fire id → node id), as the nodes' `start` events tell. */
function parentNodes(cluster: SimulatedCluster): Map<string, string> {
  const parentNode = new Map<string, string>();
  for (const n of cluster.nodes) {
    n.scheduler.on('start', (e) => {
      if (!e.fireId.includes('#')) parentNode.set(e.fireId, e.nodeId);
    });
  }
  return parentNode;
}

async function stopAll(cluster: SimulatedCluster): Promise<void> {
  await cluster.stop();
}

describe('allocation strategies', () => {
  const input = fc.record({
    total: fc.integer({ min: 1, max: 300 }),
    nodes: fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 12 }),
    fire: fc.integer({ min: 0, max: 1e9 }),
  });
  for (const strategy of [averageAllocation, consistentHashAllocation]) {
    it(`${strategy.name}: one live node per shard, none above ⌈total/nodes⌉, the same on every call`, () => {
      fc.assert(
        fc.property(input, ({ total, nodes, fire }) => {
          const nodeIds = [...nodes].sort();
          const args = { jobName: 'j', fireId: `j@${fire}`, shardTotal: total, nodeIds };
          const plan = strategy.allocate(args);
          expect(plan).toHaveLength(total);
          const load = new Map<string, number>();
          for (const n of plan) load.set(n, (load.get(n) ?? 0) + 1);
          for (const n of load.keys()) expect(nodeIds).toContain(n);
          expect(Math.max(...load.values())).toBeLessThanOrEqual(Math.ceil(total / nodeIds.length));
          // Nobody idles while another has more than its fair share.
          if (total >= nodeIds.length) expect(load.size).toBe(nodeIds.length);
          expect(strategy.allocate(args)).toEqual(plan);
        }),
        { numRuns: 300 },
      );
    });
  }

  it('average rotates the extra shards over the fires; consistent hashing keeps a shard on its node', () => {
    const nodeIds = ['a', 'b', 'c'];
    const firsts = new Set<string>();
    for (let t = 0; t < 30; t++)
      firsts.add(averageAllocation.allocate({ jobName: 'j', fireId: `j@${t}`, shardTotal: 10, nodeIds })[0] as string);
    expect(firsts.size).toBe(3);
    const one = consistentHashAllocation.allocate({ jobName: 'j', fireId: 'j@1', shardTotal: 10, nodeIds });
    expect(consistentHashAllocation.allocate({ jobName: 'j', fireId: 'j@2', shardTotal: 10, nodeIds })).toEqual(one);
    // A fourth node takes shards, and most shards stay where they were.
    const four = consistentHashAllocation.allocate({ jobName: 'j', fireId: 'j@2', shardTotal: 10, nodeIds: [...nodeIds, 'd'] });
    expect(four.filter((n, i) => n === one[i]).length).toBeGreaterThanOrEqual(5);
  });

  it('item progress: one short field per run; a re-run skips what the earlier run saved and carries it on', async () => {
    const clock = new FakeClock(T0);
    const store = new MemorySchedulerCache({ clock }).stateStore;
    const first = new StoredItemProgress(store, clock, silentLogger, 'shard:f', 3, 'w1', 100, 60_000);
    expect((await first.completed()).size).toBe(0);
    // Finished nearly in order, five at a time; 500 and 700 never finish.
    for (let i = 0; i < 1_000; i++) if (i !== 500 && i !== 700) first.itemDone(i);
    await clock.advance(100);
    await first.close();
    const state = (await store.getRunState('shard:f')) ?? {};
    expect(state).toEqual({ 'p:3:w1': '0-499,501-699,701-999' });
    const second = new StoredItemProgress(store, clock, silentLogger, 'shard:f', 3, 'w2', 100, 60_000);
    const done = await second.completed();
    expect(done.size).toBe(998);
    expect(done.has(500) || done.has(700)).toBe(false);
    second.itemDone(700);
    await second.close();
    expect((await store.getRunState('shard:f'))?.['p:3:w2']).toBe('0-499,501-999');
  });

  it('item progress ranges round-trip', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5_000 }), { maxLength: 400 }), (xs) => {
        const out = new Set<number>();
        decodeRanges(encodeRanges(xs), out);
        expect([...out].sort((a, b) => a - b)).toEqual([...new Set(xs)].sort((a, b) => a - b));
      }),
    );
    expect(encodeRanges([5, 0, 1, 2, 7, 8, 2])).toBe('0-2,5,7-8');
  });
});

describe('ClusterShardPlanner on a simulated cluster', () => {
  it('3 nodes, 10 shards every 2 s: each shard of each instant once, spread 4/3/3 or better, one parent snapshot with the results', async () => {
    const t = shardedCluster();
    await t.start();
    await t.clock.advance(12_000);
    const { shards, parents } = split(await t.snapshots());
    const instants = [...new Set(parents.map((p) => p.scheduledAt))];
    expect(instants.length).toBeGreaterThanOrEqual(5);
    for (const instant of instants) {
      const these = shards.filter((s) => s.scheduledAt === instant);
      if (these.some((s) => s.status === 'running')) continue; // the last instant may still run
      expect(these.map((s) => s.shardIndex).sort((a, b) => (a as number) - (b as number))).toEqual([...Array(10).keys()]);
      const perNode = new Map<string, number>();
      for (const s of these) perNode.set(s.nodeId, (perNode.get(s.nodeId) ?? 0) + 1);
      expect(perNode.size).toBe(3);
      expect(Math.max(...perNode.values())).toBeLessThanOrEqual(4);
      const parent = parents.filter((p) => p.scheduledAt === instant);
      expect(parent).toHaveLength(1);
      expect(parent[0]?.status).toBe('completed');
      expect(parent[0]?.shardTotal).toBe(10);
      expect(parent[0]?.shards?.map((r) => r.status)).toEqual(Array(10).fill('completed'));
      expect(parent[0]?.itemsDone).toBe(t.itemsPerFire);
      for (const s of these) expect(s).toMatchObject({ status: 'completed', itemsTotal: 10, itemsDone: 10, itemsFailed: 0 });
    }
    // Every item of every finished fire processed exactly once.
    const perItem = new Map<string, number>();
    for (const r of t.runs) perItem.set(`${r.fireId}:${r.item}`, (perItem.get(`${r.fireId}:${r.item}`) ?? 0) + 1);
    expect([...perItem.values()].every((n) => n === 1)).toBe(true);
    await stopAll(t.cluster);
  });

  for (const victim of ['a shard node', 'the parent node', 'a shard node frozen past its lease'] as const) {
    const frozen = victim === 'a shard node frozen past its lease';
    it(`${frozen ? 'SIGSTOP' : 'kill -9'} of ${victim} mid-fire: its shards finish on the others, finished items are not run again`, async () => {
      const t = shardedCluster({ itemMs: 100, itemsPerFire: 100, cfg: { cronSpec: '0 * * * * *' } });
      const parentNode = parentNodes(t.cluster);
      await t.start();
      const instant = FIRST_MINUTE;
      // Items take 100 ms, 10 per shard (1 s a shard): kill 570 ms in, just after a flush of progress.
      await t.clock.advance(instant - t.clock.now() + 570);
      const fireId = `report@${instant}`;
      const parent = parentNode.get(fireId) as string;
      expect(parent).toBeDefined();
      const killed = victim === 'the parent node' ? parent : (t.cluster.nodes.find((n) => n.id !== parent) as SimulatedNode).id;
      const finishedBefore = t.runs.filter((r) => r.nodeId === killed && r.ok).map((r) => `${r.shardIndex}:${r.item}`);
      expect(finishedBefore.length).toBeGreaterThan(0);
      // The items the victim is in the middle of (a frozen node finishes them when it wakes).
      const inFlight = new Set(t.runs.filter((r) => r.nodeId === killed && !r.ok).map((r) => `${r.shardIndex}:${r.item}`));
      if (frozen) {
        t.cluster.node(killed).freeze();
        await t.clock.advance(8_000);
        // Woken fenced off: it aborts its shards and closes their snapshots too; the count stays the taker's.
        await t.cluster.node(killed).thaw();
        await t.clock.advance(12_000);
      } else {
        t.cluster.node(killed).kill();
        await t.clock.advance(20_000);
      }
      const { shards, parents } = split(await t.snapshots());
      // Nothing of the fire is left `running` in the shared history: every run the dead node left
      // (its shards, and the parent if it ran there) is closed abandoned under its own execution id,
      // and counted once in the cluster.
      const ofFire = [...parents.filter((p) => p.fireId === fireId), ...shards.filter((s) => s.scheduledAt === instant)];
      expect(ofFire.filter((x) => x.status === 'running')).toEqual([]);
      const left = ofFire.filter((x) => x.nodeId === killed && x.status === 'abandoned');
      expect(left.length).toBeGreaterThan(0);
      expect(left.every((x) => x.attempt === 1 && x.durationMs !== undefined)).toBe(true);
      const abandoned = t.cluster.nodes.reduce((sum, n) => sum + n.scheduler.getJobMetrics('report').abandonedCount, 0);
      expect(abandoned).toBe(left.length);
      const fireParents = parents.filter((p) => p.fireId === fireId && p.status !== 'abandoned');
      expect(fireParents.map((p) => p.status)).toEqual(['completed']);
      expect(fireParents[0]?.shards?.every((r) => r.status === 'completed')).toBe(true);
      if (victim === 'the parent node') {
        expect(parents.filter((p) => p.fireId === fireId && p.status === 'abandoned').map((p) => [p.nodeId, p.attempt])).toEqual([
          [killed, 1],
        ]);
        expect(fireParents[0]?.attempt).toBe(2);
      }
      const retaken = shards.filter((s) => s.scheduledAt === instant && s.attempt === 2);
      expect(retaken.length).toBeGreaterThan(0);
      expect(retaken.every((s) => s.nodeId !== killed && s.status === 'completed')).toBe(true);
      // Each item of the fire succeeded exactly once; the items the dead node finished were skipped.
      // Woken from a freeze, a node completes the item it was in the middle of before its abort lands:
      // those items (one per shard it ran, no others) succeed twice — the shard's fencing token is
      // what a job's writes check for that.
      const ok = new Map<string, number>();
      for (const r of t.runs.filter((r) => r.fireId === fireId && r.ok))
        ok.set(`${r.shardIndex}:${r.item}`, (ok.get(`${r.shardIndex}:${r.item}`) ?? 0) + 1);
      expect(ok.size).toBe(100);
      const twice = [...ok.entries()].filter(([, n]) => n !== 1);
      if (frozen) expect(twice.every(([key, n]) => n === 2 && inFlight.has(key))).toBe(true);
      else expect(twice).toEqual([]);
      for (const key of finishedBefore) expect(ok.get(key)).toBe(1);
      await stopAll(t.cluster);
    });
  }

  it("the parent's node stops gracefully mid-fire: the fire is handed over and completes on the others, each shard once", async () => {
    const t = shardedCluster({ itemMs: 100, cfg: { cronSpec: '0 * * * * *' } });
    const parentNode = parentNodes(t.cluster);
    await t.start();
    const instant = FIRST_MINUTE;
    await t.clock.advance(instant - t.clock.now() + 300);
    const fireId = `report@${instant}`;
    const leaving = t.cluster.node(parentNode.get(fireId) as string);
    const stopped = leaving.scheduler.stop({ timeoutMs: 30_000 });
    await t.clock.advance(20_000);
    await stopped;
    const { shards, parents } = split(await t.snapshots());
    const mine = parents.filter((p) => p.fireId === fireId);
    // The leaving node's parent execution is closed as handed over; another node's ends the fire.
    expect(mine.find((p) => p.nodeId === leaving.id)).toMatchObject({
      status: 'cancelled',
      errorMessage: expect.stringMatching(/handed over/),
    });
    const ended = mine.filter((p) => p.nodeId !== leaving.id);
    expect(ended.map((p) => p.status)).toEqual(['completed']);
    expect(ended[0]?.shards?.map((r) => r.status)).toEqual(Array(10).fill('completed'));
    const fireShards = shards.filter((s) => s.scheduledAt === instant);
    expect(
      fireShards
        .filter((s) => s.status === 'completed')
        .map((s) => s.shardIndex)
        .sort((a, b) => (a as number) - (b as number)),
    ).toEqual([...Array(10).keys()]);
    expect(fireShards.every((s) => s.status === 'completed')).toBe(true);
    await stopAll(t.cluster);
  });

  it('a node dead before the fire (still inside its TTL, so in the plan): its shards are claimed by the others after the grace', async () => {
    const t = shardedCluster({ cfg: { cronSpec: '0 * * * * *' } });
    await t.start();
    const instant = FIRST_MINUTE;
    await t.clock.advance(instant - t.clock.now() - 200);
    t.cluster.node('node-3').kill();
    // The TTL is 3 s: at the instant the others still count node-3 live and allocate it shards.
    await t.clock.advance(10_000);
    const { shards, parents } = split(await t.snapshots());
    const parent = parents.find((p) => p.scheduledAt === instant && p.status !== 'running');
    expect(parent?.status).toBe('completed');
    expect(parent?.shards?.map((r) => r.nodeId)).not.toContain('node-3');
    const these = shards.filter((s) => s.scheduledAt === instant);
    expect(these.map((s) => s.shardIndex).sort((a, b) => (a as number) - (b as number))).toEqual([...Array(10).keys()]);
    expect(these.every((s) => s.attempt === 1 && s.status === 'completed')).toBe(true);
    // node-3's share started only once the grace (500 ms) had passed.
    const late = these.filter((s) => s.startedAt - instant >= 500);
    expect(late.length).toBeGreaterThanOrEqual(3);
    await stopAll(t.cluster);
  });

  it('a node joining mid-run gets shards from the next instant on', async () => {
    const t = shardedCluster({ nodes: 4, startNodes: 3 });
    await t.start();
    await t.clock.advance(6_000);
    const joinedAt = t.clock.now();
    await t.cluster.node('node-4').scheduler.start();
    await t.clock.advance(8_000);
    const { shards } = split(await t.snapshots());
    expect(shards.filter((s) => (s.scheduledAt as number) <= joinedAt && s.nodeId === 'node-4')).toEqual([]);
    const after = shards.filter((s) => (s.scheduledAt as number) > joinedAt + 2_000 && s.status === 'completed');
    const instants = [...new Set(after.map((s) => s.scheduledAt))];
    expect(instants.length).toBeGreaterThanOrEqual(2);
    for (const instant of instants) {
      const nodes = new Map<string, number>();
      for (const s of after.filter((x) => x.scheduledAt === instant)) nodes.set(s.nodeId, (nodes.get(s.nodeId) ?? 0) + 1);
      expect(nodes.get('node-4')).toBeGreaterThan(0);
      expect(Math.max(...nodes.values())).toBeLessThanOrEqual(3);
    }
    await stopAll(t.cluster);
  });

  it('a failing item: the others still run, the shard says how many failed, the fire fails naming its shards', async () => {
    const t = shardedCluster({ failItem: (i) => i === 13 || i === 27, cfg: { cronSpec: '0 * * * * *' } });
    await t.start();
    await t.clock.advance(65_000);
    const { shards, parents } = split(await t.snapshots());
    const shard3 = shards.find((s) => s.shardIndex === 3 && s.status !== 'running');
    expect(shard3).toMatchObject({ status: 'failed', itemsTotal: 10, itemsDone: 9, itemsFailed: 1 });
    const shard7 = shards.find((s) => s.shardIndex === 7 && s.status !== 'running');
    expect(shard7).toMatchObject({ status: 'failed', itemsFailed: 1 });
    const parent = parents.find((p) => p.status !== 'running');
    expect(parent?.status).toBe('failed');
    expect(parent?.errorMessage).toMatch(/2 of 10 shards of fire report@\d+ did not complete \(2 failed\)/);
    expect(parent).toMatchObject({ itemsTotal: 100, itemsDone: 98, itemsFailed: 2 });
    expect(t.runs.filter((r) => r.ok)).toHaveLength(98);
    await stopAll(t.cluster);
  });

  it('shardingItemConcurrency runs that many items of a shard at once', async () => {
    const t = shardedCluster({ nodes: 1, total: 2, itemMs: 50, cfg: { cronSpec: '0 * * * * *', shardingItemConcurrency: 4 } });
    let now = 0;
    let peak = 0;
    t.cluster.nodes[0]?.scheduler.on('start', () => undefined);
    const original = t.runs.push.bind(t.runs);
    t.runs.push = (...items: ItemRun[]) => {
      now = t.runs.filter((r) => !r.ok).length + items.length;
      peak = Math.max(peak, now);
      return original(...items);
    };
    await t.start();
    await t.clock.advance(65_000);
    expect(t.runs.filter((r) => r.ok)).toHaveLength(100);
    // Two shards on one node, four items each at a time.
    expect(peak).toBe(8);
    await stopAll(t.cluster);
  });
});

describe('static sharding and bad configuration', () => {
  it('withSharding gives a plain job its fixed shard; getShardIndex/getShardTotal are undefined when not sharded', async () => {
    const clock = new FakeClock(T0);
    const seen: Array<[string, number | undefined, number | undefined]> = [];
    const sched = new Scheduler({
      clock,
      logger: silentLogger,
      chain: new Chain(withSharding((ctx) => (ctx.jobName === 'static' ? { shardIndex: 2, shardTotal: 4 } : undefined))),
    });
    for (const name of ['static', 'plain']) {
      sched.registerJob(
        { name, execute: (ctx) => void seen.push([name, getShardIndex(ctx), getShardTotal(ctx)]) },
        { cronSpec: '* * * * * *' },
      );
    }
    await sched.start();
    await clock.advance(1_500);
    expect(seen).toContainEqual(['static', 2, 4]);
    expect(seen).toContainEqual(['plain', undefined, undefined]);
    await sched.stop();
  });

  it('a static context out of range fails the run with a clear error', async () => {
    const clock = new FakeClock(T0);
    const sched = new Scheduler({
      clock,
      logger: silentLogger,
      chain: new Chain(withSharding(() => ({ shardIndex: 4, shardTotal: 4 }))),
    });
    sched.registerJob({ name: 'j', execute: () => undefined });
    await sched.start();
    const outcome = await sched.trigger('j');
    expect(outcome.status).toBe('failed');
    expect(outcome.error?.message).toMatch(/shardIndex must be an integer from 0 to 3, got 4/);
    await sched.stop();
  });

  it('typed errors at registration: shardingTotal 0, sharding a plain job, sharding without the package', () => {
    const sharding: ShardingJob<number> = { name: 's', fetchShardingItems: () => [], processShardingItem: () => undefined };
    const withPlanner = new Scheduler({ logger: silentLogger, shardPlanner: new ClusterShardPlanner() });
    expect(() => withPlanner.registerJob(sharding, { shardingEnabled: true, shardingTotal: 0 })).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidConfig, message: expect.stringMatching(/shardingTotal/) }),
    );
    expect(() => withPlanner.registerJob(sharding, { shardingEnabled: true, shardingTotal: 10_001 })).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidConfig }),
    );
    expect(() =>
      withPlanner.registerJob({ name: 'p', execute: () => undefined }, { shardingEnabled: true, shardingTotal: 3 }),
    ).toThrow(expect.objectContaining({ code: ErrorCode.InvalidConfig, message: expect.stringMatching(/is not a ShardingJob/) }));
    expect(() =>
      new Scheduler({ logger: silentLogger }).registerJob(sharding, { shardingEnabled: true, shardingTotal: 3 }),
    ).toThrow(expect.objectContaining({ code: ErrorCode.MissingPackage, message: expect.stringMatching(/@sched\/sharding/) }));
    expect(() => withSharding(42 as never)).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
    expect(() => new ClusterShardPlanner({ takeoverGraceMs: 0 })).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidArgument }),
    );
  });

  it('CPU-bound items do not starve the event loop (timers such as lease renewals keep running)', async () => {
    const sched = new Scheduler({ logger: silentLogger });
    const busy = (ms: number): void => {
      const end = performance.now() + ms;
      while (performance.now() < end) {
        /* a synchronous item */
      }
    };
    sched.registerJob({
      name: 'cpu',
      fetchShardingItems: () => [...Array(300).keys()],
      processShardingItem: () => busy(1),
    } satisfies ShardingJob<number>);
    await sched.start();
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 5);
    const outcome = await sched.trigger('cpu');
    clearInterval(timer);
    expect(outcome).toMatchObject({ status: 'completed', items: { itemsTotal: 300, itemsDone: 300, itemsFailed: 0 } });
    // About 300 ms of items: a timer every 5 ms ran many times meanwhile (without yielding: once, at the end).
    expect(ticks).toBeGreaterThanOrEqual(10);
    await sched.stop();
  });

  it('a manual trigger of a sharded job runs every shard and resolves with the fire outcome', async () => {
    const clock = new FakeClock(T0);
    const sched = new Scheduler({ clock, logger: silentLogger, shardPlanner: new ClusterShardPlanner({ pollIntervalMs: 100 }) });
    const processed: number[] = [];
    sched.registerJob(
      {
        name: 'm',
        fetchShardingItems: (_ctx, s) => [s.shardIndex * 10, s.shardIndex * 10 + 1],
        processShardingItem: (_ctx, item: number) => void processed.push(item),
      } satisfies ShardingJob<number>,
      { shardingEnabled: true, shardingTotal: 3 },
    );
    await sched.start();
    const pending = sched.trigger('m');
    await clock.advance(1_000);
    const outcome = await pending;
    expect(outcome.status).toBe('completed');
    expect(outcome.shards?.map((s) => s.shardIndex)).toEqual([0, 1, 2]);
    expect(outcome.items).toEqual({ itemsTotal: 6, itemsDone: 6, itemsFailed: 0 });
    expect(processed.sort((a, b) => a - b)).toEqual([0, 1, 10, 11, 20, 21]);
    await sched.stop();
  });
});
