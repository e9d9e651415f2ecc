/**
 * @sched/dag — job dependencies for sched (SPEC.md §2): the graph checked with
 * `@dagrejs/graphlib`, one run per root fire, each dependent released once in
 * the cluster when its last dependency completes, on any node.
 */
export { DagCoordinator, DAG_CHANNEL } from './coordinator.js';
export type { DagCoordinatorOptions } from './coordinator.js';
export { DagGraph } from './graph.js';
export { dependentFireId, parseDependentFire, cronRunId } from './run.js';
export { readDagRun } from './read-run.js';
export { DependencyGraphError } from '@sched/core';
export type { DagRunReport, DagNodeState } from '@sched/core';
