import type { ClusterMetrics, JobMetrics, SchedulerMetrics } from '@sched/core';

const COUNTS = [
  'executionCount',
  'attemptCount',
  'fireCount',
  'successCount',
  'failureCount',
  'timeoutCount',
  'abandonedCount',
  'cancelledCount',
  'skippedCount',
  'misfireCount',
] as const;

function empty(): JobMetrics {
  return {
    executionCount: 0,
    attemptCount: 0,
    fireCount: 0,
    successCount: 0,
    failureCount: 0,
    timeoutCount: 0,
    abandonedCount: 0,
    cancelledCount: 0,
    skippedCount: 0,
    misfireCount: 0,
    successRate: 0,
    avgExecutionTimeMs: 0,
    p95ExecutionTimeMs: 0,
    lastExecutionAt: undefined,
    lastStatus: undefined,
  };
}

/**
 * One job's (or the totals') counters summed over nodes: counts add up,
 * `successRate` and the average are recomputed from the sums (the average
 * weighted by each node's timed executions), the p95 is the highest node's
 * (an upper bound: the nodes' windows are not sent), and the last execution
 * is the latest node's.
 */
export function sumJobMetrics(parts: readonly JobMetrics[]): JobMetrics {
  const sum = empty();
  let timed = 0;
  let durationMs = 0;
  for (const m of parts) {
    for (const key of COUNTS) sum[key] += m[key];
    const n = m.executionCount - m.abandonedCount;
    timed += n;
    durationMs += m.avgExecutionTimeMs * n;
    sum.p95ExecutionTimeMs = Math.max(sum.p95ExecutionTimeMs, m.p95ExecutionTimeMs);
    if (m.lastExecutionAt && (!sum.lastExecutionAt || m.lastExecutionAt > sum.lastExecutionAt)) {
      sum.lastExecutionAt = m.lastExecutionAt;
      sum.lastStatus = m.lastStatus;
    }
  }
  const decided = sum.successCount + sum.failureCount;
  sum.successRate = decided === 0 ? 0 : sum.successCount / decided;
  sum.avgExecutionTimeMs = timed === 0 ? 0 : durationMs / timed;
  return sum;
}

/** The cluster's view from the nodes that answered (sorted by id) and the live ones that did not. */
export function aggregateMetrics(nodes: readonly SchedulerMetrics[], missing: readonly string[]): ClusterMetrics {
  const sorted = [...nodes].sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  const names = new Set<string>();
  for (const n of sorted) for (const name of Object.keys(n.jobs)) names.add(name);
  const jobs: Record<string, JobMetrics> = {};
  for (const name of [...names].sort()) {
    jobs[name] = sumJobMetrics(sorted.flatMap((n) => (n.jobs[name] ? [n.jobs[name]] : [])));
  }
  return {
    nodes: sorted,
    missing: [...missing].sort(),
    running: sorted.reduce((a, n) => a + n.running, 0),
    queued: sorted.reduce((a, n) => a + n.queued, 0),
    totals: sumJobMetrics(sorted.map((n) => n.totals)),
    jobs,
  };
}
