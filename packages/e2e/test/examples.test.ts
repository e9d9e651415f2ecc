import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RedisServer, canRunRedis, freePorts, startTracked, waitForOutput } from '@sched/testkit';

const example = (path: string) => fileURLToPath(new URL(`../../../examples/${path}`, import.meta.url));

/** Runs an example to its end; resolves with its exit code and output. */
function runToEnd(child: ChildProcess): Promise<{ code: number | null; out: string; err: string }> {
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out, err })));
}

describe('the examples, run as a user would', () => {
  it('embedded: @sched/core alone, no Redis', async () => {
    const file = example('embedded/index.mjs');
    const r = await runToEnd(startTracked(process.execPath, [file, '3'], { cwd: fileURLToPath(new URL('.', `file://${file}`)) }));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^tick {2}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z {2}attempt 1$/m);
    expect(r.out).toMatch(/^done: \d+ executions, \d+ completed, 0 failed$/m);
  });

  it.skipIf(!canRunRedis())('cluster: two nodes on one Redis, each tick once, load after extract, /metrics served', async () => {
    const server = await RedisServer.start();
    try {
      const file = example('cluster/node.mjs');
      const ports = await freePorts(2);
      const children = ['n1', 'n2'].map((id, i) =>
        startTracked(process.execPath, [file, '7'], {
          env: {
            ...process.env,
            REDIS_URL: server.url,
            NODE_ID: id,
            KEY_PREFIX: 'example',
            SCHED_EXECUTE_SECRET: 'example-secret',
            METRICS_PORT: String(ports[i]),
          },
        }),
      );
      const ended = Promise.all(children.map(runToEnd));
      await Promise.all(children.map((c, i) => waitForOutput(c, /started; live nodes/, 10_000, `n${i + 1} started`)));
      const metrics = await (await fetch(`http://127.0.0.1:${ports[0]}/metrics`)).text();
      expect(metrics).toMatch(/^sched_live_nodes 2$/m);
      const runs = await ended;
      for (const r of runs) expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: '' });
      const ticks = runs.flatMap((r) => [...r.out.matchAll(/^n\d tick (\S+) token \d+$/gm)].map((m) => m[1]));
      expect(ticks.length).toBeGreaterThanOrEqual(4);
      expect(new Set(ticks).size).toBe(ticks.length); // no instant twice across the two nodes
      const all = runs.map((r) => r.out).join('\n');
      expect(all).toMatch(/started; live nodes: /);
      expect(all).toMatch(/ extract$/m);
      expect(all).toMatch(/ load \(after extract\)$/m);
    } finally {
      await server.dispose();
    }
  });
});
