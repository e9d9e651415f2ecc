import type { CronSpec } from '../cron/spec.js';
import type { MisfirePolicy } from '../model.js';
import type { CatchupList } from '../ports/state-store.js';
import { instantsBetween } from './missed.js';

/** What a start would do about one job's missed instants (`sched.previewMisfires`). */
export interface MisfirePreview {
  jobName: string;
  policy: MisfirePolicy;
  /** The job's high-water mark: the last instant claimed in the cluster. */
  lastClaimedAt: Date;
  /** Instants past `misfireThresholdMs` since the mark (a lower bound when `countIsLowerBound`). */
  missedCount: number;
  countIsLowerBound: boolean;
  /** The missed instants, oldest first (at most 1,000, the newest). */
  missed: Date[];
  /** The runs the policy makes of them: one `'immediate'` run now, or each `'delayed'` replay. */
  runs: Array<{ scheduledAt: Date; kind: 'immediate' | 'catch-up' }>;
  /** Missed instants recorded `misfired` with no run of their own. */
  recordedCount: number;
  /** Instants since the mark still within the threshold: they run late as ordinary fires, not misfires. */
  lateCount: number;
  /** Instants of a stored catch-up list (a winner stopped halfway) that a start resumes. */
  resumedCatchup: Date[];
}

export interface PreviewInput {
  jobName: string;
  spec: CronSpec;
  policy: MisfirePolicy;
  mark: number | undefined;
  stored: CatchupList | undefined;
  now: number;
  thresholdMs: number;
  maxCatchup: number;
  recordLimit: number;
}

/**
 * The same rule the scheduler applies at start (DESIGN.md "Misfires, one
 * rule"): from the mark, instants still within the threshold are claimed and
 * run late; older ones are the gap the first claim reports, and if nothing is
 * within the threshold the latest instant is claimed late and counts as missed
 * too. The policy then decides. Undefined when nothing was missed.
 */
export function previewMisfire(p: PreviewInput): MisfirePreview | undefined {
  const resumed = (p.stored?.instants ?? []).map((t) => new Date(t));
  if (p.mark === undefined) return resumed.length > 0 ? empty(p, resumed) : undefined;
  const latest = p.spec.prev(p.now + 1);
  if (latest === undefined || latest <= p.mark) return resumed.length > 0 ? empty(p, resumed) : undefined;
  const cutoff = p.now - p.thresholdMs;
  const firstInTime = p.spec.next(cutoff - 1);
  const within = firstInTime !== undefined && firstInTime <= p.now && firstInTime > p.mark;
  // Missed: strictly after the mark and before the first instant within the threshold (or, if none
  // is, up to and including the latest, which is then claimed late).
  const gap = instantsBetween(p.spec, p.mark, within ? firstInTime : latest, p.recordLimit);
  const all = within ? gap.instants : [...gap.instants, latest];
  let lateCount = 0;
  if (within) for (let t: number | undefined = firstInTime; t !== undefined && t <= p.now; t = p.spec.next(t)) lateCount += 1;
  if (all.length === 0) return resumed.length > 0 ? { ...empty(p, resumed), lateCount } : undefined;
  let runs: MisfirePreview['runs'] = [];
  let recorded = all.length;
  if (p.policy === 'immediate') {
    // One run stands for all of them: the first instant within the threshold (run with
    // `missedCount`), or else the latest, claimed late; every other missed instant is recorded.
    runs = [{ scheduledAt: new Date(within ? firstInTime : latest), kind: 'immediate' }];
    recorded = within ? all.length : all.length - 1;
  } else if (p.policy === 'delayed') {
    const replay = p.maxCatchup === 0 ? [] : all.slice(-p.maxCatchup);
    runs = replay.map((t) => ({ scheduledAt: new Date(t), kind: 'catch-up' as const }));
    recorded = all.length - replay.length;
  }
  return {
    jobName: p.jobName,
    policy: p.policy,
    lastClaimedAt: new Date(p.mark),
    missedCount: all.length,
    countIsLowerBound: gap.more,
    missed: all.map((t) => new Date(t)),
    runs,
    recordedCount: recorded,
    lateCount,
    resumedCatchup: resumed,
  };
}

function empty(p: PreviewInput, resumed: Date[]): MisfirePreview {
  return {
    jobName: p.jobName,
    policy: p.policy,
    lastClaimedAt: new Date(p.mark ?? Number.NaN),
    missedCount: 0,
    countIsLowerBound: false,
    missed: [],
    runs: [],
    recordedCount: 0,
    lateCount: 0,
    resumedCatchup: resumed,
  };
}
