import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { SkipEvent } from '../src/index.js';
import { T0, recorder, setup, stopWith } from './helpers.js';

describe('priority and concurrency', () => {
  it('when more is due than may run, higher priority runs first; FIFO within a priority', async () => {
    const { sched, clock } = setup({ maxConcurrency: 1 });
    const { runs, job } = recorder(clock);
    // One slow job holds the only slot when the others fall due together.
    sched.registerJob(
      job('blocker', () => clock.sleep(500)),
      { cronSpec: '0 * * * * *', priority: 1_000 },
    );
    const specs: Array<[string, number]> = [
      ['low-1', 10],
      ['high-1', 100],
      ['mid-1', 50],
      ['high-2', 100],
      ['low-2', 10],
      ['mid-2', 50],
    ];
    for (const [name, priority] of specs) sched.registerJob(job(name), { cronSpec: '0 * * * * *', priority });
    await sched.start();
    await clock.advance(61_000);
    expect(runs.map((r) => r.jobName)).toEqual(['blocker', 'high-1', 'high-2', 'mid-1', 'mid-2', 'low-1', 'low-2']);
    await sched.stop();
  });

  it('maxConcurrency is never exceeded (property over job mixes)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.array(
          fc.record({
            everySec: fc.integer({ min: 1, max: 5 }),
            durationMs: fc.integer({ min: 0, max: 4_000 }),
            priority: fc.integer({ min: 0, max: 3 }),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        async (maxConcurrency, jobs) => {
          const { sched, clock } = setup({ maxConcurrency });
          let running = 0;
          let peak = 0;
          let finished = 0;
          jobs.forEach((j, i) => {
            sched.registerJob(
              {
                name: `j${i}`,
                async execute() {
                  running += 1;
                  peak = Math.max(peak, running);
                  try {
                    await clock.sleep(j.durationMs);
                  } finally {
                    running -= 1;
                    finished += 1;
                  }
                },
              },
              { cronSpec: `*/${j.everySec} * * * * *`, priority: j.priority },
            );
          });
          await sched.start();
          await clock.advance(20_000);
          await stopWith(sched, clock, { timeoutMs: 60_000, stepMs: 500 });
          expect(peak).toBeLessThanOrEqual(maxConcurrency);
          expect(finished).toBeGreaterThan(0);
          expect(running).toBe(0);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('queued fires start as slots free, in priority order', async () => {
    const { sched, clock } = setup({ maxConcurrency: 2 });
    const { runs, job } = recorder(clock);
    for (let i = 0; i < 6; i++)
      sched.registerJob(
        job(`p${i}`, () => clock.sleep(1_000)),
        { cronSpec: '0 * * * * *', priority: i },
      );
    await sched.start();
    await clock.advance(60_000);
    expect(runs.map((r) => r.jobName)).toEqual(['p5', 'p4']);
    expect(sched.getMetrics()).toMatchObject({ running: 2, queued: 4 });
    await clock.advance(1_000);
    expect(runs.map((r) => r.jobName)).toEqual(['p5', 'p4', 'p3', 'p2']);
    await clock.advance(1_000);
    expect(runs.map((r) => r.startedAt - T0)).toEqual([60_000, 60_000, 61_000, 61_000, 62_000, 62_000]);
    await stopWith(sched, clock);
  });
});

describe('priority changed while fires wait', () => {
  it('a hot reload that raises a job above the others moves its queued fire ahead of theirs', async () => {
    const { sched, clock } = setup({ maxConcurrency: 1 });
    const { runs, job } = recorder(clock);
    const cfg = (priority: number) => ({ cronSpec: '0 * * * * *', priority });
    for (const [name, priority] of [
      ['low', 1],
      ['mid', 5],
      ['top', 9],
    ] as const) {
      sched.registerJob(
        job(name, () => clock.sleep(1_000)),
        cfg(priority),
      );
    }
    await sched.start();
    await clock.advance(60_000);
    expect(runs.map((r) => r.jobName)).toEqual(['top']);
    expect(sched.getMetrics()).toMatchObject({ running: 1, queued: 2 });
    // 'low' and 'mid' wait for the slot; 'low' now outranks 'mid'.
    await sched.loadFromConfig({ jobs: { low: cfg(7), mid: cfg(5), top: cfg(9) } });
    await clock.advance(2_000);
    expect(runs.map((r) => r.jobName)).toEqual(['top', 'low', 'mid']);
    await stopWith(sched, clock);
  });
});

describe('overlapPrevent', () => {
  it('skips a fire while the previous run is going (event skip, reason overlap), and records it', async () => {
    const { sched, clock } = setup();
    const { runs, job } = recorder(clock);
    const skips: SkipEvent[] = [];
    sched.on('skip', (e) => skips.push(e));
    sched.registerJob(
      job('slow', () => clock.sleep(2_500)),
      { cronSpec: '* * * * * *', overlapPrevent: true },
    );
    await sched.start();
    await clock.advance(6_000);
    // Runs start at 1 s and 4 s (each lasts 2.5 s); the fires at 2, 3, 5, 6 s are skipped.
    expect(runs.map((r) => r.startedAt - T0)).toEqual([1_000, 4_000]);
    expect(skips.map((s) => [s.reason, (s.scheduledAt as Date).getTime() - T0])).toEqual([
      ['overlap', 2_000],
      ['overlap', 3_000],
      ['overlap', 5_000],
      ['overlap', 6_000],
    ]);
    expect(sched.getJobMetrics('slow').skippedCount).toBe(4);
    const skipped = await sched.snapshotRepository.list({ jobName: 'slow', status: 'skipped' });
    expect(skipped.items.map((s) => s.skipReason)).toEqual(['overlap', 'overlap', 'overlap', 'overlap']);
    await stopWith(sched, clock);
  });

  it('without overlapPrevent the runs overlap', async () => {
    const { sched, clock } = setup();
    const { runs, job } = recorder(clock);
    sched.registerJob(
      job('slow', () => clock.sleep(2_500)),
      { cronSpec: '* * * * * *' },
    );
    await sched.start();
    await clock.advance(3_000);
    expect(runs.length).toBe(3);
    await stopWith(sched, clock);
  });

  it('a manual trigger of a running overlapPrevent job resolves as skipped', async () => {
    const { sched, clock } = setup();
    sched.registerJob({ name: 'slow', execute: () => clock.sleep(5_000) }, { cronSpec: '* * * * * *', overlapPrevent: true });
    await sched.start();
    await clock.advance(1_000);
    const outcome = await sched.trigger('slow');
    expect(outcome).toMatchObject({ status: 'skipped', skipReason: 'overlap', jobName: 'slow' });
    await sched.stop({ timeoutMs: 0 });
  });
});
