import { describe, expect, it } from 'vitest';
import { RedisServer, canRunRedis } from '@sched/testkit';
import { runClusterDemo } from '../src/cluster/orchestrator.js';

describe.skipIf(!canRunRedis())('the distributed demo (3 node processes on a throwaway redis-server)', () => {
  it('shows every feature and its checks hold: no duplicate, no miss, the others take over the killed node', async () => {
    const server = await RedisServer.start();
    const lines: string[] = [];
    try {
      const result = await runClusterDemo({
        redisUrl: server.url,
        keyPrefix: 'demo-test',
        print: (l) => lines.push(l),
        // The node processes load the packages' TypeScript sources (no build needed).
        execArgv: ['--conditions=@sched/source', '--import', 'tsx'],
        phaseSeconds: 4,
      });
      const c = result.checks;
      // One assertion for the lists that must be empty, so a failure shows all of them.
      expect({
        duplicates: c.duplicates,
        missed: c.heartbeat.missed,
        duplicated: c.heartbeat.duplicated,
        dagViolations: c.dag.violations,
        inversions: c.priority.inversions,
      }).toEqual({ duplicates: [], missed: [], duplicated: [], dagViolations: [], inversions: [] });
      expect(c.heartbeat.expected).toBeGreaterThanOrEqual(12);
      expect(c.dag.runs).toBeGreaterThanOrEqual(2);
      expect(c.sharding.fires).toBeGreaterThanOrEqual(1);
      expect(c.sharding.complete).toBe(c.sharding.fires);
      expect(c.priority.instants).toBeGreaterThan(0);
      expect(c.overlap.skips).toBeGreaterThan(0);
      expect(c.overlap.overlapping).toBe(0);
      expect(c.remote.map((r) => [r.strategy, r.error ?? r.ran.length])).toEqual([
        ['first', 1],
        ['last', 1],
        ['random', 1],
        ['round-robin', 1],
        ['broadcast', 3],
        ['sharding', 3],
        ['specific', 1],
        ['failover', 1],
      ]);
      expect(c.remote.find((r) => r.strategy === 'specific')?.ran).toEqual(['node-b completed']);
      expect(c.config.appliedBy).toEqual(['node-a', 'node-b', 'node-c']);
      expect(c.config.reportOffSpecAfter).toBe(0);
      expect(c.takeover.victimStartsAfterKill).toBe(0);
      expect(c.takeover.leftAfterMs).toBeGreaterThan(0);
      expect(Object.keys(c.takeover.startsAfterKill).sort()).toEqual(['node-a', 'node-b']);
      // The summary: runs per job and node from the snapshots, and the cluster metrics.
      expect(result.runs.get('heartbeat')).toBeDefined();
      expect(result.metrics?.missing).toEqual([]);
      const text = lines.join('\n');
      for (const banner of ['remote execution', 'hot config reload', 'kill -9 node-c', 'runs per job and node']) {
        expect(text).toContain(banner);
      }
      expect(text).not.toMatch(/ error: /);
      expect(text).not.toMatch(/\bNO$/m);
    } finally {
      await server.dispose();
    }
  });
});
