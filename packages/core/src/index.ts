/**
 * @sched/core — the scheduling engine and the ports every adapter fills.
 * Explicit exports only: what is not listed here is internal.
 */
export { Scheduler } from './scheduler.js';
export type { JobInfo, SchedulerState, EffectiveConfig, ConfigVersion } from './scheduler.js';
export type { ConfigChange } from './engine/config-diff.js';
export { diffDocuments } from './engine/config-diff.js';
export type { ChangeOptions } from './engine/config-sync.js';
export type { EffectiveCfg } from './engine/task-config.js';
export type { SchedulerOptions } from './engine/options.js';
export type { MisfirePreview } from './engine/misfire-preview.js';
export { Defaults } from './engine/defaults.js';

export { Chain, withRecover, withTimeout } from './chain.js';
export type { ChainHost, JobWrapper, WrapperEnv } from './chain.js';

export type { Job, JobContext, ShardingJob, ShardContext, AnyJob, ParamsSchema } from './job.js';
export { isShardingJob, getShardIndex, getShardTotal } from './job.js';
export { ShardItemsFailedError } from './engine/sharding-job.js';

export { ExecutionStatus, executionStatuses, SkipReason, MisfirePolicy, ConfigLoadStrategy, RouteStrategy } from './model.js';
export type { ExecutionOutcome, ExecutionSnapshot, FinalStatus, FireKind, ShardItemCounts, ShardResult } from './model.js';

export { TypedEmitter } from './events.js';
export type {
  SchedulerEvents,
  SchedulerEventName,
  FireEvent,
  StartEvent,
  RetryEvent,
  SkipEvent,
  MisfireEvent,
  AbandonEvent,
  ErrorEvent,
} from './events.js';

export {
  SchedError,
  ErrorCode,
  InvalidCronError,
  InvalidConfigError,
  InvalidArgumentError,
  DuplicateJobError,
  UnknownJobError,
  MissingPackageError,
  DependencyGraphError,
  ShardsFailedError,
  SchedulerStateError,
  JobTimeoutError,
  JobCancelledError,
  JobAbortedError,
  JobFailedError,
  LeaseLostError,
  ConfigConflictError,
  StoreUnavailableError,
  RouteError,
  ExecuteTimeoutError,
  isSchedError,
} from './errors.js';
export type { ConfigIssue } from './errors.js';

export { parseCron, previewCron, compileCron, normalizeCronSpec, CronSpec } from './cron/index.js';
export type { FireTime } from './cron/index.js';

export {
  taskCfgSchema,
  configDocumentSchema,
  retrySchema,
  circuitBreakerSchema,
  jobNameSchema,
  JOB_NAME_PATTERN,
  isValidTimezone,
} from './config/schema.js';
export type { TaskCfg, ConfigDocument, ConfigDocumentInput } from './config/schema.js';
export { parseOrThrow } from './config/validate.js';

// Ports
export type { Clock, TimerHandle } from './ports/clock.js';
export { SystemClock } from './ports/clock.js';
export type { Logger, LogFields, LogLevel } from './ports/logger.js';
export { createConsoleLogger, silentLogger, fromPino, childLogger } from './ports/logger.js';
export type {
  LockManager,
  DueFire,
  ClaimOptions,
  ClaimedFire,
  FireClaimRequest,
  FireLease,
  WonFire,
  ClaimDueResult,
  Lease,
  LeaseOptions,
  FireWriteDone,
} from './ports/lock-manager.js';
export { cronFireId, fencingToken, FENCING_COUNTER_BITS } from './ports/lock-manager.js';
export type { StateStore, FireRecord, FireState, CatchupList } from './ports/state-store.js';
export type { ConfigStore, ConfigChangeMeta, VersionedConfig } from './ports/config-store.js';
export type { NodeRegistry, NodeInfo, LocalNodeInfo, RegistryEvent, JobSummary } from './ports/node-registry.js';
export type { PreparedMessage, PubSub, Unsubscribe } from './ports/pubsub.js';
export { Channels } from './ports/pubsub.js';
export type {
  SnapshotRepository,
  SnapshotFilter,
  SnapshotPage,
  SnapshotPatch,
  SnapshotStatistics,
} from './ports/snapshot-repository.js';
export type {
  ClusterMetrics,
  ClusterMetricsOptions,
  JobMetrics,
  MetricsEvent,
  MetricsHost,
  MetricsSink,
  SchedulerMetrics,
} from './ports/metrics-sink.js';
export type { DagNodeState, DagRunReport, DependencyCoordinator, DependencyGraph } from './ports/dependency-coordinator.js';
export type { ShardPlanner, ShardAssignment, ShardedFire } from './ports/shard-planner.js';
export type { ShardItemProgress } from './ports/shard-item-progress.js';
export type { RemoteExecutor, ExecuteRequest, ExecuteResult, RemoteOutcome } from './ports/remote-executor.js';
export type { SchedulerCache } from './ports/scheduler-cache.js';
export type { SchedulerHost, RunFireRequest } from './ports/scheduler-host.js';

// Memory adapters (the embedded default; shareable to simulate a cluster)
export { MemoryStore } from './memory/store.js';
export type { StoreChange } from './memory/store.js';
export { FileStore } from './memory/file-store.js';
export { MemoryLockManager } from './memory/lock-manager.js';
export { MemoryStateStore } from './memory/state-store.js';
export { MemoryConfigStore } from './memory/config-store.js';
export { MemorySchedulerCache } from './memory/scheduler-cache.js';
export { MemoryPubSub, MemoryPubSubHub } from './memory/pubsub.js';
export { MemoryNodeRegistry, MemoryRegistryHub } from './memory/node-registry.js';
export type { MemoryNodeRegistryOptions } from './memory/node-registry.js';
export { MemorySnapshotRepository } from './memory/snapshot-repository.js';
export type { MemorySnapshotRepositoryOptions } from './memory/snapshot-repository.js';
export { LocalRemoteExecutor, toRemoteOutcome, validateExecuteRequest } from './remote/local-executor.js';

// Helpers for adapter packages
export {
  normalizeFilter,
  matchesFilter,
  compareNewestFirst,
  computeStatistics,
  pageOf,
  percentileCont,
  encodeCursor,
  decodeCursor,
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
} from './snapshots/filter.js';
export type { NormalizedFilter } from './snapshots/filter.js';

export { VERSION } from './version.js';
export { fnv1a } from './engine/hash.js';
