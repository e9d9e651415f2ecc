import type { Command } from 'commander';
import { jobNameSchema, type ExecutionStatus } from '@sched/core';
import type { CliContext } from '../context.js';
import { ms, parseSince, positiveInt, table, type Io } from '../format.js';

const STATUSES: readonly ExecutionStatus[] = [
  'running',
  'completed',
  'failed',
  'timeout',
  'skipped',
  'misfired',
  'abandoned',
  'cancelled',
];

export function checkJobName(name: string): string {
  const parsed = jobNameSchema.safeParse(name);
  if (!parsed.success) throw new Error(`"${name}" is not a job name (${parsed.error.issues[0]?.message ?? 'invalid'})`);
  return name;
}

export function historyCommand(program: Command, ctx: () => CliContext, io: Io): void {
  program
    .command('history')
    .description("a job's executions, newest first, from the history in Redis (snapshotRepository: 'redis')")
    .argument('<job>', 'job name', checkJobName)
    .option('--status <statuses>', `only these, comma-separated (${STATUSES.join(', ')})`, (text: string) => {
      const list = text.split(',').map((s) => s.trim());
      const bad = list.filter((s) => !STATUSES.includes(s as ExecutionStatus));
      if (bad.length > 0) throw new Error(`unknown status ${bad.join(', ')}; one of ${STATUSES.join(', ')}`);
      return list as ExecutionStatus[];
    })
    .option('--since <when>', 'started after: 30m, 2h, 7d, or a date', (t: string) => parseSince(t))
    .option('--limit <n>', 'at most this many (at most 1000)', (t: string) => positiveInt('--limit', t, 1_000), 20)
    .action(async (job: string, opts: { status?: ExecutionStatus[]; since?: number; limit: number }) => {
      const c = ctx();
      const page = await (
        await c.history()
      ).list({
        jobName: job,
        limit: opts.limit,
        ...(opts.status ? { status: opts.status } : {}),
        ...(opts.since === undefined ? {} : { startTime: opts.since }),
      });
      if (c.options.json) return io.out(JSON.stringify(page.items, null, 2));
      io.out(
        table(
          ['started', 'status', 'duration', 'node', 'attempt', 'kind', 'scheduled', 'error'],
          page.items.map((s) => [
            new Date(s.startedAt),
            s.status,
            ms(s.durationMs),
            s.nodeId,
            s.attempt,
            s.kind,
            s.scheduledAt === undefined ? undefined : new Date(s.scheduledAt),
            s.errorMessage ?? s.skipReason,
          ]),
        ),
      );
      if (page.items.length === 0) io.out(`no executions of ${job} recorded in this Redis (is the history kept in Redis?)`);
    });
}
