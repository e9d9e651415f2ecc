import { z } from 'zod';

/**
 * The one validator for task configuration and the configuration document
 * (SPEC.md). Every package validates through these schemas, so a field means
 * the same everywhere. Unknown fields are rejected.
 */

/** Job names travel in fire ids (`name@instant`), store keys and URLs. */
export const JOB_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,199}$/;
export const jobNameSchema = z
  .string()
  .regex(JOB_NAME_PATTERN, 'a job name is 1-200 characters of letters, digits and _ . : / -, starting with a letter or digit');

const MAX_TIMER_MS = 2_147_483_647;

export function isValidTimezone(tz: string): boolean {
  if (tz === 'UTC') return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const timezoneSchema = z.string().refine(isValidTimezone, { message: 'unknown IANA timezone' });

export const retrySchema = z.strictObject({
  /** Total attempts including the first (BullMQ's meaning); 1 means no retry. */
  attempts: z.number().int().min(1).max(1000),
  /** Delay before the first retry. @default 1000 */
  backoffMs: z.number().int().min(0).max(MAX_TIMER_MS).optional(),
  /** Each further retry waits `factor` times longer. @default 2 */
  factor: z.number().min(1).max(100).optional(),
  /** Upper bound on one delay. @default 3_600_000 */
  maxBackoffMs: z.number().int().min(0).max(MAX_TIMER_MS).optional(),
});

export const circuitBreakerSchema = z.strictObject({
  /** Consecutive failed fires that open the breaker. */
  maxFailures: z.number().int().min(1).max(1_000_000),
  /** How long the breaker stays open before one trial fire decides. */
  resetTimeoutMs: z.number().int().min(1).max(MAX_TIMER_MS),
});

export const misfirePolicySchema = z.enum(['immediate', 'delayed', 'skip']);

/** `TaskCfg`: how and when one job runs. Defaults in SPEC.md's table. */
export const taskCfgSchema = z.strictObject({
  /** 6 fields (seconds first), 5 fields, or `@hourly`-style. Without it the job fires only when triggered or released. */
  cronSpec: z.string().min(1).max(256).optional(),
  /** IANA zone for the spec. @default the document's timezone, else 'UTC' */
  timezone: timezoneSchema.optional(),
  /** Higher runs first when more is due than may run. @default 50 */
  priority: z.number().int().min(-1_000_000).max(1_000_000).optional(),
  /** Skip a fire while the previous run of this job is still going. @default false */
  overlapPrevent: z.boolean().optional(),
  /** Abort `ctx.signal` and record `timeout` after this long. @default none */
  timeoutMs: z.number().int().min(1).max(MAX_TIMER_MS).optional(),
  /** Jobs that must complete for the same instant first (needs @sched/dag). */
  dependencies: z.array(jobNameSchema).max(10_000).optional(),
  /** Split each fire into shards over the live nodes (needs @sched/sharding). @default false */
  shardingEnabled: z.boolean().optional(),
  /** Shards per fire when `shardingEnabled`. */
  shardingTotal: z.number().int().min(1).max(10_000).optional(),
  /** Items of one shard processed at once (a `ShardingJob`). @default 1 */
  shardingItemConcurrency: z.number().int().min(1).max(10_000).optional(),
  /** What to do with instants missed while no node could run them. @default 'immediate' */
  misfirePolicy: misfirePolicySchema.optional(),
  retry: retrySchema.optional(),
  circuitBreaker: circuitBreakerSchema.optional(),
  /** Re-run a started execution whose node died (at-least-once). @default false */
  recoverAbandoned: z.boolean().optional(),
  /** A disabled job keeps its registration but does not fire on its schedule. @default true */
  enabled: z.boolean().optional(),
  /** Its instants are skipped and never made up (what `pause()` sets; in a cluster it holds on every node). @default false */
  paused: z.boolean().optional(),
});
export type TaskCfg = z.infer<typeof taskCfgSchema>;

/** The configuration document (YAML or JSON) of SPEC.md. */
export const configDocumentSchema = z.strictObject({
  /** Default zone for jobs that name none. @default 'UTC' */
  timezone: timezoneSchema.optional(),
  jobs: z.record(jobNameSchema, taskCfgSchema).default({}),
});
export type ConfigDocument = z.infer<typeof configDocumentSchema>;
export type ConfigDocumentInput = z.input<typeof configDocumentSchema>;
