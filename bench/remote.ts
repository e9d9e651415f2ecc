/**
 * Remote execution: executions per second and round-trip latency for a no-op
 * job on 3 node processes, open loop at fixed offered rates, beside BullMQ
 * (`Queue.add` + a Worker process, concurrency 50) at the same rates, in the
 * same run on one redis-server of its own. Our sender does what
 * `sched.execute()` does — routes (round-robin, one Lua call) and publishes
 * the envelope with its targets and a `replyTo` on the target's own channel —
 * from a plain ioredis client; latency is route → reply. BullMQ's is `add` →
 * the `completed` event (QueueEvents). Method: ../shared/BENCH.md.
 *
 *   BENCH_SECONDS (8) BENCH_RATES (500,1000,2000,4000) BENCH_REPEATS (2)
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { Queue, QueueEvents } from 'bullmq';
import { RedisServer, stopProcess } from '@sched/testkit';
import { RedisConnection } from '@sched/redis';
import { RemoteRouter, nodeChannelOf } from '@sched/remote';
import { spawnBenchProcess } from './lib/spawn.js';
import { fmt, keepRaw, machine, summary, table } from './lib/stats.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const RATES = (process.env.BENCH_RATES ?? '500,1000,2000,4000').split(',').map(Number);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 2);
const WARMUP_MS = 1_000;
const script = fileURLToPath(new URL('./remote-node.ts', import.meta.url));

const spawn = (config: Record<string, unknown>): Promise<ChildProcess> => spawnBenchProcess(script, config);

interface Cell {
  sent: number;
  answered: number;
  perSecond: number;
  late: ReturnType<typeof summary>;
  /** CPU of the receiving processes (our 3 nodes, BullMQ's worker) from ready to exit, µs per answered execution. */
  cpuPerExecution?: number;
}

let cpuFiles = 0;
const cpuFile = (): string => join(tmpdir(), `sched-bench-remote-cpu-${process.pid}-${cpuFiles++}`);

/** The receivers' CPU (µs, written by each at exit) per answered execution. */
function cpuPer(files: string[], answered: number): number {
  const total = files.reduce((sum, f) => sum + Number(readFileSync(f, 'utf8')), 0);
  for (const f of files) rmSync(f, { force: true });
  return total / Math.max(1, answered);
}

/**
 * Sends `rate` per second for a warm-up second and then SECONDS (in 1 ms
 * ticks, catching up when late), waits up to 3 s for stragglers, and reports
 * the messages sent after the warm-up: how many were answered, and latency.
 */
async function openLoop(rate: number, send: (done: (ms: number) => void) => Promise<void>): Promise<Cell> {
  const latencies: number[] = [];
  let sent = 0;
  let measured = 0;
  const t0 = performance.now();
  const total = rate * (SECONDS + WARMUP_MS / 1000);
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
      while (sent < due) {
        sent += 1;
        const at = performance.now();
        // The first second warms the code paths up (JIT): sent, not counted.
        const counted = at - t0 >= WARMUP_MS;
        if (counted) measured += 1;
        void send(() => {
          if (counted) latencies.push(performance.now() - at);
        });
      }
      if (sent >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  const end = performance.now() + 3_000;
  while (latencies.length < measured && performance.now() < end) await new Promise((r) => setTimeout(r, 20));
  return { sent: measured, answered: latencies.length, perSecond: latencies.length / SECONDS, late: summary(latencies) };
}

async function ours(server: RedisServer, rate: number, run: number): Promise<Cell> {
  const prefix = `remote-${rate}-${run}`;
  const files = ['n1', 'n2', 'n3'].map(cpuFile);
  const nodes = await Promise.all(
    ['n1', 'n2', 'n3'].map((nodeId, i) => spawn({ mode: 'node', nodeId, url: server.url, prefix, cpuFile: files[i] })),
  );
  let cell: Cell | undefined;
  const pub = new Redis(server.url);
  const sub = new Redis(server.url);
  // Routed before publishing, as sched.execute() does (the receivers then do not route).
  const connection = new RedisConnection(pub, { keyPrefix: prefix });
  const router = new RemoteRouter(connection);
  const waiting = new Map<string, (ms: number) => void>();
  const replyTo = `bench-replies-${prefix}`;
  await sub.subscribe(replyTo);
  sub.on('message', (_c, raw: string) => {
    const { messageId } = JSON.parse(raw) as { messageId: string };
    waiting.get(messageId)?.(0);
    waiting.delete(messageId);
  });
  // Every node live in every node's view first.
  await new Promise((r) => setTimeout(r, 2_000));
  try {
    cell = await openLoop(rate, async (done) => {
      const messageId = randomUUID();
      waiting.set(messageId, done);
      const { targets } = await router.route(messageId, { jobName: 'noop', strategy: 'round-robin' }, ['n1', 'n2', 'n3']);
      await pub.publish(
        nodeChannelOf(connection.prefix, targets[0] as string),
        JSON.stringify({
          messageId,
          messageType: 'execute',
          jobName: 'noop',
          routeStrategy: 'round-robin',
          timeoutMs: 10_000,
          replyTo,
          targets,
        }),
      );
    });
  } finally {
    pub.disconnect();
    sub.disconnect();
    await Promise.all(nodes.map((n) => stopProcess(n, 'SIGTERM', 30_000)));
  }
  return { ...cell, cpuPerExecution: cpuPer(files, cell.answered) };
}

async function bullmq(server: RedisServer, rate: number, run: number): Promise<Cell> {
  const name = `bull-${rate}-${run}`;
  const url = new URL(server.url);
  const connection = { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null };
  const file = cpuFile();
  const worker = await spawn({ mode: 'bullmq', nodeId: 'worker', url: server.url, prefix: name, cpuFile: file });
  let cell: Cell | undefined;
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection });
  await events.waitUntilReady();
  const waiting = new Map<string, (ms: number) => void>();
  events.on('completed', ({ jobId }) => {
    waiting.get(jobId)?.(0);
    waiting.delete(jobId);
  });
  try {
    cell = await openLoop(rate, async (done) => {
      const jobId = randomUUID();
      waiting.set(jobId, done);
      await queue.add('noop', {}, { jobId, removeOnComplete: true, removeOnFail: true });
    });
  } finally {
    await events.close();
    await queue.close();
    await stopProcess(worker, 'SIGTERM', 30_000);
  }
  return { ...cell, cpuPerExecution: cpuPer([file], cell.answered) };
}

async function main(): Promise<void> {
  console.log(`remote execution — ${machine()}; ${SECONDS} s per cell, open loop, ${REPEATS} repeats`);
  const server = await RedisServer.start();
  const rows: string[][] = [];
  try {
    for (let r = 0; r < REPEATS; r++) {
      for (const rate of RATES) {
        // Interleaved: ours then BullMQ at each offered rate.
        for (const [system, measure] of [
          ['sched', ours],
          ['BullMQ', bullmq],
        ] as const) {
          const c = await measure(server, rate, r);
          keepRaw('remote.jsonl', { system, rate, repeat: r, seconds: SECONDS, ...c });
          const row = [
            system,
            String(rate),
            String(r + 1),
            String(c.sent),
            String(c.answered),
            fmt(c.perSecond, 0),
            fmt(c.late.p50),
            fmt(c.late.p99),
            fmt(c.late.max),
            fmt(c.cpuPerExecution ?? NaN, 0),
          ];
          console.log(row.join('  '));
          rows.push(row);
        }
      }
    }
  } finally {
    await server.dispose();
  }
  console.log();
  console.log(
    table(['system', 'offered/s', 'rep', 'sent', 'answered', 'done/s', 'p50 ms', 'p99 ms', 'max ms', 'recv CPU µs/exec'], rows),
  );
}

await main();
