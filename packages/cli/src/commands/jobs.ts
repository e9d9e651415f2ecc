import type { Command } from 'commander';
import { previewCron, type ConfigDocument } from '@sched/core';
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
  /** Where the schedule is known from: the shared document, or only the code on the nodes. */
  source: 'shared config' | 'code';
}

/**
 * The jobs of the cluster: those the live nodes serve and those of the
 * shared configuration document, with what the document says of them. A
 * schedule set only in code (never written to the shared config) is not in
 * Redis, so it shows as `code`.
 */
export async function listJobs(ctx: CliContext): Promise<JobRow[]> {
  const [nodes, config] = await Promise.all([(await ctx.registry()).getAllNodes(), (await ctx.configStore()).get()]);
  const doc: ConfigDocument = config?.document ?? { jobs: {} };
  const servedBy = new Map<string, string[]>();
  for (const n of nodes) for (const j of n.jobs) servedBy.set(j, [...(servedBy.get(j) ?? []), n.nodeId]);
  const names = [...new Set([...servedBy.keys(), ...Object.keys(doc.jobs)])].sort();
  return names.map((jobName) => {
    const cfg = doc.jobs[jobName];
    const timezone = cfg?.timezone ?? doc.timezone;
    const paused = cfg?.paused ?? false;
    const enabled = cfg?.enabled ?? true;
    let next: Date | undefined;
    if (cfg?.cronSpec && !paused && enabled && !(cfg.dependencies?.length ?? 0)) {
      next = previewCron(cfg.cronSpec, { count: 1, timezone: timezone ?? 'UTC' })[0]?.scheduledAt;
    }
    return {
      jobName,
      nodes: servedBy.get(jobName) ?? [],
      cronSpec: cfg?.cronSpec,
      timezone,
      priority: cfg?.priority,
      paused,
      enabled,
      next,
      source: cfg ? 'shared config' : 'code',
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
