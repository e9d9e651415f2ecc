// One sched node on Redis. Start it in several terminals (or machines) with the
// same REDIS_URL and different NODE_IDs: every fire runs once in the cluster.
//   npm install @sched/cluster ioredis
//   REDIS_URL=redis://127.0.0.1:6379 NODE_ID=node-1 SCHED_EXECUTE_SECRET=… node node.mjs [seconds]
import http from 'node:http';
import { Redis } from 'ioredis';
import { createClusterScheduler, createConsoleLogger, metricsHandler } from '@sched/cluster';

const url = process.env.REDIS_URL;
if (!url) {
  console.error('set REDIS_URL, e.g. REDIS_URL=redis://127.0.0.1:6379');
  process.exit(1);
}
const nodeId = process.env.NODE_ID ?? `node-${process.pid}`;
const seconds = Number(process.argv[2] ?? 0); // 0: until Ctrl-C

const redis = new Redis(url, { maxRetriesPerRequest: 1 });
const sched = createClusterScheduler({
  redis,
  nodeId,
  keyPrefix: process.env.KEY_PREFIX ?? 'sched-example',
  snapshotRepository: 'redis',
  maxConcurrency: 10,
  // Signs remote execution; without it every node warns that anyone who can publish to this Redis can run jobs.
  executeSecret: process.env.SCHED_EXECUTE_SECRET,
  logger: createConsoleLogger({ level: 'warn' }),
});

sched.registerJob(
  { name: 'tick', execute: (ctx) => console.log(`${nodeId} tick ${ctx.scheduledAt?.toISOString()} token ${ctx.fencingToken}`) },
  { cronSpec: '* * * * * *' },
);
sched.registerJob({ name: 'extract', execute: () => console.log(`${nodeId} extract`) }, { cronSpec: '*/5 * * * * *' });
sched.registerJob({ name: 'load', execute: () => console.log(`${nodeId} load (after extract)`) }, { dependencies: ['extract'] });

// Prometheus metrics of this node (@sched/metrics, attached by createClusterScheduler).
const metricsPort = Number(process.env.METRICS_PORT ?? 0);
const serve = metricsHandler(sched.metrics);
const server = http.createServer((req, res) => (req.url === '/metrics' ? void serve(req, res) : res.writeHead(404).end()));
server.listen(metricsPort, '127.0.0.1');

await sched.start();
console.log(`${nodeId} started; live nodes: ${(await sched.getNodes()).map((n) => n.nodeId).join(', ')}`);

const stop = async () => {
  await sched.stop();
  server.close();
  redis.disconnect();
  const { totals } = sched.getMetrics();
  console.log(`${nodeId} stopped: ran ${totals.executionCount} executions`);
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
if (seconds > 0) setTimeout(() => void stop(), seconds * 1000);
