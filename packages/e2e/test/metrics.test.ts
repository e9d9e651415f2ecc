import { describe, expect, it } from 'vitest';
import type { ClusterMetrics, SchedulerMetrics } from '@sched/core';
import { canRunRedis } from '@sched/testkit';
import { redisScenarios, until, type Scenario } from './harness.js';

const NODES = ['a', 'b', 'c'];
const JOBS = 6;

/** Finished executions in the ledger (an `end` or a `fail` line), by node. */
function finished(s: Scenario) {
  const lines = s.read().filter((l) => l.ev === 'end' || l.ev === 'fail');
  return {
    total: lines.length,
    failed: lines.filter((l) => l.ev === 'fail').length,
    byNode: (node: string) => lines.filter((l) => l.node === node).length,
    byJob: (job: string) => lines.filter((l) => l.job === job).length,
  };
}

describe.skipIf(!canRunRedis())('cluster metrics across node processes on Redis', () => {
  const suite = redisScenarios('metrics');

  it('3 nodes: getClusterMetrics on one node equals the sum of every node’s runs, and each node’s own counters', async () => {
    const s = suite.scenario({ jobs: JOBS, durationMs: 20, failJobs: [`job-${JOBS - 1}`] });
    await Promise.all(NODES.map((id) => s.start(id)));
    await until(
      () => new Set(s.starts().map((l) => l.node)).size === 3 && s.starts().length >= JOBS * 4,
      20_000,
      'every node running fires',
    );
    // Pause every job (the shared config reaches all nodes), then let the runs in flight finish.
    for (let i = 0; i < JOBS; i++) expect((await s.command('a', 'pause', `job-${i}`)).ok).toBe(true);
    let last = -1;
    await until(
      () => {
        const now = finished(s).total;
        const settled = now === last && now === s.starts().length;
        last = now;
        return settled;
      },
      15_000,
      'no run in flight and none started for a while',
      1_000, // polled once a second: two equal reads a second apart
    );

    const answer = await s.command('b', 'getClusterMetrics', { timeoutMs: 5_000 });
    expect(answer.ok).toBe(true);
    const cluster = answer.result as ClusterMetrics;
    const ledger = finished(s);
    expect(cluster.missing).toEqual([]);
    expect(cluster.nodes.map((n) => n.nodeId)).toEqual(NODES);
    expect(cluster.totals.executionCount).toBe(ledger.total);
    expect(cluster.totals.failureCount).toBe(ledger.failed);
    expect(cluster.totals.successCount).toBe(ledger.total - ledger.failed);
    expect(cluster.jobs[`job-${JOBS - 1}`]?.failureCount).toBe(ledger.byJob(`job-${JOBS - 1}`));
    for (let i = 0; i < JOBS; i++) expect(cluster.jobs[`job-${i}`]?.executionCount).toBe(ledger.byJob(`job-${i}`));
    for (const node of NODES) {
      const part = cluster.nodes.find((n) => n.nodeId === node) as SchedulerMetrics;
      expect(part.totals.executionCount).toBe(ledger.byNode(node));
      const own = (await s.command(node, 'getMetrics')).result as SchedulerMetrics;
      expect(own.totals.executionCount).toBe(part.totals.executionCount);
      expect(own.totals.successCount).toBe(part.totals.successCount);
    }
    // The work was spread: every node ran some of it.
    expect(NODES.every((n) => ledger.byNode(n) > 0)).toBe(true);
    expect(cluster.totals.successRate).toBeCloseTo((ledger.total - ledger.failed) / ledger.total, 10);
  });
});
