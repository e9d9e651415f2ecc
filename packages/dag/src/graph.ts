import { Graph, alg } from '@dagrejs/graphlib';
import { DependencyGraphError, type DependencyGraph } from '@sched/core';

/**
 * The jobs' dependencies as a directed graph on `@dagrejs/graphlib`: an edge
 * `A → B` when B depends on A. Built only from a graph that passed the checks:
 * every dependency names a known job, no cycle (a self-dependency is one), and
 * the schedule rule (below) holds.
 *
 * The schedule rule: a DAG runs on its roots' instants. Dependents never fire
 * on their own spec; each run of a root releases them. So every root of one
 * connected group of jobs must have the same schedule (spec and zone) or none,
 * and a dependent that names a spec must name that one: two schedules could
 * not agree on "the same instant".
 */
export class DagGraph {
  private readonly deps = new Map<string, readonly string[]>();
  private readonly dependentsOf = new Map<string, string[]>();
  private readonly componentOf = new Map<string, string>();
  private readonly members = new Map<string, string[]>();

  private constructor(graph: DependencyGraph, g: Graph) {
    for (const [job, deps] of graph) this.deps.set(job, deps);
    for (const job of g.nodes()) this.dependentsOf.set(job, [...(g.successors(job) ?? [])].sort());
    for (const component of alg.components(g)) {
      // Only groups with a dependency are DAGs; a lone job is no run.
      if (component.length < 2) continue;
      const sorted = [...component].sort();
      const roots = sorted.filter((j) => (this.deps.get(j) ?? []).length === 0);
      const id = roots[0] ?? sorted[0] ?? '';
      this.members.set(id, sorted);
      for (const j of sorted) this.componentOf.set(j, id);
    }
  }

  /** Checks `graph` (job → dependencies) and builds it; a `DependencyGraphError` names what is wrong. */
  static build(
    graph: DependencyGraph,
    schedules: ReadonlyMap<string, string | undefined> = new Map(),
    api = 'dependencies',
  ): DagGraph {
    const g = new Graph({ directed: true });
    for (const job of graph.keys()) g.setNode(job);
    for (const [job, deps] of graph) {
      for (const dep of deps) {
        if (!graph.has(dep)) {
          throw new DependencyGraphError(api, `job "${job}" depends on "${dep}", which is not a registered job`, {
            missing: { jobName: job, dependency: dep },
          });
        }
        if (dep === job) throw new DependencyGraphError(api, `job "${job}" depends on itself`, { cycle: [job, job] });
        g.setEdge(dep, job);
      }
    }
    const cycles = alg.findCycles(g);
    if (cycles.length > 0) {
      const cycle = orderCycle(g, cycles[0] as string[]);
      throw new DependencyGraphError(api, `the dependencies form a cycle: ${cycle.join(' → ')}`, { cycle });
    }
    const built = new DagGraph(graph, g);
    built.checkSchedules(schedules, api);
    return built;
  }

  has(job: string): boolean {
    return this.deps.has(job);
  }

  dependencies(job: string): readonly string[] {
    return this.deps.get(job) ?? [];
  }

  dependents(job: string): readonly string[] {
    return this.dependentsOf.get(job) ?? [];
  }

  /** The DAG (connected group of jobs) a job belongs to, named by its first root; undefined for a job alone. */
  component(job: string): string | undefined {
    return this.componentOf.get(job);
  }

  /** Every job of a DAG, sorted. */
  jobsOf(component: string): readonly string[] {
    return this.members.get(component) ?? [];
  }

  /** Every DAG: its name and jobs. */
  components(): ReadonlyMap<string, readonly string[]> {
    return this.members;
  }

  /** `root` and every job downstream of it (a manual run's scope). */
  downstream(root: string): string[] {
    const seen = new Set<string>([root]);
    const queue = [root];
    for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
      for (const next of this.dependents(job)) {
        if (!seen.has(next)) {
          seen.add(next);
          queue.push(next);
        }
      }
    }
    return [...seen].sort();
  }

  private checkSchedules(schedules: ReadonlyMap<string, string | undefined>, api: string): void {
    for (const [component, jobs] of this.members) {
      const roots = jobs.filter((j) => this.dependencies(j).length === 0);
      const rootSchedules = new Set(roots.map((r) => schedules.get(r)));
      if (rootSchedules.size > 1) {
        throw new DependencyGraphError(
          api,
          `the roots of one DAG (${roots.join(', ')}) fire on different schedules (${[...rootSchedules].map(String).join(' / ')}): a DAG runs on its roots' instants, so they must share one`,
        );
      }
      const shared = [...rootSchedules][0];
      for (const job of jobs) {
        const own = schedules.get(job);
        if (this.dependencies(job).length > 0 && own !== undefined && own !== shared) {
          throw new DependencyGraphError(
            api,
            `job "${job}" has its own schedule (${own}) but depends on jobs of the DAG "${component}" that fire on ${String(shared)}: a dependent runs on its roots' instants; drop its cronSpec or use the roots' one`,
          );
        }
      }
    }
  }
}

/** A shortest cycle through the first job of a strongly connected group, in edge order and closed: a → b → c → a. */
function orderCycle(g: Graph, group: string[]): string[] {
  const inGroup = new Set(group);
  const start = [...group].sort()[0] as string;
  const parent = new Map<string, string>();
  const queue = [start];
  for (let at = queue.shift(); at !== undefined; at = queue.shift()) {
    for (const next of [...(g.successors(at) ?? [])].sort()) {
      if (!inGroup.has(next)) continue;
      if (next === start) {
        const path = [at];
        for (let p = parent.get(at); p !== undefined; p = parent.get(p)) path.push(p);
        return [...path.reverse(), start];
      }
      if (!parent.has(next)) {
        parent.set(next, at);
        queue.push(next);
      }
    }
  }
  return [...group, start];
}
