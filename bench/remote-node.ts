/**
 * One process of the remote-execution benchmark (config in BENCH_NODE):
 * `mode: 'node'` is a scheduler node serving the no-op job `noop`;
 * `mode: 'bullmq'` is a BullMQ Worker (concurrency 50) of a no-op queue.
 * Prints `ready`; stops on SIGTERM, writing the CPU it used since `ready` to `cpuFile`.
 */
import { writeFileSync } from 'node:fs';
import { Worker } from 'bullmq';
import { benchNode } from './lib/node.js';

const cfg = JSON.parse(process.env.BENCH_NODE ?? '{}') as {
  mode: 'node' | 'bullmq';
  nodeId: string;
  url: string;
  prefix: string;
  /** Where to write the CPU µs this process used from `ready` to its exit. */
  cpuFile: string;
};

if (cfg.mode === 'bullmq') {
  const url = new URL(cfg.url);
  const worker = new Worker(cfg.prefix, async () => undefined, {
    connection: { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null },
    concurrency: 50,
  });
  await worker.waitUntilReady();
  process.on('SIGTERM', () => void worker.close().then(() => process.exit(0)));
} else {
  const sched = benchNode({ url: cfg.url, nodeId: cfg.nodeId, prefix: cfg.prefix, maxConcurrency: 200, maxQueued: 20_000 });
  sched.registerJob({ name: 'noop', execute: () => undefined }, { cronSpec: '0 0 0 1 1 *' });
  await sched.start();
}
const atReady = process.cpuUsage();
process.on('exit', () => {
  const used = process.cpuUsage(atReady);
  writeFileSync(cfg.cpuFile, String(used.user + used.system));
});
console.log('ready');
