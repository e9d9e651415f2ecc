/**
 * Every error sched throws is a `SchedError` with a stable `code`. Check with
 * `isSchedError(e, code?)`, which reads `code` rather than `instanceof`, so it
 * works across duplicate copies of the package. Messages read
 * `sched: <api>: <what was wrong>`; the underlying error, if any, is `cause`.
 */

export const ErrorCode = {
  InvalidCron: 'SCHED_INVALID_CRON',
  InvalidConfig: 'SCHED_INVALID_CONFIG',
  InvalidArgument: 'SCHED_INVALID_ARGUMENT',
  DuplicateJob: 'SCHED_DUPLICATE_JOB',
  UnknownJob: 'SCHED_UNKNOWN_JOB',
  MissingPackage: 'SCHED_MISSING_PACKAGE',
  InvalidState: 'SCHED_INVALID_STATE',
  JobTimeout: 'SCHED_JOB_TIMEOUT',
  JobCancelled: 'SCHED_JOB_CANCELLED',
  JobAborted: 'SCHED_JOB_ABORTED',
  JobFailed: 'SCHED_JOB_FAILED',
  LeaseLost: 'SCHED_LEASE_LOST',
  ConfigConflict: 'SCHED_CONFIG_CONFLICT',
  StoreUnavailable: 'SCHED_STORE_UNAVAILABLE',
  RouteFailed: 'SCHED_ROUTE_FAILED',
  ExecuteTimeout: 'SCHED_EXECUTE_TIMEOUT',
  DependencyGraph: 'SCHED_DEPENDENCY_GRAPH',
  ShardsFailed: 'SCHED_SHARDS_FAILED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface SchedErrorOptions {
  cause?: unknown;
}

export class SchedError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options: SchedErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SchedError';
    this.code = code;
  }
}

/** A cron spec that cannot be parsed, or a timezone that does not exist. */
export class InvalidCronError extends SchedError {
  readonly cronSpec: string;
  constructor(api: string, cronSpec: string, reason: string, options: SchedErrorOptions = {}) {
    super(ErrorCode.InvalidCron, `sched: ${api}: invalid cron spec "${cronSpec}": ${reason}`, options);
    this.name = 'InvalidCronError';
    this.cronSpec = cronSpec;
  }
}

export interface ConfigIssue {
  /** Dotted path of the offending field, e.g. `jobs.report.priority`. */
  path: string;
  message: string;
}

/** A `TaskCfg`, scheduler option or configuration document that fails validation. */
export class InvalidConfigError extends SchedError {
  readonly issues: readonly ConfigIssue[];
  constructor(api: string, issues: readonly ConfigIssue[], options: SchedErrorOptions = {}) {
    const summary = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
    super(ErrorCode.InvalidConfig, `sched: ${api}: ${summary}`, options);
    this.name = 'InvalidConfigError';
    this.issues = issues;
  }
}

/** An argument of the wrong type or out of range (not a config document). */
export class InvalidArgumentError extends SchedError {
  constructor(api: string, what: string, options: SchedErrorOptions = {}) {
    super(ErrorCode.InvalidArgument, `sched: ${api}: ${what}`, options);
    this.name = 'InvalidArgumentError';
  }
}

export class DuplicateJobError extends SchedError {
  readonly jobName: string;
  constructor(api: string, jobName: string) {
    super(ErrorCode.DuplicateJob, `sched: ${api}: job "${jobName}" is already registered`);
    this.name = 'DuplicateJobError';
    this.jobName = jobName;
  }
}

export class UnknownJobError extends SchedError {
  readonly jobName: string;
  constructor(api: string, jobName: string, detail = 'is not registered on this node') {
    super(ErrorCode.UnknownJob, `sched: ${api}: job "${jobName}" ${detail}`);
    this.name = 'UnknownJobError';
    this.jobName = jobName;
  }
}

/** A feature was asked for whose package is not attached (e.g. `dependencies` without `@sched/dag`). */
export class MissingPackageError extends SchedError {
  readonly packageName: string;
  constructor(api: string, feature: string, packageName: string, option: string) {
    super(
      ErrorCode.MissingPackage,
      `sched: ${api}: ${feature} needs ${packageName}: install it and pass it as the \`${option}\` option`,
    );
    this.name = 'MissingPackageError';
    this.packageName = packageName;
  }
}

/**
 * The job dependencies do not form a graph sched can run: a cycle (`cycle`
 * names its jobs in order), a dependency on a job nobody registered
 * (`missing`), or schedules the DAG rule cannot serve. The change is refused
 * and the running graph stays as it was.
 */
export class DependencyGraphError extends SchedError {
  readonly cycle: readonly string[] | undefined;
  readonly missing: { jobName: string; dependency: string } | undefined;
  constructor(
    api: string,
    what: string,
    details: { cycle?: readonly string[]; missing?: { jobName: string; dependency: string } } = {},
  ) {
    super(ErrorCode.DependencyGraph, `sched: ${api}: ${what}`);
    this.name = 'DependencyGraphError';
    this.cycle = details.cycle;
    this.missing = details.missing;
  }
}

/** The scheduler is not in a state that allows the call (e.g. `trigger` before `start`). */
export class SchedulerStateError extends SchedError {
  constructor(api: string, what: string) {
    super(ErrorCode.InvalidState, `sched: ${api}: ${what}`);
    this.name = 'SchedulerStateError';
  }
}

/** Thrown into a run whose `timeoutMs` passed; the execution's status is `timeout`. */
export class JobTimeoutError extends SchedError {
  readonly timeoutMs: number;
  constructor(jobName: string, timeoutMs: number) {
    super(ErrorCode.JobTimeout, `sched: execute: job "${jobName}" timed out after ${timeoutMs} ms`);
    this.name = 'JobTimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

/** The reason of `ctx.signal` when `cancel(executionId)` aborts a run; status `cancelled`. */
export class JobCancelledError extends SchedError {
  constructor(jobName: string, executionId: string) {
    super(ErrorCode.JobCancelled, `sched: cancel: execution ${executionId} of job "${jobName}" was cancelled`);
    this.name = 'JobCancelledError';
  }
}

/** The reason of `ctx.signal` when `stop()` reaches its deadline; status `cancelled`. */
export class JobAbortedError extends SchedError {
  constructor(jobName: string, why: string) {
    super(ErrorCode.JobAborted, `sched: stop: job "${jobName}" was aborted: ${why}`);
    this.name = 'JobAbortedError';
  }
}

/** Wraps a non-Error value a job threw, so every failure carries a stack and a message. */
export class JobFailedError extends SchedError {
  constructor(jobName: string, thrown: unknown) {
    super(ErrorCode.JobFailed, `sched: execute: job "${jobName}" threw ${describeThrown(thrown)}`, { cause: thrown });
    this.name = 'JobFailedError';
  }
}

/** A sharded fire some of whose shards did not complete; `shards` has every shard's result. */
export class ShardsFailedError extends SchedError {
  constructor(
    readonly jobName: string,
    readonly fireId: string,
    readonly shards: ReadonlyArray<{ shardIndex: number; status: string }>,
  ) {
    const bad = shards.filter((s) => s.status !== 'completed');
    const byStatus = new Map<string, number>();
    for (const s of bad) byStatus.set(s.status, (byStatus.get(s.status) ?? 0) + 1);
    const detail = [...byStatus].map(([status, n]) => `${n} ${status}`).join(', ');
    super(
      ErrorCode.ShardsFailed,
      `sched: execute: job "${jobName}": ${bad.length} of ${shards.length} shards of fire ${fireId} did not complete (${detail})`,
    );
    this.name = 'ShardsFailedError';
  }
}

/** The reason of `ctx.signal` when this node lost the fire's lease mid-run (fenced); status `abandoned`. */
export class LeaseLostError extends SchedError {
  constructor(jobName: string, fireId: string) {
    super(ErrorCode.LeaseLost, `sched: lease: job "${jobName}" lost the lease of fire ${fireId}; another node may run it`);
    this.name = 'LeaseLostError';
  }
}

/** A compare-and-set on the shared configuration lost to a concurrent change. */
export class ConfigConflictError extends SchedError {
  readonly expectedVersion: number;
  readonly actualVersion: number;
  constructor(api: string, expectedVersion: number, actualVersion: number) {
    super(
      ErrorCode.ConfigConflict,
      `sched: ${api}: configuration changed concurrently (expected version ${expectedVersion}, found ${actualVersion})`,
    );
    this.name = 'ConfigConflictError';
    this.expectedVersion = expectedVersion;
    this.actualVersion = actualVersion;
  }
}

/** A store (Redis, PostgreSQL…) could not be reached; the operation may be retried. */
export class StoreUnavailableError extends SchedError {
  constructor(api: string, what: string, options: SchedErrorOptions = {}) {
    super(ErrorCode.StoreUnavailable, `sched: ${api}: ${what}`, options);
    this.name = 'StoreUnavailableError';
  }
}

/** `execute()` could not route a request to any node. */
export class RouteError extends SchedError {
  constructor(api: string, what: string, options: SchedErrorOptions = {}) {
    super(ErrorCode.RouteFailed, `sched: ${api}: ${what}`, options);
    this.name = 'RouteError';
  }
}

/** `execute()` waited `timeoutMs` and these nodes had not reported an outcome. */
export class ExecuteTimeoutError extends SchedError {
  readonly nodeIds: readonly string[];
  constructor(api: string, jobName: string, timeoutMs: number, nodeIds: readonly string[]) {
    super(
      ErrorCode.ExecuteTimeout,
      `sched: ${api}: job "${jobName}" did not finish within ${timeoutMs} ms on ${nodeIds.map((n) => `"${n}"`).join(', ')}`,
    );
    this.name = 'ExecuteTimeoutError';
    this.nodeIds = nodeIds;
  }
}

const codes = new Set<string>(Object.values(ErrorCode));

/** True for any sched error (optionally of one code), even from another copy of the package. */
export function isSchedError(value: unknown, code?: ErrorCode): value is SchedError {
  if (typeof value !== 'object' || value === null) return false;
  const c = (value as { code?: unknown }).code;
  if (typeof c !== 'string' || !codes.has(c)) return false;
  return code === undefined || c === code;
}

/** Turns anything thrown into an Error, keeping Errors as they are. */
export function toError(jobName: string, thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new JobFailedError(jobName, thrown);
}

function describeThrown(thrown: unknown): string {
  if (thrown === undefined) return 'undefined';
  if (thrown === null) return 'null';
  if (typeof thrown === 'string') return JSON.stringify(thrown.length > 200 ? `${thrown.slice(0, 200)}…` : thrown);
  try {
    const json = JSON.stringify(thrown);
    if (json !== undefined) return json.length > 200 ? `${json.slice(0, 200)}…` : json;
  } catch {
    // circular or exotic: fall through
  }
  return Object.prototype.toString.call(thrown);
}
