import { describe, expect, it } from 'vitest';
import { Scheduler, silentLogger } from '../src/index.js';
import { FakeClock } from '../src/testing/index.js';

describe('smoke', () => {
  it('fires every second', async () => {
    const clock = new FakeClock('2025-01-01T00:00:00.000Z');
    const sched = new Scheduler({ clock, logger: silentLogger });
    const runs: string[] = [];
    sched.registerJob({ name: 'a', execute: (ctx) => void runs.push(ctx.scheduledAt!.toISOString()) }, { cronSpec: '* * * * * *' });
    await sched.start();
    await clock.advance(3_000);
    expect(runs).toEqual(['2025-01-01T00:00:01.000Z', '2025-01-01T00:00:02.000Z', '2025-01-01T00:00:03.000Z']);
    await sched.stop();
  });
});
