import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { canRunRedis } from '@sched/testkit';
import { redisScenarios, until, type LedgerLine, type Scenario } from './harness.js';

const isShard = (l: LedgerLine): boolean => l.fireId.includes('#');
const shardIndexOf = (l: LedgerLine): number => Number(l.fireId.split('#')[1]);
const parentOf = (l: LedgerLine): string => l.fireId.split('#')[0] as string;

describe.skipIf(!canRunRedis())('sharded fires across node processes on Redis', () => {
  const suite = redisScenarios('shard');
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(suite.url());
  });
  afterAll(() => {
    redis?.disconnect();
  });
  const make = (sharding: { items: number; itemMs: number }, cronSpec = '*/2 * * * * *') =>
    suite.scenario({ jobs: 0, cronSpec, sharding: { total: 10, ...sharding } });
  /** Each item's rows (written set-if-absent) and success count (every success) of one fire. */
  const itemsOf = async (fireId: string) => ({
    rows: await redis.hgetall(`rows:${fireId}`),
    processed: Object.fromEntries(Object.entries(await redis.hgetall(`processed:${fireId}`)).map(([k, v]) => [k, Number(v)])),
  });
  const parentEnds = (s: Scenario) => s.read().filter((l) => l.ev === 'end' && l.job === 'sharded' && !isShard(l));

  it('3 nodes, 10 shards every 2 s for ~12 s: each shard of each instant once, spread 4/3/3 or better, every item once', async () => {
    const s = make({ items: 60, itemMs: 20 });
    await Promise.all(['a', 'b', 'c'].map((id) => s.start(id)));
    // A fire due while a node was still starting is planned over the nodes live then: the spread
    // is checked on the fires due after every node was up and had heartbeated (200 ms) twice.
    const allUp = Date.now() + 500;
    const settled = () => parentEnds(s).filter((l) => (l.scheduledAt ?? 0) > allUp);
    // Six fires every 2 s, each ~0.1 s of work: 25 s is a wide margin for a loaded CI machine.
    await until(() => settled().length >= 6, 25_000, 'six sharded fires');
    const ends = settled();
    for (const end of ends) {
      expect(end.status).toBe('completed');
      const shards = s.read().filter((l) => l.ev === 'start' && isShard(l) && parentOf(l) === end.fireId);
      expect(shards.map(shardIndexOf).sort((x, y) => x - y)).toEqual([...Array(10).keys()]);
      const perNode = new Map<string, number>();
      for (const l of shards) perNode.set(l.node, (perNode.get(l.node) ?? 0) + 1);
      const spread = `${end.fireId}: ${JSON.stringify([...perNode])}`;
      expect(perNode.size, spread).toBe(3);
      expect(Math.max(...perNode.values()), spread).toBeLessThanOrEqual(4);
      const { rows, processed } = await itemsOf(end.fireId);
      expect(Object.keys(rows)).toHaveLength(60);
      expect(Object.values(processed).every((n) => n === 1)).toBe(true);
    }
    // The DAG dependent ran once per fire, after the fire's end (so after every shard's).
    await until(
      () => s.read().filter((l) => l.ev === 'end' && l.job === 'after-sharded').length >= ends.length,
      5_000,
      'the dependents of those fires',
    );
    for (const end of ends) {
      const after = s.read().filter((l) => l.ev === 'start' && l.job === 'after-sharded' && l.scheduledAt === end.scheduledAt);
      expect(after).toHaveLength(1);
      const lastShardEnd = Math.max(
        ...s
          .read()
          .filter((l) => l.ev === 'end' && isShard(l) && parentOf(l) === end.fireId)
          .map((l) => l.wall),
      );
      expect((after[0] as LedgerLine).wall).toBeGreaterThanOrEqual(lastShardEnd);
    }
  });

  it('kill -9 of the node running a fire mid-fire: the others finish its shards and the fire; every item has one row', async () => {
    // 10 shards of 10 items × 100 ms (1 s a shard), every 10 s; progress flushed every 50 ms.
    const s = make({ items: 100, itemMs: 100 }, '*/10 * * * * *');
    await Promise.all(['a', 'b', 'c'].map((id) => s.start(id)));
    const isParentStart = (l: LedgerLine): boolean => l.ev === 'start' && l.job === 'sharded' && !isShard(l);
    await until(() => s.read().some(isParentStart), 15_000, 'a sharded fire to start');
    const parent = s.read().find(isParentStart) as LedgerLine;
    // Its node has run some items of its shards: kill it mid-fire.
    await until(
      async () => Object.values((await itemsOf(parent.fireId)).rows).filter((n) => n === parent.node).length >= 3,
      5_000,
      'the parent node to finish a few items',
    );
    s.signal(parent.node, 'SIGKILL');
    const killedAt = Date.now();
    // Bound: the lease (1.5 s) lapses, the next sweep (0.25 s) or takeover claims: well inside 15 s.
    await until(() => parentEnds(s).some((l) => l.fireId === parent.fireId), 15_000, 'the fire to end on another node');
    const end = parentEnds(s).find((l) => l.fireId === parent.fireId) as LedgerLine;
    expect(end.status).toBe('completed');
    expect(end.node).not.toBe(parent.node);
    expect(end.attempt).toBe(2);
    const shardEnds = s.read().filter((l) => l.ev === 'end' && isShard(l) && parentOf(l) === parent.fireId);
    // Every shard completed once; the dead node's unfinished shards ran again elsewhere as attempt 2.
    const completed = shardEnds.filter((l) => l.status === 'completed');
    expect(completed.map(shardIndexOf).sort((x, y) => x - y)).toEqual([...Array(10).keys()]);
    const retaken = completed.filter((l) => l.attempt === 2);
    expect(retaken.length).toBeGreaterThan(0);
    expect(retaken.every((l) => l.node !== parent.node && l.wall >= killedAt)).toBe(true);
    const { rows, processed } = await itemsOf(parent.fireId);
    expect(Object.keys(rows)).toHaveLength(100);
    // Items the dead node finished are skipped on the re-run, but for those finished in its last
    // flush window (50 ms against 100 ms items: at most one per shard it was running).
    const again = Object.entries(processed).filter(([, n]) => n > 1);
    expect(again.length).toBeLessThanOrEqual(retaken.length);
    expect(Object.values(processed).every((n) => n <= 2)).toBe(true);
  });

  it('a node joining mid-run gets shards from the next instant on', async () => {
    const s = make({ items: 30, itemMs: 10 });
    await Promise.all(['a', 'b'].map((id) => s.start(id)));
    await until(() => parentEnds(s).length >= 2, 15_000, 'two fires on two nodes');
    const joined = Date.now();
    await s.start('c');
    await until(
      () => parentEnds(s).filter((l) => (l.scheduledAt as number) > joined + 2_000).length >= 2,
      15_000,
      'two fires after the join',
    );
    const shardStarts = s.read().filter((l) => l.ev === 'start' && isShard(l));
    expect(shardStarts.filter((l) => l.node === 'c' && (l.scheduledAt as number) < joined)).toEqual([]);
    for (const end of parentEnds(s).filter((l) => (l.scheduledAt as number) > joined + 2_000)) {
      const these = shardStarts.filter((l) => parentOf(l) === end.fireId);
      expect(these.filter((l) => l.node === 'c').length).toBeGreaterThanOrEqual(3);
      expect(new Set(these.map(shardIndexOf)).size).toBe(10);
    }
  });
});
