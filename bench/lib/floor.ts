import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnBenchProcess } from './spawn.js';

/**
 * The floor every lateness figure stands beside: bare `setTimeout`s aimed at
 * each second boundary (re-armed when early), `count` per instant, for
 * `seconds` instants from `startAt` (a second boundary; default the second
 * after next). Resolves with each timer's lateness in ms.
 */
export async function bareTimers(count: number, seconds: number, startAt?: number): Promise<number[]> {
  const late: number[] = [];
  const start = startAt ?? Math.ceil(Date.now() / 1000) * 1000 + 1000;
  await new Promise<void>((resolve) => {
    let left = count * seconds;
    const arm = (at: number): void => {
      const fire = (): void => {
        const now = Date.now();
        if (now < at) {
          setTimeout(fire, at - now);
          return;
        }
        late.push(now - at);
        if (--left === 0) resolve();
      };
      setTimeout(fire, at - Date.now());
    };
    for (let s = 0; s < seconds; s++) for (let i = 0; i < count; i++) arm(start + s * 1000);
  });
  return late;
}

/**
 * Bare timers in `processes` processes at once (cluster-node.ts in floor
 * mode), each arming its share of `jobs` per instant at the same instants.
 * One process is BENCH.md's L1 floor; as many processes as nodes is the floor
 * of that topology (the same cores shared by that many event loops).
 */
export async function timerFloor(dir: string, tag: string, jobs: number, seconds: number, processes = 1): Promise<number[]> {
  const script = fileURLToPath(new URL('../cluster-node.ts', import.meta.url));
  const share = Math.ceil(jobs / processes);
  // Every process aims at the same instants: far enough ahead for all to have started.
  const startAt = Math.ceil(Date.now() / 1000) * 1000 + 4000;
  const outs = Array.from({ length: processes }, (_, i) => join(dir, `floor-${tag}-${processes}-${i}.json`));
  const children = await Promise.all(
    outs.map((out, i) => spawnBenchProcess(script, { mode: 'floor', nodeId: `floor-${i}`, jobs: share, out, seconds, startAt })),
  );
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : Promise.resolve())));
  return outs.flatMap((o) => (JSON.parse(readFileSync(o, 'utf8')) as { late: number[] }).late);
}
