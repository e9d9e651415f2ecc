import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canRunRedis, startRedisCluster, type RedisClusterInfo } from '@sched/testkit';
import { Scenario, checkExactlyOnce, sleep } from './harness.js';

describe.skipIf(!canRunRedis())('multi-process scenarios on a 3-master Redis Cluster', () => {
  let cluster: RedisClusterInfo;
  let scenario: Scenario | undefined;
  beforeAll(async () => {
    cluster = await startRedisCluster();
  });
  afterAll(async () => {
    await scenario?.stopAll();
    await cluster?.stop();
  });

  it('2. 3 nodes, 300 jobs every second over 16 buckets: each fire exactly once, none missed, each node 20–47 %', async () => {
    const s = (scenario = new Scenario({ redis: { cluster: cluster.nodes }, keyPrefix: 'rc', jobs: 300 }));
    await Promise.all(['a', 'b', 'c'].map((id) => s.start(id)));
    const from = Date.now() + 1_500;
    await sleep(8_000);
    const to = Date.now() - 1_500;
    await s.stopAll();
    const { duplicates, missed, shares } = checkExactlyOnce(s.starts(), 300, from, to);
    expect(duplicates).toEqual([]);
    expect(missed).toEqual([]);
    for (const id of ['a', 'b', 'c']) {
      expect(shares.get(id)).toBeGreaterThan(0.2);
      expect(shares.get(id)).toBeLessThan(0.47);
    }
  });
});
