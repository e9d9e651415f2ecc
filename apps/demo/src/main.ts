import { setTimeout as delay } from 'node:timers/promises';
import { createConsoleLogger } from '@sched/core';
import { runDemo } from './demo.js';

const usage = `Usage: pnpm demo [--duration <seconds>] [--verbose]

Runs sched in one process on the embedded default (no Redis): jobs on
second-level cron specs, one slow with overlapPrevent, one failing with retries
and a circuit breaker, one overrunning its timeout, and a burst of jobs competing
by priority for 3 slots. Prints every run, then a summary table.

  --duration <s>  how long to run (default 20, at most 600)
  --verbose       also print the scheduler's own log lines
  --help          this text`;

function parseArgs(argv: string[]): { durationMs: number; verbose: boolean } {
  let durationMs = 20_000;
  let verbose = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') continue;
    if (arg === '--help' || arg === '-h') {
      console.log(usage);
      process.exit(0);
    } else if (arg === '--verbose') verbose = true;
    else if (arg === '--duration') {
      const s = Number(argv[++i]);
      if (!Number.isFinite(s) || s <= 0 || s > 600) {
        console.error(`demo: --duration must be a number of seconds from 1 to 600, got ${String(argv[i])}`);
        process.exit(2);
      }
      durationMs = Math.round(s * 1000);
    } else {
      console.error(`demo: unknown option ${String(arg)}\n\n${usage}`);
      process.exit(2);
    }
  }
  return { durationMs, verbose };
}

const { durationMs, verbose } = parseArgs(process.argv.slice(2));
let onInterrupt: () => void = () => {};
const interrupted = new Promise<void>((resolve) => (onInterrupt = resolve));
process.once('SIGINT', () => {
  console.log('\n(Ctrl-C: stopping gracefully)');
  onInterrupt();
});
process.once('SIGTERM', () => onInterrupt());

await runDemo({
  durationMs,
  print: (line) => console.log(line),
  ...(verbose ? { logger: createConsoleLogger({ level: 'info' }) } : {}),
  interrupted,
  sleep: (ms, signal) => delay(ms, undefined, { signal }),
  wait: (ms, until) => Promise.race([delay(ms), until]),
});
process.exit(0);
