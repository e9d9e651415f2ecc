/**
 * One BullMQ worker process of the comparison (bench/vs-bullmq.ts): a Worker
 * on the queue whose job schedulers the orchestrator upserted. It records,
 * for each job it runs, the intended instant (BullMQ names a scheduler's job
 * `repeat:<schedulerId>:<millis>`) and its lateness, and counts the commands its
 * clients send. Config in BENCH_NODE;
 * prints `ready`; on SIGTERM closes and writes its results to `out`.
 */
import { writeFileSync } from 'node:fs';
import { Worker } from 'bullmq';
import { countClientCommands } from './lib/redis.js';

interface BullBenchConfig {
  nodeId: string;
  url: string;
  queue: string;
  concurrency: number;
  out: string;
}

const cfg = JSON.parse(process.env.BENCH_NODE ?? '{}') as BullBenchConfig;
const url = new URL(cfg.url);
const late: number[] = [];
const fires: string[] = [];
// BullMQ's ioredis is the one counted here.
const commands = countClientCommands();
const worker = new Worker(
  cfg.queue,
  async (job) => {
    const parts = String(job.id).split(':');
    const intended = Number(parts[parts.length - 1]);
    late.push(Date.now() - intended);
    fires.push(`${parts.slice(1, -1).join(':')}@${intended}`);
  },
  {
    connection: { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null },
    concurrency: cfg.concurrency,
    // As a scheduler's user would: finished jobs are not kept.
    removeOnComplete: { count: 0 },
    removeOnFail: { count: 0 },
  },
);
await worker.waitUntilReady();
process.on('SIGTERM', () => {
  void worker.close().then(() => {
    const cpu = process.cpuUsage();
    writeFileSync(
      cfg.out,
      JSON.stringify({
        nodeId: cfg.nodeId,
        late,
        fires,
        commands: commands.total(),
        marks: commands.marks,
        cpuUsec: cpu.user + cpu.system,
      }),
    );
    process.exit(0);
  });
});
console.log('ready');
