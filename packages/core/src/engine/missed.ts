import type { CronSpec } from '../cron/spec.js';

/**
 * The instants of `spec` strictly between `after` and `before`, newest
 * `limit` of them, ascending; `more` is true when older ones exist beyond
 * the limit (so `instants.length` is then a lower bound of the count).
 * Walking backwards keeps the cost bounded by `limit` however long the gap.
 */
export function instantsBetween(
  spec: CronSpec,
  after: number,
  before: number,
  limit: number,
): { instants: number[]; more: boolean } {
  const out: number[] = [];
  let t = spec.prev(before);
  while (t !== undefined && t > after) {
    if (out.length === limit) return { instants: out.reverse(), more: true };
    out.push(t);
    t = spec.prev(t);
  }
  return { instants: out.reverse(), more: false };
}
