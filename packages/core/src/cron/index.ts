import { compileCron } from './spec.js';
import { describeInstant, type FireTime } from './preview.js';

export { CronSpec, compileCron, normalizeCronSpec } from './spec.js';
export type { FireTime } from './preview.js';

/**
 * Validates a cron spec and returns its parsed, cached form. Throws
 * `InvalidCronError` when the spec or the timezone is invalid.
 */
export function parseCron(spec: string, timezone = 'UTC') {
  return compileCron(spec, timezone, 'parseCron');
}

/**
 * The next `count` fires of `spec` after `after` (default now), each with its
 * wall time and any DST shift. Pure; used by `Scheduler.nextFireTimes` and the CLI.
 */
export function previewCron(
  spec: string,
  options: { count?: number; after?: Date | number; timezone?: string } = {},
): FireTime[] {
  const compiled = compileCron(spec, options.timezone ?? 'UTC', 'previewCron');
  const after = options.after === undefined ? Date.now() : +options.after;
  return compiled.take(after, options.count ?? 5).map((t) => describeInstant(compiled, t));
}
