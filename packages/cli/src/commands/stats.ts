import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { ms, parseSince, table, type Io } from '../format.js';
import { checkJobName } from './history.js';

export function statsCommand(program: Command, ctx: () => CliContext, io: Io): void {
  program
    .command('stats')
    .description("a job's statistics over a window, from the history in Redis")
    .argument('<job>', 'job name', checkJobName)
    .option('--since <when>', 'window start: 30m, 2h, 7d, or a date (default 24h)', (t: string) => parseSince(t))
    .action(async (job: string, opts: { since?: number }) => {
      const c = ctx();
      const end = Date.now() + 1;
      const start = opts.since ?? end - 86_400_000;
      const s = await (await c.history()).getStatistics(job, start, end);
      const decided = s.successCount + s.failureCount;
      const successRate = decided === 0 ? 0 : s.successCount / decided;
      if (c.options.json) {
        return io.out(JSON.stringify({ jobName: job, from: new Date(start), to: new Date(end), ...s, successRate }, null, 2));
      }
      io.out(
        table(
          ['job', 'runs', 'completed', 'failed', 'timeout', 'skipped', 'success rate', 'avg', 'p50', 'p95', 'last run'],
          [
            [
              job,
              s.totalCount,
              s.successCount,
              s.failureCount,
              s.timeoutCount,
              s.skippedCount,
              decided === 0 ? undefined : `${(successRate * 100).toFixed(1)} %`,
              ms(s.avgDurationMs),
              ms(s.p50DurationMs),
              ms(s.p95DurationMs),
              s.lastRunAt,
            ],
          ],
        ),
      );
      io.out(`since ${new Date(start).toISOString()}`);
    });
}
