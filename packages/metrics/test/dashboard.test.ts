import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parser } from '@prometheus-io/lezer-promql';
import { METRICS, MetricsCollector } from '../src/index.js';

interface Panel {
  type: string;
  title: string;
  datasource?: { uid: string };
  targets?: Array<{ expr: string }>;
}
const dashboard = JSON.parse(readFileSync(new URL('../grafana/sched-dashboard.json', import.meta.url), 'utf8')) as {
  panels: Panel[];
  templating: { list: Array<{ name: string; query: unknown }> };
};
const queries = dashboard.panels.filter((p) => p.type !== 'row');
const exprs = queries.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

/** Grafana's variables replaced as Grafana would before the query reaches Prometheus. */
const expand = (expr: string) => expr.replaceAll('$__rate_interval', '1m').replaceAll('$job_name', '.*');

/** The PromQL syntax errors lezer-promql (Prometheus's own grammar) finds in `expr`. */
function syntaxErrors(expr: string): string[] {
  const errors: string[] = [];
  parser.parse(expr).iterate({
    enter(node) {
      if (node.type.isError) errors.push(`at ${node.from}: ${expr.slice(Math.max(0, node.from - 10), node.to + 10)}`);
    },
  });
  return errors;
}

/** The metric a series name belongs to (a histogram's `_bucket`, `_sum`, `_count` are its own). */
const family = (name: string) => name.replace(/_(bucket|sum|count)$/, '');

describe('the Grafana dashboard', () => {
  it('every query is valid PromQL', () => {
    expect(exprs.length).toBeGreaterThanOrEqual(20);
    for (const { panel, expr } of exprs) expect({ panel, errors: syntaxErrors(expand(expr)) }).toEqual({ panel, errors: [] });
    expect(syntaxErrors('sum(rate(x[1m])')).not.toEqual([]); // the check can fail
  });

  it('queries only the names the collector exports, and shows every one of them', () => {
    const exported = new Set(new MetricsCollector().names);
    const used = new Set<string>();
    for (const { expr } of exprs) {
      for (const [name] of expr.matchAll(/\bsched_[a-z_]+/g)) {
        const metric = exported.has(name) ? name : family(name);
        expect(exported, `${name} in ${expr}`).toContain(metric);
        used.add(metric);
      }
    }
    expect([...used].sort()).toEqual([...exported].sort());
    const histograms = Object.values(METRICS).filter((m) => m.kind === 'histogram');
    for (const h of histograms) expect(exprs.some((e) => e.expr.includes(`sched_${h.name}_bucket`))).toBe(true);
  });

  it('every panel reads the chosen data source; the job variable lists job_name values', () => {
    for (const p of queries) expect(p.datasource?.uid, p.title).toBe('${datasource}');
    const job = dashboard.templating.list.find((v) => v.name === 'job_name');
    expect(JSON.stringify(job?.query)).toContain('label_values(sched_executions_total, job_name)');
    const jobLabel = (m: (typeof METRICS)[keyof typeof METRICS]) => (m.labels as readonly string[]).includes('job_name');
    // A metric filtered by $job_name must carry the label.
    for (const { expr } of exprs) {
      for (const m of expr.matchAll(/\b(sched_[a-z_]+)\{[^}]*job_name=~"\$job_name"/g)) {
        const spec = Object.values(METRICS).find((s) => `sched_${s.name}` === family(m[1] as string));
        expect(spec && jobLabel(spec), expr).toBe(true);
      }
    }
  });
});
