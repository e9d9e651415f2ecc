import { z } from 'zod';
import type { Chain } from '../chain.js';
import { timezoneSchema } from '../config/schema.js';
import { parseOrThrow } from '../config/validate.js';
import { InvalidArgumentError, InvalidConfigError } from '../errors.js';
import type { ConfigLoadStrategy } from '../model.js';
import type { Clock } from '../ports/clock.js';
import type { DependencyCoordinator } from '../ports/dependency-coordinator.js';
import type { Logger } from '../ports/logger.js';
import type { MetricsSink } from '../ports/metrics-sink.js';
import type { NodeRegistry } from '../ports/node-registry.js';
import type { PubSub } from '../ports/pubsub.js';
import type { RemoteExecutor } from '../ports/remote-executor.js';
import type { SchedulerCache } from '../ports/scheduler-cache.js';
import type { ShardPlanner } from '../ports/shard-planner.js';
import type { SnapshotRepository } from '../ports/snapshot-repository.js';
import { Defaults } from './defaults.js';

/**
 * Options of `new Scheduler(options)`. The ports are named after what they
 * fill; each has an in-memory default, so `new Scheduler()` runs in one
 * process with nothing else (the embedded default).
 */
export interface SchedulerOptions {
  /** Claims, leases, state and shared config. @default memory (this process), or files with `dataDir` */
  schedulerCache?: SchedulerCache;
  /**
   * Directory where the embedded default keeps its high-water marks and
   * catch-up lists, so a restarted process finds the fires it missed (one
   * process per directory). Not with `schedulerCache`, which holds them itself.
   */
  dataDir?: string;
  /** Messages between nodes. @default memory (this process) */
  pubsub?: PubSub;
  /** The node registry; its `nodeId` is this node's. @default a registry of this node alone */
  distributed?: NodeRegistry;
  /** Execution history. @default memory, 100 per job */
  snapshotRepository?: SnapshotRepository;
  /** Serves `dependencies` (`new DagCoordinator()` from @sched/dag). */
  dependencyCoordinator?: DependencyCoordinator;
  /** Serves `shardingEnabled` (from @sched/sharding). */
  shardPlanner?: ShardPlanner;
  /** Routes `execute()`. @default runs on this node */
  remoteExecutor?: RemoteExecutor;
  /** Extra metrics sinks (core always keeps its own counters). */
  metricsSink?: MetricsSink | readonly MetricsSink[];
  /** @default the system clock */
  clock?: Clock;
  /** @default console lines at `info` on stderr */
  logger?: Logger;
  /** Wrappers around every job. */
  chain?: Chain;
  /** This node's id. @default the registry's, else `<hostname>-<pid>` */
  nodeId?: string;
  /** Zone for jobs that name none and the document names none. @default 'UTC' */
  timezone?: string;
  /** Executions running at once on this node. @default 10 */
  maxConcurrency?: number;
  /** Due fires held beyond the free slots; the rest are left unclaimed for others. @default 1000 */
  maxQueued?: number;
  /** A fire not started this long after its instant is a misfire. @default 5000 */
  misfireThresholdMs?: number;
  /** `'delayed'` replays at most this many missed instants. @default 100 */
  misfireMaxCatchup?: number;
  /** Pace of `'delayed'` replays. @default 100 */
  catchupIntervalMs?: number;
  /** A fire left unclaimed is swept again after this. @default 250 */
  takeoverGraceMs?: number;
  /**
   * A job's preferred node claims its fires this long before their instant and
   * holds them until it, so the claim's round trip and the store's work are done
   * by the instant, and only the start is left. A fire claimed ahead is written
   * running only at its instant; if its node dies before, the others take it over
   * after its lease. 0 claims at the instant. Shorter than half of `leaseTtlMs`.
   * @default 0
   */
  claimAheadMs?: number;
  /** Lease of a claimed or running fire. @default 30000 */
  leaseTtlMs?: number;
  /** Renewal interval of held leases. @default 10000 */
  leaseRenewMs?: number;
  /**
   * How long a finished fire's record is kept: fires claimed by id (manual, remote, DAG
   * dependents, shards, catch-up, takeovers) and the cron fires of DAG and sharded jobs.
   * Other cron fires need no record once done (the job's mark guards the instant): theirs
   * is deleted at finish. @default 60000
   */
  fireRecordRetentionMs?: number;
  /** Default wait of `stop()` for running jobs. @default 30000 */
  stopTimeoutMs?: number;
  /** Whose config wins where a local document and the cluster's differ. @default 'local-first' */
  configLoadStrategy?: ConfigLoadStrategy;
}

const positiveInt = z.number().int().min(1).max(2_147_483_647);

const tuningSchema = z.strictObject({
  nodeId: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[^\s{}]+$/, 'no whitespace or braces')
    .optional(),
  timezone: timezoneSchema.optional(),
  maxConcurrency: z.number().int().min(1).max(100_000).optional(),
  maxQueued: z.number().int().min(0).max(10_000_000).optional(),
  misfireThresholdMs: positiveInt.optional(),
  misfireMaxCatchup: z.number().int().min(0).max(100_000).optional(),
  catchupIntervalMs: z.number().int().min(0).max(2_147_483_647).optional(),
  takeoverGraceMs: positiveInt.optional(),
  claimAheadMs: z.number().int().min(0).max(60_000).optional(),
  leaseTtlMs: positiveInt.optional(),
  leaseRenewMs: positiveInt.optional(),
  fireRecordRetentionMs: positiveInt.optional(),
  stopTimeoutMs: z.number().int().min(0).max(2_147_483_647).optional(),
  configLoadStrategy: z.enum(['local-first', 'remote-first', 'local-only', 'remote-only']).optional(),
});

/** Each port option and the methods it must have. */
const PORT_METHODS: Record<string, readonly string[]> = {
  schedulerCache: ['lockManager', 'stateStore', 'configStore'],
  pubsub: ['publish', 'subscribe'],
  distributed: ['register', 'getAllNodes', 'deregister', 'on'],
  snapshotRepository: ['record', 'update', 'list', 'get', 'getStatistics'],
  dependencyCoordinator: ['validate', 'attach', 'onFireComplete'],
  shardPlanner: ['plan', 'attach', 'runShardedFire', 'ownsFire'],
  remoteExecutor: ['attach', 'execute', 'cancel'],
  clock: ['now', 'setTimer', 'clearTimer'],
  logger: ['debug', 'info', 'warn', 'error'],
  chain: ['then', 'attach'],
};

export type ResolvedTuning = Required<Omit<z.infer<typeof tuningSchema>, 'nodeId'>> & { nodeId: string | undefined };

/** Validates the options at construction; throws `InvalidConfigError` / `InvalidArgumentError`. */
export function resolveOptions(options: SchedulerOptions): ResolvedTuning {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('new Scheduler', 'options must be an object');
  }
  const tuning: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    if (key in PORT_METHODS) {
      checkPort(key, value);
      continue;
    }
    if (key === 'dataDir') {
      if (typeof value !== 'string' || value === '')
        throw new InvalidArgumentError('new Scheduler', `option \`dataDir\` must be a non-empty path, got ${String(value)}`);
      if (options.schedulerCache !== undefined) {
        throw new InvalidConfigError('new Scheduler', [
          { path: 'dataDir', message: 'is for the embedded store; with a schedulerCache the marks live in that store' },
        ]);
      }
      continue;
    }
    if (key === 'metricsSink') {
      for (const sink of Array.isArray(value) ? value : [value]) checkPort('metricsSink', sink, ['record']);
      continue;
    }
    tuning[key] = value;
  }
  const t = parseOrThrow(tuningSchema, tuning, 'new Scheduler');
  const resolved: ResolvedTuning = {
    nodeId: t.nodeId,
    timezone: t.timezone ?? Defaults.timezone,
    maxConcurrency: t.maxConcurrency ?? Defaults.maxConcurrency,
    maxQueued: t.maxQueued ?? Defaults.maxQueued,
    misfireThresholdMs: t.misfireThresholdMs ?? Defaults.misfireThresholdMs,
    misfireMaxCatchup: t.misfireMaxCatchup ?? Defaults.misfireMaxCatchup,
    catchupIntervalMs: t.catchupIntervalMs ?? Defaults.catchupIntervalMs,
    takeoverGraceMs: t.takeoverGraceMs ?? Defaults.takeoverGraceMs,
    claimAheadMs: t.claimAheadMs ?? Defaults.claimAheadMs,
    leaseTtlMs: t.leaseTtlMs ?? Defaults.leaseTtlMs,
    leaseRenewMs: t.leaseRenewMs ?? Defaults.leaseRenewMs,
    fireRecordRetentionMs: t.fireRecordRetentionMs ?? Defaults.fireRecordRetentionMs,
    stopTimeoutMs: t.stopTimeoutMs ?? Defaults.stopTimeoutMs,
    configLoadStrategy: t.configLoadStrategy ?? Defaults.configLoadStrategy,
  };
  if (resolved.leaseRenewMs >= resolved.leaseTtlMs) {
    throw new InvalidConfigError('new Scheduler', [
      { path: 'leaseRenewMs', message: `must be shorter than leaseTtlMs (${resolved.leaseRenewMs} >= ${resolved.leaseTtlMs})` },
    ]);
  }
  if (resolved.claimAheadMs * 2 >= resolved.leaseTtlMs) {
    throw new InvalidConfigError('new Scheduler', [
      {
        path: 'claimAheadMs',
        message: `must be shorter than half of leaseTtlMs (${resolved.claimAheadMs} * 2 >= ${resolved.leaseTtlMs})`,
      },
    ]);
  }
  return resolved;
}

function checkPort(option: string, value: unknown, methods: readonly string[] = PORT_METHODS[option] ?? []): void {
  if (typeof value !== 'object' || value === null) {
    throw new InvalidArgumentError('new Scheduler', `option \`${option}\` must be an object, got ${typeof value}`);
  }
  const missing = methods.filter((m) => !(m in value));
  if (missing.length > 0) {
    throw new InvalidArgumentError('new Scheduler', `option \`${option}\` lacks ${missing.map((m) => `\`${m}\``).join(', ')}`);
  }
}
