import { Scheduler, silentLogger } from '@sched/core';
const sched = new Scheduler({ logger: silentLogger, maxConcurrency: 2000, maxQueued: 2000 });
const late: number[] = [];
for (let i = 0; i < 1000; i++) {
  sched.registerJob(
    { name: `job-${i}`, execute: (ctx) => void late.push(Date.now() - (ctx.scheduledAt as Date).getTime()) },
    { cronSpec: '* * * * * *' },
  );
}
await sched.start();
await new Promise((r) => setTimeout(r, 8000));
await sched.stop();
late.sort((a, b) => a - b);
console.log('n', late.length, 'p50', late[Math.floor(late.length / 2)], 'p99', late[Math.floor(late.length * 0.99)]);
