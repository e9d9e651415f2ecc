import type { ChildProcess } from 'node:child_process';
import { startTracked, waitForOutput } from '@sched/testkit';

/**
 * Starts a benchmark process (`script`, a TypeScript file run from source)
 * with `config` in BENCH_NODE, and resolves once it printed `ready`. Tracked:
 * it dies with this process.
 */
export async function spawnBenchProcess(script: string, config: Record<string, unknown>): Promise<ChildProcess> {
  // BENCH_PROFILE_DIR: each process writes a CPU profile there when it exits (to see where a cell's time goes).
  const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
  // BENCH_NODE_FLAGS: Node options for every spawned process of both systems (e.g. `--max-semi-space-size=64`).
  const flags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const child = startTracked(process.execPath, [...profile, ...flags, '--conditions=@sched/source', '--import', 'tsx', script], {
    env: { ...process.env, BENCH_NODE: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await waitForOutput(child, /^ready$/m, 60_000, `bench process ${String(config.nodeId)}`);
  return child;
}
