import type { ExecutionOutcome } from '../model.js';
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
  validate(graph: DependencyGraph): void;
  attach(host: SchedulerHost): Promise<void> | void;
  detach?(): Promise<void> | void;
  onFireComplete(outcome: ExecutionOutcome): Promise<void>;
}

/** Job name → the job names it depends on. */
export type DependencyGraph = ReadonlyMap<string, readonly string[]>;
