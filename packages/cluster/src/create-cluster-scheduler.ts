import { Scheduler, type Clock, type MetricsSink, type SchedulerOptions, type SnapshotRepository } from '@sched/core';
import { DagCoordinator } from '@sched/dag';
import { MetricsCollector } from '@sched/metrics';
import { ClusterShardPlanner } from '@sched/sharding';
import { ClusterRemoteExecutor } from '@sched/remote';
import { RedisPubSub } from '@sched/pubsub';
import { ClusterClock, type RedisClient } from '@sched/redis';
import { RedisNodeRegistry } from '@sched/registry';
import { RedisSnapshotRepository } from '@sched/snapshots';
import { RedisSchedulerCache } from './redis-scheduler-cache.js';

export interface ClusterSchedulerOptions extends Omit<
  SchedulerOptions,
  'schedulerCache' | 'distributed' | 'pubsub' | 'clock' | 'nodeId' | 'dataDir' | 'snapshotRepository'
> {
  /**
   * Execution history: `'redis'` keeps it in this Redis (RedisSnapshotRepository
   * of @sched/snapshots: 7 days, 1,000 per job, shared by every node), or give any
   * SnapshotRepository (PostgreSQL for durable history). @default memory (this node's own, 100 per job)
   */
  snapshotRepository?: SnapshotRepository | 'redis';
  /** An ioredis `Redis` or `Cluster` (yours: sched does not close it). */
  redis: RedisClient;
  /** Unique per live process; a restarted process may reuse its id. */
  nodeId: string;
  /** @default os.hostname() */
  host?: string;
  /** @default 'sched' */
  keyPrefix?: string;
  /** @default 10_000 */
  heartbeatIntervalMs?: number;
  /** @default 30_000 */
  nodeTtlMs?: number;
  /** This node's own clock, corrected onto Redis TIME (tests inject a skewed one). @default the system clock */
  baseClock?: Clock;
  /** Offsets beyond this are logged as warnings. @default 1_000 */
  clockWarnThresholdMs?: number;
  /** A Redis call slower than this counts as Redis unreachable. @default 2_000 */
  commandTimeoutMs?: number;
  /**
   * The HMAC secret of remote execution (`@sched/remote`): every node and
   * sender shares it; without it anyone who can publish to this Redis can run
   * jobs (each node warns at start).
   */
  executeSecret?: string;
  /**
   * The Prometheus collector of `@sched/metrics` (serve it with
   * `metricsHandler(scheduler.metrics)`); it also answers the other nodes'
   * `getClusterMetrics()`. `false` attaches none (this node then is `missing`
   * from the cluster aggregate). @default a new `MetricsCollector()` with its own registry
   */
  metrics?: MetricsCollector | false;
}

/** A `Scheduler` wired to Redis; `stop()` also ends what sched opened on the client (the subscriber). */
export class ClusterScheduler extends Scheduler {
  constructor(
    options: SchedulerOptions,
    readonly cache: RedisSchedulerCache,
    readonly clusterClock: ClusterClock,
    /** The Prometheus collector attached (see `ClusterSchedulerOptions.metrics`). */
    readonly metrics: MetricsCollector | undefined,
  ) {
    super(options);
  }

  override async stop(options?: { timeoutMs?: number }): Promise<void> {
    await super.stop(options);
    this.clusterClock.stop();
    await this.cache.connection.close();
  }
}

/**
 * The seed's setup in one call: a `RedisSchedulerCache`, a `NodeRegistry`, a
 * `RedisPubSub` and a `ClusterClock` on one Redis (or Redis Cluster), and a
 * `Scheduler` firing by the cluster clock, with the feature packages attached
 * (`DagCoordinator` for `dependencies`, `ClusterShardPlanner` for
 * `shardingEnabled`, `ClusterRemoteExecutor` for `execute()`, a
 * `MetricsCollector` for Prometheus and `getClusterMetrics()`; pass your own
 * instance to tune them).
 *
 * ```ts
 * const scheduler = createClusterScheduler({ redis: new Redis(url), nodeId: 'node-a', maxConcurrency: 20 });
 * scheduler.registerJob(job, { cronSpec: '0 * * * * *' });
 * await scheduler.start();
 * ```
 */
export function createClusterScheduler(options: ClusterSchedulerOptions): ClusterScheduler {
  const {
    redis,
    nodeId,
    host,
    keyPrefix,
    heartbeatIntervalMs,
    nodeTtlMs,
    baseClock,
    clockWarnThresholdMs,
    commandTimeoutMs,
    snapshotRepository,
    executeSecret,
    metrics,
    ...schedulerOptions
  } = options;
  const cache = new RedisSchedulerCache(redis, {
    ...(keyPrefix === undefined ? {} : { keyPrefix }),
    ...(commandTimeoutMs === undefined ? {} : { commandTimeoutMs }),
    ...(schedulerOptions.logger ? { logger: schedulerOptions.logger } : {}),
  });
  const clock = new ClusterClock(cache.connection, {
    ...(baseClock ? { base: baseClock } : {}),
    ...(clockWarnThresholdMs === undefined ? {} : { warnThresholdMs: clockWarnThresholdMs }),
    ...(schedulerOptions.logger ? { logger: schedulerOptions.logger } : {}),
  });
  const registry = new RedisNodeRegistry(cache, {
    nodeId,
    clock,
    ...(host === undefined ? {} : { host }),
    ...(heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs }),
    ...(nodeTtlMs === undefined ? {} : { nodeTtlMs }),
    ...(schedulerOptions.logger ? { logger: schedulerOptions.logger } : {}),
  });
  const pubsub = new RedisPubSub(cache, { nodeId, ...(schedulerOptions.logger ? { logger: schedulerOptions.logger } : {}) });
  const history = snapshotRepository === 'redis' ? new RedisSnapshotRepository(cache, { clock }) : snapshotRepository;
  const collector = metrics === false ? undefined : (metrics ?? new MetricsCollector());
  const given: readonly MetricsSink[] =
    schedulerOptions.metricsSink === undefined
      ? []
      : Array.isArray(schedulerOptions.metricsSink)
        ? schedulerOptions.metricsSink
        : [schedulerOptions.metricsSink as MetricsSink];
  const sinks: MetricsSink[] = [...given, ...(collector ? [collector] : [])];
  return new ClusterScheduler(
    {
      dependencyCoordinator: new DagCoordinator(),
      shardPlanner: new ClusterShardPlanner(),
      remoteExecutor: new ClusterRemoteExecutor(cache, executeSecret === undefined ? {} : { executeSecret }),
      ...schedulerOptions,
      ...(history ? { snapshotRepository: history } : {}),
      ...(sinks.length > 0 ? { metricsSink: sinks } : {}),
      nodeId,
      clock,
      schedulerCache: cache,
      distributed: registry,
      pubsub,
    },
    cache,
    clock,
    collector,
  );
}
