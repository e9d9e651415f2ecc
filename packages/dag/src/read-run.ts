import type { DagNodeState, DagRunReport, StateStore } from '@sched/core';
import { dependentFireId, Fields, parseDone, rootFireId, type RunMeta } from './run.js';

/**
 * One DAG run as the StateStore holds it: each job of the run with its state
 * (pending, running, completed, failed, skipped), the node that ran it and
 * its dependencies inside the run. Needs no graph: a run's description
 * carries its edges, so a process that registered none of the jobs (the
 * console, the CLI) reads it too. `dependenciesOf` is for runs written
 * before the description had them. Null when the run is unknown or expired.
 */
export async function readDagRun(
  stateStore: Pick<StateStore, 'getRunState' | 'getFireRecord'>,
  runId: string,
  dependenciesOf?: (job: string) => readonly string[],
): Promise<DagRunReport | null> {
  const state = await stateStore.getRunState(runId);
  const metaJson = state?.[Fields.meta];
  if (!state || metaJson === undefined) return null;
  const meta = JSON.parse(metaJson) as RunMeta;
  const scope = new Set(meta.scope);
  const depsOf = (job: string): string[] => meta.deps?.[job] ?? (dependenciesOf?.(job) ?? []).filter((d) => scope.has(d));
  const jobs = await Promise.all(
    meta.scope.map(async (jobName) => {
      const dependencies = depsOf(jobName);
      const fireId = dependencies.length === 0 ? rootFireId(jobName, runId, meta) : dependentFireId(jobName, runId);
      const done = parseDone(state[Fields.done(jobName)]);
      if (done) return { jobName, fireId, dependencies, state: done.state as DagNodeState, nodeId: done.nodeId };
      const record = await stateStore.getFireRecord(fireId);
      const running = record !== null && record.state !== 'done';
      return {
        jobName,
        fireId,
        dependencies,
        state: (running ? 'running' : 'pending') as DagNodeState,
        ...(record ? { nodeId: record.nodeId, record } : {}),
      };
    }),
  );
  return { runId, rootJob: meta.root ?? meta.dag, scheduledAt: meta.scheduledAt, jobs };
}
