import { describe, expect, it } from 'vitest';
import { MemoryPubSub, MemoryPubSubHub, silentLogger, type MetricsHost, type SchedulerMetrics } from '@sched/core';
import { createSimulatedCluster } from '@sched/testkit';
import { aggregateMetrics, MetricsCollector } from '../src/index.js';

const jobs = ['a', 'b', 'c', 'd', 'e', 'f'].map((name) => ({ name, cfg: { cronSpec: '* * * * * *' }, durationMs: 10 }));

describe('getClusterMetrics over the PubSub port', () => {
  it('3 nodes: the aggregate equals the sum of every node’s runs in the ledger, per job and in total', async () => {
    const cluster = createSimulatedCluster({ nodes: 3, jobs, nodeOptions: () => ({ metricsSink: new MetricsCollector() }) });
    await cluster.start();
    // Half a second past the last instant: every 10 ms run has finished and been counted.
    await cluster.advance(10_500);
    const [first] = cluster.nodes;
    const m = await first!.scheduler.getClusterMetrics({ timeoutMs: 2_000 });
    await cluster.stop();

    const finished = cluster.ledger.filter((r) => r.finishedAt !== undefined);
    expect(finished).toHaveLength(cluster.ledger.length);
    expect(m.missing).toEqual([]);
    expect(m.nodes.map((n) => n.nodeId)).toEqual(['node-1', 'node-2', 'node-3']);
    for (const node of m.nodes) {
      expect(node.totals.executionCount).toBe(finished.filter((r) => r.nodeId === node.nodeId).length);
    }
    expect(m.totals.executionCount).toBe(finished.length);
    expect(m.totals.successCount).toBe(finished.length);
    expect(finished.length).toBeGreaterThanOrEqual(6 * 9);
    for (const job of jobs) {
      expect(m.jobs[job.name]?.executionCount).toBe(finished.filter((r) => r.jobName === job.name).length);
    }
    // Every node ran some of them: the sum is over nodes, not one node's view.
    expect(m.nodes.every((n) => n.totals.executionCount > 0)).toBe(true);
    expect(m.totals.avgExecutionTimeMs).toBe(10);
    expect(m.totals.successRate).toBe(1);
  });

  it('a live node that does not answer (killed, still within its TTL) is listed missing after the timeout', async () => {
    const cluster = createSimulatedCluster({ nodes: 3, jobs, nodeOptions: () => ({ metricsSink: new MetricsCollector() }) });
    await cluster.start();
    await cluster.advance(3_000);
    cluster.node('node-3').kill();
    const m = await cluster.node('node-1').scheduler.getClusterMetrics({ timeoutMs: 200, jobNames: ['a', 'b'] });
    await cluster.stop();
    expect(m.missing).toEqual(['node-3']);
    expect(m.nodes.map((n) => n.nodeId)).toEqual(['node-1', 'node-2']);
    expect(Object.keys(m.jobs)).toEqual(['a', 'b']);
    expect(m.totals.executionCount).toBe(m.jobs.a!.executionCount + m.jobs.b!.executionCount);
  });

  it('malformed requests and replies are logged and dropped; the asker still gets its answer', async () => {
    const hub = new MemoryPubSubHub();
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (msg: string) => void warnings.push(msg) };
    const metrics = (nodeId: string): SchedulerMetrics => ({
      nodeId,
      running: 0,
      queued: 0,
      totals: aggregateMetrics([], []).totals,
      jobs: {},
    });
    const host = (nodeId: string): MetricsHost => ({
      nodeId,
      logger,
      pubsub: new MemoryPubSub({ hub }),
      getMetrics: () => metrics(nodeId),
      load: () => ({ running: 0, queued: 0 }),
      getNodes: () => Promise.resolve([{ nodeId: 'x' }, { nodeId: 'y' }] as Awaited<ReturnType<MetricsHost['getNodes']>>),
    });
    const collector = new MetricsCollector();
    const [x, y] = [host('x'), host('y')];
    await collector.attach(x);
    await collector.attach(y);
    const rogue = new MemoryPubSub({ hub });
    await rogue.publish('scheduler:metrics:request', { v: 1, requestId: 42 });
    await rogue.publish('scheduler:metrics:reply:x', { v: 1, requestId: 'r', metrics: { nodeId: 'y', running: -1 } });
    const m = await collector.getClusterMetrics(x, { timeoutMs: 1_000 });
    expect(m.nodes.map((n) => n.nodeId)).toEqual(['x', 'y']);
    expect(m.missing).toEqual([]);
    // Both nodes got the bad request; the bad reply went to x alone.
    expect(warnings.sort()).toEqual([
      'cluster metrics: malformed reply dropped',
      'cluster metrics: malformed request dropped',
      'cluster metrics: malformed request dropped',
    ]);
    await expect(collector.getClusterMetrics(x, { timeoutMs: 0 })).rejects.toThrow(/timeoutMs must be a positive integer/);
    await collector.detach(x);
    await collector.detach(y);
  });
});
