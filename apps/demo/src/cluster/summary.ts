import type { DemoChecks } from './checks.js';

/** Columns padded to their width: text to the left, counts to the right. */
function table(head: string[], rows: string[][], numeric: (column: number) => boolean): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric(i) ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Runs per job (rows) and node (columns), with totals. */
export function runsTable(runs: Map<string, Map<string, number>>, nodes: readonly string[]): string {
  const jobs = [...runs.keys()].sort();
  const rows = jobs.map((job) => {
    const byNode = runs.get(job) as Map<string, number>;
    const counts = nodes.map((n) => byNode.get(n) ?? 0);
    return [job, ...counts.map(String), String(counts.reduce((a, b) => a + b, 0))];
  });
  const totals = nodes.map((n) => jobs.reduce((a, j) => a + (runs.get(j)?.get(n) ?? 0), 0));
  rows.push(['TOTAL', ...totals.map(String), String(totals.reduce((a, b) => a + b, 0))]);
  return table(['job', ...nodes, 'all'], rows, (i) => i > 0);
}

/** What the demo showed, each with its figure and whether it held. */
export function checksTable(c: DemoChecks): string {
  const ok = (good: boolean) => (good ? 'yes' : 'NO');
  const rows: string[][] = [
    [
      'heartbeat once per second',
      `${c.heartbeat.ran}/${c.heartbeat.expected} seconds`,
      ok(c.heartbeat.missed.length === 0 && c.heartbeat.duplicated.length === 0),
    ],
    ['duplicates (any fire run twice)', String(c.duplicates.length), ok(c.duplicates.length === 0)],
    ['misses (heartbeat seconds not run)', String(c.heartbeat.missed.length), ok(c.heartbeat.missed.length === 0)],
    [
      'DAG A → B ‖ D → C in order',
      `${c.dag.runs} runs, ${c.dag.violations.length} out of order`,
      ok(c.dag.runs > 0 && c.dag.violations.length === 0),
    ],
    [
      'sharding: 60 invoices in 6 shards',
      `${c.sharding.complete}/${c.sharding.fires} fires complete; shards ${Object.entries(c.sharding.shardsByNode)
        .map(([n, k]) => `${n} ${k}`)
        .join(', ')}`,
      ok(c.sharding.fires > 0 && c.sharding.complete === c.sharding.fires && Object.keys(c.sharding.shardsByNode).length > 1),
    ],
    [
      'priority under 3 slots per node',
      `${c.priority.instants} bursts, ${c.priority.inversions.length} inversions`,
      ok(c.priority.instants > 0 && c.priority.inversions.length === 0),
    ],
    [
      'overlapPrevent (report)',
      `${c.overlap.skips} skipped, ${c.overlap.overlapping} overlapping`,
      ok(c.overlap.skips > 0 && c.overlap.overlapping === 0),
    ],
    [
      'remote execution, 8 strategies',
      c.remote.map((r) => `${r.strategy}:${r.error ? 'error' : r.ran.length}`).join(' '),
      ok(c.remote.length === 8 && c.remote.every((r) => !r.error && r.ran.length > 0)),
    ],
    [
      'hot config reload',
      `applied by ${c.config.appliedBy.join(', ') || 'none'}; report off the new spec ${c.config.reportOffSpecAfter}`,
      ok(c.config.appliedBy.length >= 2 && c.config.reportOffSpecAfter === 0),
    ],
    [
      `kill -9 ${c.takeover.victim}`,
      `left after ${c.takeover.leftAfterMs === undefined ? '?' : (c.takeover.leftAfterMs / 1000).toFixed(1)} s; starts after: ${Object.entries(
        c.takeover.startsAfterKill,
      )
        .map(([n, k]) => `${n} ${k}`)
        .join(', ')}`,
      ok(c.takeover.victimStartsAfterKill === 0 && c.takeover.leftAfterMs !== undefined),
    ],
  ];
  return table(['what', 'figure', 'held'], rows, () => false);
}
