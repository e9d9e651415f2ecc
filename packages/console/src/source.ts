import { randomUUID } from 'node:crypto';
import {
  MissingPackageError,
  isSchedError,
  silentLogger,
  type ClusterMetrics,
  type ConfigStore,
  type ExecuteRequest,
  type JobInfo,
  type Logger,
  type MetricsHost,
  type NodeInfo,
  type RemoteOutcome,
  type Scheduler,
  type SchedulerMetrics,
  type SnapshotRepository,
  type StateStore,
} from '@sched/core';
import { RedisConfigStore, RedisNodeRegistry, RedisPubSub, RedisSnapshotRepository, RedisStateStore } from '@sched/cluster';
import { ClusterMetricsGatherer } from '@sched/metrics';
import { RedisConnection, type RedisClient } from '@sched/redis';
import { requestExecution } from '@sched/remote';

/** What a trigger from the console came back with. */
export interface TriggerResult {
  messageId: string;
  outcomes: RemoteOutcome[];
  /** Nodes expected to answer that did not within the timeout. */
  missing: number;
}

/**
 * Where the console reads and writes the cluster: the ports of a running
 * `Scheduler` (mounted in an application's node), or the Redis adapters
 * themselves (`sched console`, a process that is no node). Both see the same
 * data; only how a trigger and the load figures travel differs.
 */
export interface ConsoleSource {
  readonly kind: 'scheduler' | 'redis';
  readonly logger: Logger;
  readonly configStore: Pick<ConfigStore, 'get' | 'compareAndSet' | 'history'>;
  readonly snapshots: Pick<SnapshotRepository, 'get' | 'list' | 'getStatistics'>;
  readonly stateStore: Pick<StateStore, 'getRunState' | 'getFireRecord'>;
  nodes(): Promise<NodeInfo[]>;
  /** Every live node's counters and load; undefined when no node runs a metrics collector. */
  metrics(): Promise<ClusterMetrics | undefined>;
  /** The jobs this process registered, with their code cfg (none for a Redis source). */
  localJobs(): JobInfo[];
  execute(request: ExecuteRequest, expected: number): Promise<TriggerResult>;
  close(): Promise<void>;
}

const METRICS_TIMEOUT_MS = 1_000;
/** Every open page polls; the nodes are asked for their counters at most once a second, whatever the number of tabs. */
const METRICS_REUSE_MS = 1_000;

/** `load()` shared by the calls within `reuseMs` of the last one that finished (and by those made while it runs). */
function reused<T>(load: () => Promise<T>, reuseMs: number): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    const now = Date.now();
    if (last && now - last.at < reuseMs) return last.value;
    const value = load();
    const entry = { at: Number.POSITIVE_INFINITY, value };
    last = entry;
    // Counted from when it settles; a failure is not kept.
    value.then(
      () => (entry.at = Date.now()),
      () => {
        if (last === entry) last = undefined;
      },
    );
    return value;
  };
}

/** The console inside a node: the scheduler's own ports. */
export function schedulerSource(scheduler: Scheduler): ConsoleSource {
  return {
    kind: 'scheduler',
    logger: scheduler.logger,
    configStore: scheduler.schedulerCache.configStore,
    snapshots: scheduler.snapshotRepository,
    stateStore: scheduler.schedulerCache.stateStore,
    nodes: () => scheduler.getNodes(),
    metrics: reused(async () => {
      try {
        return await scheduler.getClusterMetrics({ timeoutMs: METRICS_TIMEOUT_MS });
      } catch (error) {
        // No collector attached, or not running: this node's own counters are still known.
        if (!isSchedError(error)) throw error;
        return local(scheduler.getMetrics());
      }
    }, METRICS_REUSE_MS),
    localJobs: () => scheduler.getJobs(),
    async execute(request) {
      return { ...(await scheduler.execute(request)), missing: 0 };
    },
    close: async () => undefined,
  };
}

function local(m: SchedulerMetrics): ClusterMetrics {
  return { nodes: [m], missing: [], running: m.running, queued: m.queued, totals: m.totals, jobs: m.jobs };
}

export interface RedisSourceOptions {
  /** The nodes' `keyPrefix`. @default 'sched' */
  keyPrefix?: string;
  /** The cluster's `executeSecret`, to sign triggers with (it never leaves this process). */
  executeSecret?: string;
  logger?: Logger;
}

/** The console as a process of its own on the cluster's Redis (or Redis Cluster). */
export function redisSource(redis: RedisClient | RedisConnection, options: RedisSourceOptions = {}): ConsoleSource {
  const logger = options.logger ?? silentLogger;
  const connection =
    redis instanceof RedisConnection ? redis : new RedisConnection(redis, { keyPrefix: options.keyPrefix ?? 'sched', logger });
  const id = `console-${randomUUID().slice(0, 8)}`;
  const registry = new RedisNodeRegistry(connection, { nodeId: id });
  const pubsub = new RedisPubSub(connection, { nodeId: id, logger });
  const gatherer = new ClusterMetricsGatherer();
  // Never called for an observer host (gather counts only the nodes' answers).
  const notANode = (): SchedulerMetrics => {
    throw new MissingPackageError('console', 'own counters', 'a node', 'scheduler');
  };
  // The console asks like a node but is none: it answers no request and counts nothing itself.
  const host: MetricsHost = {
    nodeId: id,
    logger,
    pubsub,
    getMetrics: notANode,
    load: () => ({ running: 0, queued: 0 }),
    getNodes: () => registry.getAllNodes(),
  };
  let attached: Promise<void> | undefined;
  return {
    kind: 'redis',
    logger,
    configStore: new RedisConfigStore(connection),
    snapshots: new RedisSnapshotRepository(connection),
    stateStore: new RedisStateStore(connection),
    nodes: () => registry.getAllNodes(),
    metrics: reused(async () => {
      attached ??= gatherer.attach(host, { observer: true });
      await attached;
      const m = await gatherer.gather(host, { timeoutMs: METRICS_TIMEOUT_MS });
      return m.nodes.length === 0 ? undefined : m;
    }, METRICS_REUSE_MS),
    localJobs: () => [],
    async execute(request, expected) {
      const { messageId, outcomes, missing } = await requestExecution(connection, request, {
        expected,
        requester: id,
        ...(options.executeSecret ? { secret: options.executeSecret } : {}),
      });
      return { messageId, outcomes, missing };
    },
    async close() {
      if (attached) await gatherer.detach(host).catch(() => undefined);
      // A connection handed in belongs to the caller; one made here is closed here.
      if (!(redis instanceof RedisConnection)) await connection.close();
    },
  };
}
