import type { ExecutionOutcome } from '../model.js';
import type { FireRecord } from './state-store.js';
import type { SchedulerHost } from './scheduler-host.js';

/**
 * DependencyCoordinator port, filled by `@sched/dag` (SPEC.md §2).
 *
 * `validate` checks the whole graph (every job's `dependencies`) and throws a
 * typed error naming a cycle or a missing job; the scheduler calls it at
 * `start()` and before applying any change, and keeps the old graph when it
 * throws. After `attach`, the coordinator owns the firing of dependents: the
 * scheduler reports each finished fire through `onFireComplete` and the
 * coordinator releases dependents (on any node) through the host.
 */
export interface DependencyCoordinator {
  readonly packageName: string;
  /** `schedules`: each job's schedule key (cron spec and zone; undefined without a spec). */
  validate(graph: DependencyGraph, schedules?: ReadonlyMap<string, string | undefined>): void;
  attach(host: SchedulerHost): Promise<void> | void;
  detach?(): Promise<void> | void;
  /** Returns nothing (or settles at once) for a fire no DAG run concerns: it is called for every fire. */
  onFireComplete(outcome: ExecutionOutcome): Promise<void> | void;
  /**
   * True for the per-fire records of dependents this coordinator runs: the
   * scheduler's takeover sweep leaves them to it (it re-runs one whose node
   * died before starting it, and reads an abandoned one as failed).
   */
  ownsFire?(fireId: string): boolean;
  /**
   * False when this coordinator never reads the per-fire records of the job's
   * finished cron fires (the job is in no DAG): the scheduler then deletes them
   * at finish. True (or no such method): they are kept `fireRecordRetentionMs`
   * — a DAG root's records let the coordinator open or repair a run whose node died.
   */
  readsFireRecordsOf?(jobName: string): boolean;
  /** The state of one DAG run (`sched.getDagRun`). */
  getRun?(rootJob: string, instantOrFireId: number | string): Promise<DagRunReport | null>;
}

/** Job name → the job names it depends on. */
export type DependencyGraph = ReadonlyMap<string, readonly string[]>;

export type DagNodeState = 'pending' | 'running' | 'completed' | 'failed' | 'skipped';

/** One DAG run: every job of the root's graph, with its state in this run and the node that ran it. */
export interface DagRunReport {
  runId: string;
  rootJob: string;
  scheduledAt: number | undefined;
  jobs: Array<{
    jobName: string;
    state: DagNodeState;
    nodeId?: string;
    fireId: string;
    /** The job's dependencies inside this run (the graph's edges). */
    dependencies: string[];
    record?: FireRecord;
  }>;
}
