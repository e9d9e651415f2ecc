import { InvalidArgumentError } from '../errors.js';
import { executionStatuses, type ExecutionSnapshot, type ExecutionStatus } from '../model.js';
import type { SnapshotFilter, SnapshotPage, SnapshotStatistics } from '../ports/snapshot-repository.js';

/** A validated `SnapshotFilter` with times as epoch ms. Shared by every adapter. */
export interface NormalizedFilter {
  jobName: string | undefined;
  statuses: ExecutionStatus[] | undefined;
  nodeId: string | undefined;
  startTime: number | undefined;
  endTime: number | undefined;
  limit: number;
  /** Position after which the page starts (newest-first order). */
  after: { startedAt: number; executionId: string } | undefined;
}

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1_000;

function toMs(api: string, field: string, value: Date | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : value;
  if (typeof ms !== 'number' || !Number.isFinite(ms))
    throw new InvalidArgumentError(api, `${field} must be a Date or epoch ms, got ${String(value)}`);
  return ms;
}

/** Validates a filter; throws `InvalidArgumentError` for start after end, an unknown status, a bad limit or cursor. */
export function normalizeFilter(filter: SnapshotFilter = {}, api = 'snapshots.list'): NormalizedFilter {
  const startTime = toMs(api, 'startTime', filter.startTime);
  const endTime = toMs(api, 'endTime', filter.endTime);
  if (startTime !== undefined && endTime !== undefined && startTime > endTime) {
    throw new InvalidArgumentError(
      api,
      `startTime (${new Date(startTime).toISOString()}) is after endTime (${new Date(endTime).toISOString()})`,
    );
  }
  let statuses: ExecutionStatus[] | undefined;
  if (filter.status !== undefined) {
    const given: unknown = filter.status;
    statuses = (Array.isArray(given) ? [...(given as unknown[])] : [given]) as ExecutionStatus[];
    for (const s of statuses) {
      if (!executionStatuses.includes(s)) {
        throw new InvalidArgumentError(api, `unknown status "${String(s)}" (expected one of ${executionStatuses.join(', ')})`);
      }
    }
  }
  const limit = filter.limit ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new InvalidArgumentError(api, `limit must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${String(filter.limit)}`);
  }
  return {
    jobName: filter.jobName,
    statuses,
    nodeId: filter.nodeId,
    startTime,
    endTime,
    limit,
    after: filter.cursor === undefined ? undefined : decodeCursor(filter.cursor, api),
  };
}

export function encodeCursor(snapshot: Pick<ExecutionSnapshot, 'startedAt' | 'executionId'>): string {
  return Buffer.from(JSON.stringify([snapshot.startedAt, snapshot.executionId])).toString('base64url');
}

export function decodeCursor(cursor: string, api = 'snapshots.list'): { startedAt: number; executionId: string } {
  try {
    const [startedAt, executionId] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof startedAt === 'number' && typeof executionId === 'string') return { startedAt, executionId };
  } catch {
    // fall through to the typed error
  }
  throw new InvalidArgumentError(api, `cursor "${cursor}" is not one this repository returned`);
}

/** Newest first: by `startedAt` descending, then `executionId` descending. */
export function compareNewestFirst(a: ExecutionSnapshot, b: ExecutionSnapshot): number {
  if (a.startedAt !== b.startedAt) return b.startedAt - a.startedAt;
  return a.executionId < b.executionId ? 1 : a.executionId > b.executionId ? -1 : 0;
}

/**
 * A page from the first `limit + 1` matches in newest-first order: the first
 * `limit`, and a cursor after the last of them when there was one more.
 */
export function pageOf(matches: readonly ExecutionSnapshot[], limit: number): SnapshotPage {
  const items = matches.slice(0, limit);
  const page: SnapshotPage = { items };
  const last = items[items.length - 1];
  if (matches.length > limit && last) page.nextCursor = encodeCursor(last);
  return page;
}

/** True when `s` passes the filter (the cursor included). */
export function matchesFilter(s: ExecutionSnapshot, f: NormalizedFilter): boolean {
  if (f.jobName !== undefined && s.jobName !== f.jobName) return false;
  if (f.nodeId !== undefined && s.nodeId !== f.nodeId) return false;
  if (f.statuses !== undefined && !f.statuses.includes(s.status)) return false;
  if (f.startTime !== undefined && s.startedAt < f.startTime) return false;
  if (f.endTime !== undefined && s.startedAt >= f.endTime) return false;
  if (f.after !== undefined) {
    if (s.startedAt > f.after.startedAt) return false;
    if (s.startedAt === f.after.startedAt && s.executionId >= f.after.executionId) return false;
  }
  return true;
}

/** Continuous percentile (PostgreSQL's `percentile_cont`) of ascending values. */
export function percentileCont(sortedAsc: readonly number[], p: number): number {
  if (sortedAsc.length === 0) return 0;
  const pos = (sortedAsc.length - 1) * p;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sortedAsc[lo] as number;
  const b = sortedAsc[hi] as number;
  return a + (b - a) * (pos - lo);
}

const FINISHED_RUNS = new Set<ExecutionStatus>(['completed', 'failed', 'timeout', 'cancelled', 'abandoned']);

/**
 * Statistics over snapshots (already limited to one job and window): counts
 * by SPEC.md's rules, durations over finished runs, `lastRunAt` the latest
 * start of a run (skips and misfires are not runs).
 */
export function computeStatistics(snapshots: Iterable<ExecutionSnapshot>): SnapshotStatistics {
  let totalCount = 0;
  let successCount = 0;
  let failureCount = 0;
  let skippedCount = 0;
  let timeoutCount = 0;
  let lastRunAt = -Infinity;
  const durations: number[] = [];
  for (const s of snapshots) {
    totalCount += 1;
    if (s.status === 'completed') successCount += 1;
    else if (s.status === 'failed' || s.status === 'abandoned') failureCount += 1;
    else if (s.status === 'timeout') {
      failureCount += 1;
      timeoutCount += 1;
    } else if (s.status === 'skipped') skippedCount += 1;
    if (s.status !== 'skipped' && s.status !== 'misfired' && s.startedAt > lastRunAt) lastRunAt = s.startedAt;
    if (FINISHED_RUNS.has(s.status) && s.durationMs !== undefined) durations.push(s.durationMs);
  }
  durations.sort((a, b) => a - b);
  const sum = durations.reduce((acc, d) => acc + d, 0);
  return {
    totalCount,
    successCount,
    failureCount,
    skippedCount,
    timeoutCount,
    avgDurationMs: durations.length === 0 ? 0 : sum / durations.length,
    p50DurationMs: percentileCont(durations, 0.5),
    p95DurationMs: percentileCont(durations, 0.95),
    lastRunAt: lastRunAt === -Infinity ? undefined : new Date(lastRunAt),
  };
}
