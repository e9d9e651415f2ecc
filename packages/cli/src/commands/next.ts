import type { Command } from 'commander';
import { isValidTimezone, previewCron } from '@sched/core';
import { positiveInt, table, type Io } from '../format.js';

export function nextCommand(program: Command, json: () => boolean, io: Io): void {
  program
    .command('next')
    .description('the next fires of a cron spec (6 fields with seconds, 5 fields, or @hourly-style), with DST marks')
    .argument('<cron>', 'the spec, quoted')
    .option('-n, --count <n>', 'how many (at most 1000)', (t: string) => positiveInt('--count', t, 1_000), 5)
    .option('--tz <zone>', 'IANA time zone (default UTC)', (zone: string) => {
      if (!isValidTimezone(zone)) throw new Error(`unknown time zone "${zone}" (an IANA name such as Europe/Berlin)`);
      return zone;
    })
    .option('--after <date>', 'from this instant instead of now (a date)', (t: string) => {
      const at = Date.parse(t);
      if (!Number.isFinite(at)) throw new Error(`--after: "${t}" is not a date`);
      return at;
    })
    .action((cron: string, opts: { count: number; tz?: string; after?: number }) => {
      // Needs no Redis: a pure preview with the scheduler's own cron code.
      const fires = previewCron(cron, {
        count: opts.count,
        timezone: opts.tz ?? 'UTC',
        ...(opts.after === undefined ? {} : { after: opts.after }),
      });
      if (json()) return io.out(JSON.stringify(fires, null, 2));
      io.out(
        table(
          ['instant (UTC)', `local (${opts.tz ?? 'UTC'})`, 'DST'],
          fires.map((f) => [f.scheduledAt, f.local, f.dst]),
        ),
      );
    });
}
