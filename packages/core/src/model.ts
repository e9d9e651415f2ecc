/** Shared vocabulary: statuses, skip reasons, outcomes and snapshots (SPEC.md glossary). */

export const ExecutionStatus = {
  running: 'running',
  completed: 'completed',
  failed: 'failed',
  timeout: 'timeout',
  skipped: 'skipped',
  misfired: 'misfired',
  abandoned: 'abandoned',
  cancelled: 'cancelled',
} as const;
export type ExecutionStatus = (typeof ExecutionStatus)[keyof typeof ExecutionStatus];
export const executionStatuses = Object.values(ExecutionStatus) as readonly ExecutionStatus[];

/** A status a finished execution can end with. */
export type FinalStatus = Exclude<ExecutionStatus, 'running'>;

export const SkipReason = {
  overlap: 'overlap',
  paused: 'paused',
  circuitOpen: 'circuit-open',
  dependencyFailed: 'dependency-failed',
  notOwner: 'not-owner',
  stopping: 'stopping',
  saturated: 'saturated',
} as const;
export type SkipReason = (typeof SkipReason)[keyof typeof SkipReason];

export const MisfirePolicy = { immediate: 'immediate', delayed: 'delayed', skip: 'skip' } as const;
export type MisfirePolicy = (typeof MisfirePolicy)[keyof typeof MisfirePolicy];

export const ConfigLoadStrategy = {
  localFirst: 'local-first',
  remoteFirst: 'remote-first',
  localOnly: 'local-only',
  remoteOnly: 'remote-only',
} as const;
export type ConfigLoadStrategy = (typeof ConfigLoadStrategy)[keyof typeof ConfigLoadStrategy];

export const RouteStrategy = {
  first: 'first',
  last: 'last',
  random: 'random',
  roundRobin: 'round-robin',
  broadcast: 'broadcast',
  sharding: 'sharding',
  specific: 'specific',
  failover: 'failover',
} as const;
export type RouteStrategy = (typeof RouteStrategy)[keyof typeof RouteStrategy];

/** How a fire came to be. */
export type FireKind = 'cron' | 'manual' | 'remote' | 'catch-up';

/** What a finished execution reports; `trigger()` resolves with it. */
export interface ExecutionOutcome {
  jobName: string;
  fireId: string;
  executionId: string;
  nodeId: string;
  status: FinalStatus;
  attempt: number;
  scheduledAt: Date | undefined;
  startedAt: Date;
  finishedAt: Date;
  durationMs: number;
  error?: { message: string; name: string; code?: string };
  skipReason?: SkipReason;
  /** What started the fire (cron, manual, remote, catch-up); set by the scheduler. */
  kind?: FireKind;
  /** A shard of a sharded fire (`shardingEnabled`): which one. Its end is not the fire's. */
  shard?: { shardIndex: number; shardTotal: number };
  /** A run of a `ShardingJob` (one shard): how its items went. */
  items?: ShardItemCounts;
  /** A sharded fire (`shardingEnabled`): each shard's result, by index. */
  shards?: ShardResult[];
}

/** The items of one shard run (or, summed, of a sharded fire). */
export interface ShardItemCounts {
  /** Items `fetchShardingItems` returned. */
  itemsTotal: number;
  /** Items processed without an error (including those an earlier attempt of the shard finished). */
  itemsDone: number;
  /** Items whose `processShardingItem` threw. */
  itemsFailed: number;
}

/** One shard of a sharded fire, as its parent execution records it. */
export interface ShardResult {
  shardIndex: number;
  status: FinalStatus;
  /** The node that ran the shard's last attempt. */
  nodeId?: string;
  executionId?: string;
  attempt?: number;
  durationMs?: number;
  itemsTotal?: number;
  itemsDone?: number;
  itemsFailed?: number;
}

/**
 * One record per execution (and per skipped or misfired fire), written through
 * the `SnapshotRepository` port. Times are epoch ms on the wire and in stores.
 */
export interface ExecutionSnapshot {
  executionId: string;
  jobName: string;
  fireId: string;
  scheduledAt: number | undefined;
  startedAt: number;
  finishedAt: number | undefined;
  durationMs: number | undefined;
  status: ExecutionStatus;
  nodeId: string;
  attempt: number;
  kind: FireKind;
  shardIndex?: number;
  shardTotal?: number;
  errorMessage?: string;
  errorStack?: string;
  skipReason?: SkipReason;
  /** For `misfired` snapshots and compensating runs: the policy that decided. */
  misfirePolicy?: MisfirePolicy;
  /** For a compensating run: how many instants it stands for. */
  missedCount?: number;
  /** A shard run, or (summed) a sharded fire: its items. */
  itemsTotal?: number;
  itemsDone?: number;
  itemsFailed?: number;
  /** A sharded fire's parent execution: the result of each shard. */
  shards?: ShardResult[];
}
