import { InvalidArgumentError } from '@sched/core';

/** How much history an adapter keeps (SPEC.md: 7 days and 1,000 per job for stored adapters). */
export interface RetentionOptions {
  /** Snapshots that started longer ago than this are gone. @default 604800000 (7 days) */
  maxAgeMs?: number;
  /** Snapshots kept per job, the newest. @default 1000 */
  maxPerJob?: number;
}

export const DEFAULT_RETENTION = { maxAgeMs: 7 * 24 * 3_600_000, maxPerJob: 1_000 } as const;

/** The retention with its defaults, or an `InvalidArgumentError` naming the bad option. */
export function checkRetention(
  api: string,
  options: RetentionOptions,
  defaults: { maxAgeMs: number; maxPerJob: number },
): { maxAgeMs: number; maxPerJob: number } {
  const maxAgeMs = options.maxAgeMs ?? defaults.maxAgeMs;
  const maxPerJob = options.maxPerJob ?? defaults.maxPerJob;
  if (!Number.isInteger(maxAgeMs) || maxAgeMs < 1)
    throw new InvalidArgumentError(api, `maxAgeMs must be a positive integer, got ${String(options.maxAgeMs)}`);
  if (!Number.isInteger(maxPerJob) || maxPerJob < 1)
    throw new InvalidArgumentError(api, `maxPerJob must be a positive integer, got ${String(options.maxPerJob)}`);
  return { maxAgeMs, maxPerJob };
}
