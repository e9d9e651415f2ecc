/**
 * One node of the distributed demo, a process of its own (the orchestrator
 * starts three): `createClusterScheduler` on the demo's Redis with every
 * feature package attached, the demo's jobs, and a line on stdout for each
 * thing worth showing (`@ev {json}`). Commands come on stdin, one JSON line
 * each (`{ id, cmd, args }`), answered as `@answer {json}`.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { createClusterScheduler, RedisConfigStore, RedisConnection } from '@sched/cluster';
import { readJsonLines } from '@sched/testkit';
import { loadConfigFile } from '@sched/config';
import type { ExecuteRequest } from '@sched/core';
import { clusterDemoJobs } from './jobs.js';

export interface DemoNodeConfig {
  nodeId: string;
  redisUrl: string;
  keyPrefix: string;
}

const config = JSON.parse(process.env.SCHED_DEMO_NODE ?? '{}') as DemoNodeConfig;
const emit = (ev: Record<string, unknown>): void =>
  void process.stdout.write(`@ev ${JSON.stringify({ node: config.nodeId, ...ev })}\n`);
const log = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
  emit({
    ev: 'log',
    level,
    msg,
    ...(typeof fields?.jobName === 'string' ? { job: fields.jobName } : {}),
    ...(fields?.error instanceof Error ? { error: fields.error.message } : {}),
  });

const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, retryStrategy: () => 200 });
redis.on('error', () => undefined);
const scheduler = createClusterScheduler({
  redis,
  nodeId: config.nodeId,
  keyPrefix: config.keyPrefix,
  snapshotRepository: 'redis',
  maxConcurrency: 3,
  // Short enough that a node killed -9 is noticed within seconds.
  heartbeatIntervalMs: 500,
  nodeTtlMs: 3_000,
  leaseTtlMs: 3_000,
  leaseRenewMs: 1_000,
  logger: { debug() {}, info() {}, warn: log('warn'), error: log('error') },
});

for (const { job, cfg } of clusterDemoJobs((ms, signal) => delay(ms, undefined, { signal }))) scheduler.registerJob(job, cfg);

const priorityOf = (job: string) => scheduler.getJob(job).priority;
// Accepted: claimed by this node and handed to its dispatcher (it waits there for a slot, by priority).
scheduler.on('fire', (e) => emit({ ev: 'fire', job: e.jobName, fireId: e.fireId, at: Date.now() }));
scheduler.on('start', (e) =>
  emit({
    ev: 'start',
    job: e.jobName,
    fireId: e.fireId,
    kind: e.kind,
    attempt: e.attempt,
    scheduledAt: e.scheduledAt?.getTime(),
    at: e.startedAt.getTime(),
    priority: priorityOf(e.jobName),
  }),
);
const end = (o: {
  jobName: string;
  fireId: string;
  status: string;
  attempt: number;
  durationMs: number;
  scheduledAt?: Date | undefined;
  items?: { itemsDone: number; itemsTotal: number } | undefined;
  error?: { message: string } | undefined;
}) =>
  emit({
    ev: 'end',
    job: o.jobName,
    fireId: o.fireId,
    status: o.status,
    attempt: o.attempt,
    durationMs: o.durationMs,
    scheduledAt: o.scheduledAt?.getTime(),
    ...(o.items ? { items: `${o.items.itemsDone}/${o.items.itemsTotal}` } : {}),
    ...(o.error ? { error: o.error.message } : {}),
  });
scheduler.on('complete', end);
scheduler.on('fail', end);
scheduler.on('timeout', end);
scheduler.on('skip', (e) => emit({ ev: 'skip', job: e.jobName, reason: e.reason, scheduledAt: e.scheduledAt?.getTime() }));
scheduler.on('misfire', (e) => emit({ ev: 'misfire', job: e.jobName, count: e.missedCount, policy: e.policy }));
scheduler.on('abandon', (e) => emit({ ev: 'abandon', job: e.jobName, fireId: e.fireId }));

// The shared configuration as this node sees it: each version it applies.
const configs = new RedisConfigStore(new RedisConnection(redis, { keyPrefix: config.keyPrefix }));
const stopWatching = configs.watch((c) => emit({ ev: 'config', version: c.version, by: c.nodeId, reason: c.reason }));

async function command({ id, cmd, args }: { id: number; cmd: string; args: unknown[] }): Promise<void> {
  const answer = (body: Record<string, unknown>) => process.stdout.write(`@answer ${JSON.stringify({ id, ...body })}\n`);
  try {
    let result: unknown;
    if (cmd === 'execute') result = await scheduler.execute(args[0] as ExecuteRequest);
    else if (cmd === 'loadConfigFile') {
      (await loadConfigFile(scheduler, args[0] as string, { scope: 'cluster' })).close();
      result = (await configs.get())?.version;
    } else if (cmd === 'getNodes') result = (await scheduler.getNodes()).map((n) => n.nodeId);
    else if (cmd === 'getClusterMetrics') result = await scheduler.getClusterMetrics({ timeoutMs: 3_000 });
    else throw new Error(`unknown command ${cmd}`);
    answer({ ok: true, result });
  } catch (error) {
    answer({ ok: false, message: (error as Error).message });
  }
}

readJsonLines(process.stdin, (line) => void command(line as { id: number; cmd: string; args: unknown[] }));

process.once('SIGTERM', () => {
  stopWatching();
  scheduler
    .stop({ timeoutMs: 5_000 })
    .then(() => redis.quit())
    .then(() => process.exit(0))
    .catch(() => process.exit(1));
});

await scheduler.start();
emit({ ev: 'ready', pid: process.pid });
