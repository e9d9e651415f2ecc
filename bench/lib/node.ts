import { Redis } from 'ioredis';
import { createClusterScheduler, type ClusterScheduler } from '@sched/cluster';
import { silentLogger } from '@sched/core';

/**
 * A benchmark node: a cluster scheduler on its own client, heartbeat 1 s and
 * TTL 5 s (short, so a run's nodes see each other quickly), that stops and
 * exits on SIGTERM.
 */
export function benchNode(options: {
  url: string;
  nodeId: string;
  prefix: string;
  maxConcurrency: number;
  maxQueued?: number;
}): ClusterScheduler {
  const redis = new Redis(options.url, { maxRetriesPerRequest: 1 });
  const sched = createClusterScheduler({
    redis,
    nodeId: options.nodeId,
    keyPrefix: options.prefix,
    logger: silentLogger,
    heartbeatIntervalMs: 1_000,
    nodeTtlMs: 5_000,
    maxConcurrency: options.maxConcurrency,
    ...(options.maxQueued === undefined ? {} : { maxQueued: options.maxQueued }),
  });
  process.on('SIGTERM', () => {
    void sched
      .stop({ timeoutMs: 5_000 })
      .then(() => redis.disconnect())
      .then(() => process.exit(0));
  });
  return sched;
}
