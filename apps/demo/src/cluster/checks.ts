import { BURST } from './jobs.js';

/** One line a node printed (`@ev`), with when the orchestrator saw it. */
export interface DemoEvent {
  node: string;
  ev: 'ready' | 'fire' | 'start' | 'end' | 'skip' | 'misfire' | 'abandon' | 'config' | 'log';
  seen: number;
  job?: string;
  fireId?: string;
  kind?: string;
  attempt?: number;
  scheduledAt?: number;
  at?: number;
  priority?: number;
  status?: string;
  durationMs?: number;
  items?: string;
  error?: string;
  reason?: string;
  count?: number;
  policy?: string;
  version?: number;
  by?: string;
  level?: string;
  msg?: string;
}

export interface DemoChecks {
  /** Every second of the window: the heartbeat ran once in the cluster. */
  heartbeat: { expected: number; ran: number; duplicated: number[]; missed: number[] };
  /** Fires (any job, first attempt) that started more than once. */
  duplicates: string[];
  /** A → (B ‖ D) → C for every instant of A: each dependent after all of its dependencies ended. */
  dag: { runs: number; violations: string[] };
  /** Sharded fires that ended, their shards per node, and whether every item was done. */
  sharding: { fires: number; complete: number; shardsByNode: Record<string, number> };
  /**
   * Burst fires that were waiting on a node (accepted there) when a
   * lower-priority fire of the same instant started on it ahead of them.
   */
  priority: { instants: number; inversions: string[] };
  /** `report` (overlapPrevent): skips, and runs that overlapped in time anywhere (must be 0). */
  overlap: { skips: number; overlapping: number };
  remote: Array<{ strategy: string; ran: string[]; error?: string }>;
  /** Nodes that applied the reloaded config; `report` fires after it on the 4-second spec only. */
  config: { appliedBy: string[]; reportOffSpecAfter: number };
  /** The node killed -9: its runs after the kill (0), when it left, what the others ran after. */
  takeover: {
    victim: string;
    leftAfterMs: number | undefined;
    victimStartsAfterKill: number;
    startsAfterKill: Record<string, number>;
  };
}

export interface AnalyseOptions {
  from: number;
  to: number;
  killedAt: number | undefined;
  reloadedAt: number | undefined;
  victim: string;
  remote: DemoChecks['remote'];
  leftAfterMs: number | undefined;
}

const DEPENDENCIES: Record<string, string[]> = { B: ['A'], D: ['A'], C: ['B', 'D'] };

/** Checks over everything the nodes reported: the summary's last table, and what the demo's test asserts. */
export function analyse(events: readonly DemoEvent[], o: AnalyseOptions): DemoChecks {
  const starts = events.filter((e) => e.ev === 'start');
  const ends = events.filter((e) => e.ev === 'end');

  const firstAttempts = new Map<string, number>();
  for (const s of starts) if (s.attempt === 1 && s.fireId) firstAttempts.set(s.fireId, (firstAttempts.get(s.fireId) ?? 0) + 1);
  const duplicates = [...firstAttempts].filter(([, n]) => n > 1).map(([id]) => id);

  const beats = new Map<number, number>();
  for (const s of starts) {
    if (s.job === 'heartbeat' && s.kind === 'cron' && s.attempt === 1)
      beats.set(s.scheduledAt as number, (beats.get(s.scheduledAt as number) ?? 0) + 1);
  }
  const expected: number[] = [];
  for (let t = Math.ceil(o.from / 1_000) * 1_000; t <= o.to; t += 1_000) expected.push(t);
  const heartbeat = {
    expected: expected.length,
    ran: expected.filter((t) => beats.has(t)).length,
    duplicated: expected.filter((t) => (beats.get(t) ?? 0) > 1),
    missed: expected.filter((t) => !beats.has(t)),
  };

  // DAG: by the root's instant, each dependent started after every dependency ended (completed).
  const dagViolations: string[] = [];
  const roots = ends.filter((e) => e.job === 'A' && e.status === 'completed' && e.scheduledAt !== undefined);
  for (const root of roots) {
    const endOf = (job: string) =>
      ends.find((e) => e.job === job && e.scheduledAt === root.scheduledAt && e.status === 'completed');
    for (const [job, deps] of Object.entries(DEPENDENCIES)) {
      const start = starts.find((s) => s.job === job && s.scheduledAt === root.scheduledAt);
      if (!start) continue; // cut by the stop or by the kill: not an order violation
      for (const dep of deps) {
        const done = endOf(dep);
        if (!done || start.seen < done.seen - 5)
          dagViolations.push(`${job} before ${dep} for ${new Date(root.scheduledAt as number).toISOString()}`);
      }
    }
  }

  const shardEnds = ends.filter((e) => e.job === 'sync-invoices');
  const shardsByNode: Record<string, number> = {};
  for (const e of shardEnds) if (e.fireId?.includes('#')) shardsByNode[e.node] = (shardsByNode[e.node] ?? 0) + 1;
  const parents = shardEnds.filter((e) => !e.fireId?.includes('#'));

  // Priority: on one node, for one burst instant, a fire that waited must not have waited behind a lower priority.
  const burstNames = new Set<string>(BURST.map(([name]) => name));
  const inversions: string[] = [];
  const groups = new Map<string, DemoEvent[]>();
  for (const s of starts) {
    if (!burstNames.has(s.job ?? '') || s.kind !== 'cron') continue;
    const key = `${s.node}@${s.scheduledAt}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  const acceptedAt = new Map<string, number>();
  for (const e of events) if (e.ev === 'fire' && e.fireId) acceptedAt.set(`${e.node}|${e.fireId}`, e.at as number);
  for (const [key, group] of groups) {
    for (const high of group) {
      const highStart = high.at ?? 0;
      const waitingSince = acceptedAt.get(`${high.node}|${high.fireId}`) ?? highStart;
      for (const low of group) {
        const lowStart = low.at as number;
        if ((low.priority as number) < (high.priority as number) && waitingSince < lowStart - 20 && lowStart < highStart - 20) {
          inversions.push(
            `${key}: ${low.job} (${low.priority}) started ${highStart - lowStart} ms before ${high.job} (${high.priority}), which was waiting`,
          );
        }
      }
    }
  }

  const reportRuns = ends
    .filter((e) => e.job === 'report' && e.status !== 'skipped')
    .map((e) => ({ end: e.seen, start: e.seen - (e.durationMs ?? 0) }))
    .sort((a, b) => a.start - b.start);
  let overlapping = 0;
  for (let i = 1; i < reportRuns.length; i++)
    if ((reportRuns[i]?.start as number) < (reportRuns[i - 1]?.end as number) - 20) overlapping++;

  const appliedBy = [...new Set(events.filter((e) => e.ev === 'config').map((e) => e.node))].sort();
  const reportOffSpecAfter =
    o.reloadedAt === undefined
      ? 0
      : starts.filter(
          (s) =>
            s.job === 'report' &&
            (s.scheduledAt as number) > (o.reloadedAt as number) + 1_000 &&
            (s.scheduledAt as number) % 4_000 !== 0,
        ).length;

  const startsAfterKill: Record<string, number> = {};
  if (o.killedAt !== undefined)
    for (const s of starts) if ((s.at as number) > o.killedAt) startsAfterKill[s.node] = (startsAfterKill[s.node] ?? 0) + 1;

  return {
    heartbeat,
    duplicates,
    dag: { runs: roots.length, violations: dagViolations },
    sharding: {
      fires: parents.length,
      complete: parents.filter((p) => p.status === 'completed' && p.items === '60/60').length,
      shardsByNode,
    },
    priority: { instants: groups.size, inversions },
    overlap: { skips: events.filter((e) => e.ev === 'skip' && e.job === 'report').length, overlapping },
    remote: o.remote,
    config: { appliedBy, reportOffSpecAfter },
    takeover: {
      victim: o.victim,
      leftAfterMs: o.leftAfterMs,
      victimStartsAfterKill: startsAfterKill[o.victim] ?? 0,
      startsAfterKill,
    },
  };
}
