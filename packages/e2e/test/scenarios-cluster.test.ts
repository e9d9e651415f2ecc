import { afterAll, beforeAll, describe, it } from 'vitest';
import { canRunRedis, startRedisCluster, type RedisClusterInfo } from '@sched/testkit';
import { Scenario, expectSpreadExactlyOnce } from './harness.js';

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
    await expectSpreadExactlyOnce(s, 300, 1_500);
  });
});
