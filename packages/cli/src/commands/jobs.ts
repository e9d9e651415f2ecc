import type { Command } from 'commander';
import { previewCron, type ConfigDocument, type JobSummary } from '@sched/core';
import type { CliContext } from '../context.js';
import { table, type Io } from '../format.js';

interface JobRow {
  jobName: string;
  nodes: string[];
  cronSpec: string | undefined;
  timezone: string | undefined;
  priority: number | undefined;
  paused: boolean;
  enabled: boolean;
  next: Date | undefined;
  /** Where the schedule is known from: the shared document, or what the serving nodes advertise. */
  source: 'shared config' | 'nodes' | 'unknown';
}

/**
 * The jobs of the cluster: those the live nodes serve and those of the
 * shared configuration document, with their schedule and state: the
 * document's fields first (the nodes follow it), then what the nodes
 * advertise of each job in the registry.
 */
export async function listJobs(ctx: CliContext): Promise<JobRow[]> {
  const [nodes, config] = await Promise.all([(await ctx.registry()).getAllNodes(), (await ctx.configStore()).get()]);
  const doc: ConfigDocument = config?.document ?? { jobs: {} };
  const servedBy = new Map<string, string[]>();
  const advertised = new Map<string, JobSummary>();
  for (const n of nodes) {
    for (const j of n.jobs) servedBy.set(j, [...(servedBy.get(j) ?? []), n.nodeId]);
    for (const [j, summary] of Object.entries(n.jobSummaries ?? {})) if (!advertised.has(j)) advertised.set(j, summary);
  }
  const names = [...new Set([...servedBy.keys(), ...Object.keys(doc.jobs)])].sort();
  return names.map((jobName) => {
    const cfg = doc.jobs[jobName];
    const adv = advertised.get(jobName);
    const cronSpec = cfg?.cronSpec ?? adv?.cronSpec;
    const timezone = cfg?.timezone ?? adv?.timezone ?? doc.timezone;
    const paused = cfg?.paused ?? adv?.paused === true;
    const enabled = cfg?.enabled ?? adv?.enabled !== false;
    const dependencies = cfg?.dependencies ?? adv?.dependencies ?? [];
    let next: Date | undefined;
    if (cronSpec && !paused && enabled && dependencies.length === 0) {
      next = previewCron(cronSpec, { count: 1, timezone: timezone ?? 'UTC' })[0]?.scheduledAt;
    }
    return {
      jobName,
      nodes: servedBy.get(jobName) ?? [],
      cronSpec,
      timezone,
      priority: cfg?.priority ?? adv?.priority,
      paused,
      enabled,
      next,
      source: cfg ? 'shared config' : adv ? 'nodes' : 'unknown',
    };
  });
}

export function jobsCommand(program: Command, ctx: () => CliContext, io: Io): void {
  program
    .command('jobs')
    .description('the jobs the live nodes serve and the shared config names, with schedule, state and next fire')
    .action(async () => {
      const c = ctx();
      const rows = await listJobs(c);
      if (c.options.json) return io.out(JSON.stringify(rows, null, 2));
      io.out(
        table(
          ['job', 'nodes', 'cron', 'zone', 'priority', 'state', 'next fire', 'schedule from'],
          rows.map((r) => [
            r.jobName,
            r.nodes.length === 0 ? 'none live' : r.nodes.join(','),
            r.cronSpec,
            r.timezone,
            r.priority,
            r.paused ? 'paused' : r.enabled ? 'active' : 'disabled',
            r.next,
            r.source,
          ]),
        ),
      );
    });
}
