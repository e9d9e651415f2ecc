// sched in one process, no Redis: only @sched/core is installed.
//   npm install @sched/core && node index.mjs [seconds]
import { Scheduler, createConsoleLogger } from '@sched/core';

const seconds = Number(process.argv[2] ?? 5);
const sched = new Scheduler({ maxConcurrency: 2, logger: createConsoleLogger({ level: 'warn' }) });

sched.registerJob(
  { name: 'tick', execute: (ctx) => console.log(`tick  ${ctx.scheduledAt?.toISOString()}  attempt ${ctx.attempt}`) },
  { cronSpec: '* * * * * *' },
);
sched.registerJob(
  {
    name: 'report',
    async execute(ctx) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      ctx.logger.info('report written');
      console.log(`report ${ctx.scheduledAt?.toISOString()}`);
    },
  },
  { cronSpec: '*/2 * * * * *', priority: 80, overlapPrevent: true, retry: { attempts: 3, backoffMs: 500 } },
);

await sched.start();
console.log(
  'next fires of report:',
  sched
    .nextFireTimes('report', 3)
    .map((f) => f.local)
    .join(', '),
);
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
await sched.stop();

const { totals } = sched.getMetrics();
console.log(`done: ${totals.executionCount} executions, ${totals.successCount} completed, ${totals.failureCount} failed`);
