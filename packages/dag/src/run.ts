import type { ExecutionOutcome, FireKind } from '@sched/core';

/**
 * Names and fields of a DAG run in the StateStore (one small hash per run).
 *
 * - A cron run (also a catch-up or a late run) is named `<dag>@<instant>`: every
 *   root of the DAG that fires at that instant shares it, so a job depending on
 *   two roots waits for both. A manual or remote run of a root is named by the
 *   root fire's id and covers the jobs downstream of that root only.
 * - A dependent's fire id is `<job>@dag(<run>)`: claimed by id, it runs once in
 *   the cluster, on whichever node claims it.
 */
export const Fields = {
  /** JSON `RunMeta`, written by the first node that records a job of the run. */
  meta: 'meta',
  /** `done:<job>` = `<completed|failed|skipped>|<nodeId>`. */
  done: (job: string) => `done:${job}`,
  /** `rel:<job>` = the node that released it (set once). */
  released: (job: string) => `rel:${job}`,
} as const;

export type DoneState = 'completed' | 'failed' | 'skipped';

export interface RunMeta {
  dag: string;
  /** The root fire that opened a manual/remote run; a cron run has every root of the DAG. */
  root: string | undefined;
  scheduledAt: number | undefined;
  kind: FireKind;
  /** The jobs of this run. */
  scope: string[];
  /** Each job's dependencies inside the run (absent in runs written before 0.2). */
  deps?: Record<string, string[]>;
}

const DAG_FIRE = /^([^@]+)@dag\((.+)\)$/;

export function dependentFireId(job: string, runId: string): string {
  return `${job}@dag(${runId})`;
}

/** The run and job of a dependent's fire id, if it is one. */
export function parseDependentFire(fireId: string): { job: string; runId: string } | undefined {
  const m = DAG_FIRE.exec(fireId);
  return m ? { job: m[1] as string, runId: m[2] as string } : undefined;
}

export function cronRunId(dag: string, instant: number): string {
  return `${dag}@${instant}`;
}

/** The run a root's finished fire opens: by instant for cron fires, by fire id for manual and remote ones. */
export function rootRunId(
  dag: string,
  outcome: Pick<ExecutionOutcome, 'fireId' | 'scheduledAt'> & { kind?: FireKind },
): {
  runId: string;
  byInstant: boolean;
} {
  const manual = outcome.kind === 'manual' || outcome.kind === 'remote' || outcome.scheduledAt === undefined;
  if (manual) return { runId: outcome.fireId, byInstant: false };
  return { runId: cronRunId(dag, outcome.scheduledAt!.getTime()), byInstant: true };
}

export function doneValue(state: DoneState, nodeId: string): string {
  return `${state}|${nodeId}`;
}

export function parseDone(value: string | undefined): { state: DoneState; nodeId: string } | undefined {
  if (value === undefined) return undefined;
  const bar = value.indexOf('|');
  const state = (bar === -1 ? value : value.slice(0, bar)) as DoneState;
  return { state, nodeId: bar === -1 ? '' : value.slice(bar + 1) };
}

/** A fire's final status as a DAG node state: anything but success stops the dependents. */
export function doneStateOf(status: ExecutionOutcome['status']): DoneState {
  if (status === 'completed') return 'completed';
  if (status === 'skipped') return 'skipped';
  return 'failed';
}

/** A root's fire id in a run: its cron fire `<job>@<instant>`, or the fire that opened a manual run. */
export function rootFireId(job: string, runId: string, meta: RunMeta): string {
  if (meta.root !== undefined) return runId;
  return `${job}@${meta.scheduledAt}`;
}
