import { performance } from 'node:perf_hooks';
import { Scheduler, silentLogger } from '@sched/core';
import { FakeClock } from '@sched/core/testing';
const clock = new FakeClock(Date.UTC(2025, 0, 1));
const sched = new Scheduler({ clock, logger: silentLogger, maxConcurrency: 5000, maxQueued: 100000 });
for (let i = 0; i < 1000; i++) sched.registerJob({ name: `j${i}`, execute() {} }, { cronSpec: '* * * * * *' });
await sched.start();
await clock.advance(10_000); // warm-up
const t0 = performance.now();
await clock.advance(60_000);
const ms = performance.now() - t0;
console.log(`per fire ${((ms * 1000) / 60_000).toFixed(1)} µs (${sched.getMetrics().totals.executionCount} runs)`);
await sched.stop();
