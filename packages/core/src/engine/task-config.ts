import type { ConfigIssue } from '../errors.js';
import { InvalidConfigError, MissingPackageError } from '../errors.js';
import { compileCron, type CronSpec } from '../cron/spec.js';
import { taskCfgSchema, type TaskCfg } from '../config/schema.js';
import { parseOrThrow } from '../config/validate.js';
import type { MisfirePolicy } from '../model.js';
import { Defaults } from './defaults.js';

/** A job's configuration with every default filled in: what the engine runs by. */
export interface EffectiveCfg {
  cronSpec: string | undefined;
  timezone: string;
  priority: number;
  overlapPrevent: boolean;
  timeoutMs: number | undefined;
  dependencies: readonly string[];
  shardingEnabled: boolean;
  shardingTotal: number | undefined;
  shardingItemConcurrency: number;
  misfirePolicy: MisfirePolicy;
  retry: RetryPolicy | undefined;
  circuitBreaker: { maxFailures: number; resetTimeoutMs: number } | undefined;
  recoverAbandoned: boolean;
  enabled: boolean;
  paused: boolean;
}

export interface RetryPolicy {
  attempts: number;
  backoffMs: number;
  factor: number;
  maxBackoffMs: number;
}

/** What the attached packages let a scheduler serve. */
export interface Capabilities {
  dependencies: boolean;
  sharding: boolean;
}

const NO_DEPENDENCIES: readonly string[] = Object.freeze([]);

/**
 * Validates one job's `TaskCfg` (shape with zod, then the cron spec, then
 * what needs an attached package). Throws `InvalidConfigError`,
 * `InvalidCronError` or `MissingPackageError`; returns the parsed cfg.
 */
export function validateTaskCfg(api: string, jobName: string, cfg: unknown, caps: Capabilities, path = ''): TaskCfg {
  const parsed = parseOrThrow(taskCfgSchema, cfg, api, path);
  const issues: ConfigIssue[] = [];
  const at = (field: string): string => (path ? `${path}.${field}` : field);
  if (parsed.dependencies) {
    if (parsed.dependencies.includes(jobName))
      issues.push({ path: at('dependencies'), message: `job "${jobName}" depends on itself` });
    if (new Set(parsed.dependencies).size !== parsed.dependencies.length) {
      issues.push({ path: at('dependencies'), message: 'lists a job more than once' });
    }
  }
  if (parsed.shardingEnabled === true && parsed.shardingTotal === undefined) {
    issues.push({ path: at('shardingTotal'), message: 'is required when shardingEnabled is true' });
  }
  if (parsed.shardingTotal !== undefined && parsed.shardingEnabled !== true) {
    issues.push({ path: at('shardingTotal'), message: 'has no effect without shardingEnabled: true' });
  }
  if (issues.length > 0) throw new InvalidConfigError(api, issues);
  if (parsed.dependencies && parsed.dependencies.length > 0 && !caps.dependencies) {
    throw new MissingPackageError(api, `job "${jobName}" has dependencies, which`, '@sched/dag', 'dependencyCoordinator');
  }
  if (parsed.shardingEnabled === true && !caps.sharding) {
    throw new MissingPackageError(api, `job "${jobName}" has shardingEnabled, which`, '@sched/sharding', 'shardPlanner');
  }
  return parsed;
}

/** Compiles the cron spec of an effective cfg (throws `InvalidCronError`). */
export function compileFor(api: string, cfg: EffectiveCfg): CronSpec | undefined {
  if (cfg.cronSpec === undefined) return undefined;
  return compileCron(cfg.cronSpec, cfg.timezone, api);
}

/** Merges code cfg and document cfg (the document wins field by field) over the defaults. */
export function effectiveCfg(code: TaskCfg | undefined, doc: TaskCfg | undefined, defaultTimezone: string): EffectiveCfg {
  const c = doc === undefined ? (code ?? {}) : code === undefined ? doc : { ...code, ...doc };
  const retry = c.retry;
  return {
    cronSpec: c.cronSpec,
    timezone: c.timezone ?? defaultTimezone,
    priority: c.priority ?? Defaults.priority,
    overlapPrevent: c.overlapPrevent ?? false,
    timeoutMs: c.timeoutMs,
    dependencies: c.dependencies ?? NO_DEPENDENCIES,
    shardingEnabled: c.shardingEnabled ?? false,
    shardingTotal: c.shardingTotal,
    shardingItemConcurrency: c.shardingItemConcurrency ?? 1,
    misfirePolicy: c.misfirePolicy ?? Defaults.misfirePolicy,
    retry:
      retry === undefined
        ? undefined
        : {
            attempts: retry.attempts,
            backoffMs: retry.backoffMs ?? Defaults.retryBackoffMs,
            factor: retry.factor ?? Defaults.retryFactor,
            maxBackoffMs: retry.maxBackoffMs ?? Defaults.retryMaxBackoffMs,
          },
    circuitBreaker: c.circuitBreaker,
    recoverAbandoned: c.recoverAbandoned ?? false,
    enabled: c.enabled ?? true,
    paused: c.paused ?? false,
  };
}

/** Delay before attempt `attempt + 1` after attempt `attempt` failed. */
export function retryDelayMs(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.maxBackoffMs, Math.round(policy.backoffMs * policy.factor ** (attempt - 1)));
}
