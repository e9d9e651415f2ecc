import type { ExecutionOutcome, JobMetrics, Scheduler, SchedulerMetrics } from '@sched/core';

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number): string => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

/** `HH:MM:SS.mmm` of an instant, in UTC. */
export function clockTime(t: number | Date): string {
  return new Date(t).toISOString().slice(11, 23);
}

const marks: Record<string, string> = {
  completed: 'ok  ',
  failed: 'FAIL',
  timeout: 'TIME',
  cancelled: 'CNCL',
  skipped: 'SKIP',
};

/** Prints one line per event worth seeing: starts, outcomes, retries, skips, misfires. */
export function attachPrinter(sched: Scheduler, print: (line: string) => void): void {
  const outcome = (o: ExecutionOutcome): void => {
    const late = o.scheduledAt ? `late ${lpad(String(o.startedAt.getTime() - o.scheduledAt.getTime()), 4)} ms` : 'manual      ';
    const why = o.error ? `  ${o.error.message}` : '';
    const shard = o.fireId.includes('#') ? ` shard ${o.fireId.split('#')[1] ?? ''}` : '';
    const items = o.items ? `  ${o.items.itemsDone}/${o.items.itemsTotal} items` : '';
    print(
      `${clockTime(o.finishedAt)}  ${marks[o.status] ?? o.status}  ${pad(o.jobName + shard, 10)} for ${o.scheduledAt ? clockTime(o.scheduledAt) : 'trigger     '}  ${late}  took ${lpad(String(o.durationMs), 4)} ms  attempt ${o.attempt}${items}${why}`,
    );
  };
  sched.on('complete', outcome);
  sched.on('fail', outcome);
  sched.on('timeout', outcome);
  sched.on('cancel', outcome);
  sched.on('retry', (e) =>
    print(`${' '.repeat(12)}  RTRY  ${pad(e.jobName, 10)} attempt ${e.attempt} failed; retrying in ${e.delayMs} ms`),
  );
  sched.on('skip', (e) =>
    print(
      `${' '.repeat(12)}  SKIP  ${pad(e.jobName, 10)} for ${e.scheduledAt ? clockTime(e.scheduledAt) : 'trigger'}  reason: ${e.reason}`,
    ),
  );
  sched.on('misfire', (e) =>
    print(`${' '.repeat(12)}  MISS  ${pad(e.jobName, 10)} ${e.missedCount} instant(s) missed; policy ${e.policy}`),
  );
}

/** The summary table: one row per job from the scheduler's own counters. */
export function summaryTable(metrics: SchedulerMetrics): string {
  const head = ['job', 'fires', 'runs', 'ok', 'failed', 'timeout', 'skipped', 'avg ms', 'p95 ms'];
  const row = (name: string, m: JobMetrics): string[] => [
    name,
    String(m.fireCount),
    String(m.executionCount),
    String(m.successCount),
    String(m.failureCount - m.timeoutCount),
    String(m.timeoutCount),
    String(m.skippedCount),
    m.avgExecutionTimeMs.toFixed(0),
    m.p95ExecutionTimeMs.toFixed(0),
  ];
  const rows = [...Object.entries(metrics.jobs).map(([name, m]) => row(name, m)), row('TOTAL', metrics.totals)];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? pad(c, widths[i] as number) : lpad(c, widths[i] as number))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
