import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '@sched/core/testing';
import { runDemo } from '../src/demo.js';

describe('demo', () => {
  it('runs every demo job on a fake clock and reports consistent counts', async () => {
    const clock = new FakeClock('2025-01-01T00:00:00Z');
    const lines: string[] = [];
    const result = await runDemo({
      durationMs: 20_000,
      clock,
      print: (l) => lines.push(l),
      sleep: (ms, signal) => clock.sleep(ms, signal),
      wait: async (ms, until) => {
        let done = false;
        void until.then(() => (done = true));
        for (let t = 0; t < ms && !done; t += 100) await clock.advance(100);
      },
    });
    const jobs = result.metrics.jobs;
    // 20 s of fires and one manual trigger; the fire due at 20 s meets the DAG's run for its 3 slots and
    // is still queued when the stop begins (given back, not run).
    expect(jobs.heartbeat?.successCount).toBeGreaterThanOrEqual(20);
    // The DAG: each extract released transform and audit, and load after both (the stop at 20 s may
    // cut the last run short: its dependents are not released once the scheduler stops).
    const extracts = jobs.extract?.successCount ?? 0;
    expect(extracts).toBeGreaterThanOrEqual(3);
    for (const dependent of ['transform', 'audit', 'load']) {
      expect(jobs[dependent]?.successCount).toBeGreaterThanOrEqual(extracts - 1);
      expect(jobs[dependent]?.successCount).toBeLessThanOrEqual(extracts);
    }
    expect(jobs.report?.skippedCount).toBeGreaterThan(0); // overlapPrevent
    expect(jobs.flaky?.failureCount).toBeGreaterThan(0);
    expect(jobs.flaky?.skippedCount).toBeGreaterThan(0); // circuit open
    expect(jobs.cleanup?.timeoutCount).toBeGreaterThan(0);
    // The sharded job fires at 10 and 20 s: the first ran its 3 shards and ended with all 30 items; the
    // second meets the stop, which hands it over (released for whichever node takes it next) instead of ending it.
    expect(lines.filter((l) => / ok +invoices +for .* 30\/30 items/.test(l)).length).toBeGreaterThanOrEqual(1);
    expect(lines.filter((l) => / ok +invoices shard \d/.test(l)).length).toBeGreaterThanOrEqual(3);
    expect(jobs.invoices?.fireCount).toBe(2);
    // Bursts queue for 3 slots: the highest priority always starts first.
    const burstStarts = lines.filter((l) => / ok +burst-/.test(l));
    expect(burstStarts[0]).toContain('burst-a');
    expect(lines.some((l) => l.startsWith('job ') && l.includes('fires'))).toBe(true);
    expect(result.snapshotCount).toBeGreaterThan(50);
  });

  it('the CLI runs the embedded demo end to end and ends by itself (real time, a few seconds)', async () => {
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    // --embedded: the distributed path (the default when redis-server is installed) is cluster-demo.test.ts.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=@sched/source', main, '--embedded', '--duration', '3'],
      {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(code).toBe(0);
      expect(out).toContain('heartbeat');
      expect(out).toMatch(/TOTAL\s+\d+/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('--help prints usage; a bad option exits 2', async () => {
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    const run = (args: string[]) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@sched/source', main, ...args], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.on('exit', (code) => resolve({ code, out }));
      });
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('Usage: pnpm demo');
    const bad = await run(['--durration', '3']);
    expect(bad.code).toBe(2);
    expect(bad.out).toContain('unknown option --durration');
  });
});
