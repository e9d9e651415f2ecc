import {
  previewCron,
  type ClusterMetrics,
  type ConfigDocument,
  type JobMetrics,
  type JobSummary,
  type NodeInfo,
} from '@sched/core';
import type { ConsoleSource } from './source.js';

/** A live node as the nodes view shows it. */
export interface NodeView extends NodeInfo {
  heartbeatAgeMs: number;
  /** Executions running there now, and fires waiting for a slot (its metrics collector's answer). */
  running: number | null;
  queued: number | null;
  /** The jobs with a run in progress on that node (from the history). */
  runningJobs: string[];
}

export async function nodesView(source: ConsoleSource, now: number): Promise<{ nodes: NodeView[]; missing: string[] }> {
  const [nodes, metrics, running] = await Promise.all([
    source.nodes(),
    source.metrics().catch((error: unknown) => {
      source.logger.warn('console: the nodes’ load could not be gathered', { error });
      return undefined;
    }),
    source.snapshots.list({ status: 'running', limit: 1_000 }),
  ]);
  const load = new Map((metrics?.nodes ?? []).map((m) => [m.nodeId, m]));
  const runningJobs = new Map<string, Set<string>>();
  for (const s of running.items) runningJobs.set(s.nodeId, (runningJobs.get(s.nodeId) ?? new Set()).add(s.jobName));
  return {
    nodes: nodes
      .map((n) => ({
        ...n,
        heartbeatAgeMs: Math.max(0, now - n.lastHeartbeat),
        running: load.get(n.nodeId)?.running ?? null,
        queued: load.get(n.nodeId)?.queued ?? null,
        runningJobs: [...(runningJobs.get(n.nodeId) ?? [])].sort(),
      }))
      .sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1)),
    missing: metrics?.missing ?? [],
  };
}

/** A job of the cluster as the jobs view shows it. */
export interface JobView {
  jobName: string;
  /** Live nodes serving it. */
  nodes: string[];
  cronSpec: string | null;
  timezone: string;
  priority: number | null;
  paused: boolean;
  enabled: boolean;
  dependencies: string[];
  shardingTotal: number | null;
  state: 'active' | 'paused' | 'disabled' | 'no schedule';
  /** The next instants of its spec (none when paused, disabled, without a spec, or a dependent). */
  nextFires: string[];
  /** Where the schedule is known from: the shared document, what the serving nodes advertise, or this node's jobs. */
  source: 'shared config' | 'nodes' | 'code (this node)' | 'unknown';
  metrics: JobMetrics | null;
}

/**
 * Every job the cluster knows: those the live nodes serve, those of the
 * shared document, and (mounted in a node) those this node registered with
 * their code cfg; the shared document's fields win, as on the nodes.
 */
export async function jobsView(source: ConsoleSource, now: number, count = 3): Promise<JobView[]> {
  const [nodes, current, metrics] = await Promise.all([
    source.nodes(),
    source.configStore.get(),
    source.metrics().catch(() => undefined as ClusterMetrics | undefined),
  ]);
  const doc: ConfigDocument = current?.document ?? { jobs: {} };
  const local = new Map(source.localJobs().map((j) => [j.jobName, j]));
  const servedBy = new Map<string, string[]>();
  const advertised = new Map<string, JobSummary>();
  for (const n of nodes) {
    for (const j of n.jobs) servedBy.set(j, [...(servedBy.get(j) ?? []), n.nodeId]);
    // The first node (by id) that says something of a job speaks for it: they run the same code and document.
    for (const [j, summary] of Object.entries(n.jobSummaries ?? {})) if (!advertised.has(j)) advertised.set(j, summary);
  }
  const names = [...new Set([...servedBy.keys(), ...Object.keys(doc.jobs), ...local.keys()])].sort();
  return names.map((jobName) => {
    const cfg = doc.jobs[jobName];
    const adv = advertised.get(jobName);
    const code = local.get(jobName);
    // The shared document first (the nodes follow it), then what the nodes run, then this node's own jobs.
    const cronSpec = cfg?.cronSpec ?? adv?.cronSpec ?? code?.cronSpec ?? null;
    const timezone = cfg?.timezone ?? adv?.timezone ?? doc.timezone ?? code?.timezone ?? 'UTC';
    const paused = cfg?.paused ?? (adv ? adv.paused === true : code?.paused) ?? false;
    const enabled = cfg?.enabled ?? (adv ? adv.enabled !== false : code?.enabled) ?? true;
    const dependencies = [...(cfg?.dependencies ?? adv?.dependencies ?? code?.dependencies ?? [])];
    const scheduled = cronSpec !== null && dependencies.length === 0;
    const state = !enabled ? 'disabled' : paused ? 'paused' : scheduled ? 'active' : 'no schedule';
    let nextFires: string[] = [];
    if (state === 'active' && cronSpec) {
      try {
        nextFires = previewCron(cronSpec, { count, timezone, after: new Date(now) }).map((f) => f.scheduledAt.toISOString());
      } catch {
        nextFires = []; // a spec only a newer node understands: shown without a preview
      }
    }
    return {
      jobName,
      nodes: servedBy.get(jobName) ?? [],
      cronSpec,
      timezone,
      priority: cfg?.priority ?? adv?.priority ?? code?.priority ?? null,
      paused,
      enabled,
      dependencies,
      shardingTotal: cfg?.shardingTotal ?? adv?.shardingTotal ?? code?.shardingTotal ?? null,
      state,
      nextFires,
      source: cfg ? 'shared config' : adv ? 'nodes' : code ? 'code (this node)' : 'unknown',
      metrics: metrics?.jobs[jobName] ?? null,
    };
  });
}
