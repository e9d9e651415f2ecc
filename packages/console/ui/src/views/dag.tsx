import { get, type DagRun } from '../api';
import { Loading, Section } from '../components';
import { time } from '../format';
import { href, usePoll } from '../hooks';

export function DagRunsView() {
  const { data, error } = usePoll(
    () => get<{ runs: Array<{ runId: string; lastStartedAt: number; jobs: string[] }> }>('api/dag-runs'),
    'dag-runs',
  );
  if (!data) return <Loading error={error} />;
  return (
    <Section title="DAG runs">
      {data.runs.length === 0 ? (
        <p class="muted">No DAG run in the recent history.</p>
      ) : (
        <table data-testid="dag-runs">
          <thead>
            <tr>
              <th>run</th>
              <th>last start</th>
              <th>dependents that ran</th>
            </tr>
          </thead>
          <tbody>
            {data.runs.map((r) => (
              <tr key={r.runId}>
                <td>
                  <a href={href('dag', r.runId)}>{r.runId}</a>
                </td>
                <td>{time(r.lastStartedAt)}</td>
                <td>{r.jobs.join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}

const W = 170;
const H = 54;
const GAP_X = 70;
const GAP_Y = 26;

/** Columns by depth (longest path from a root), so every edge points right. */
function layout(run: DagRun): Map<string, { x: number; y: number }> {
  const deps = new Map(run.jobs.map((j) => [j.jobName, j.dependencies]));
  const depth = new Map<string, number>();
  const depthOf = (job: string, seen: Set<string>): number => {
    const known = depth.get(job);
    if (known !== undefined) return known;
    if (seen.has(job)) return 0;
    seen.add(job);
    const d = Math.max(-1, ...(deps.get(job) ?? []).map((p) => depthOf(p, seen))) + 1;
    depth.set(job, d);
    return d;
  };
  const rows = new Map<number, number>();
  const at = new Map<string, { x: number; y: number }>();
  for (const j of run.jobs) {
    const d = depthOf(j.jobName, new Set());
    const row = rows.get(d) ?? 0;
    rows.set(d, row + 1);
    at.set(j.jobName, { x: 10 + d * (W + GAP_X), y: 10 + row * (H + GAP_Y) });
  }
  return at;
}

export function DagRunView({ runId }: { runId: string }) {
  const { data, error } = usePoll(() => get<DagRun>(`api/dag-runs/${encodeURIComponent(runId)}`), `dag:${runId}`);
  if (!data) return <Loading error={error} />;
  const at = layout(data);
  const width = Math.max(...[...at.values()].map((p) => p.x + W)) + 10;
  const height = Math.max(...[...at.values()].map((p) => p.y + H)) + 10;
  return (
    <Section title={`DAG run ${data.runId}`}>
      <p class="muted">
        root {data.rootJob}
        {data.scheduledAt !== undefined && `, instant ${time(data.scheduledAt)}`}
      </p>
      <svg class="dag" width={width} height={height} viewBox={`0 0 ${width} ${height}`} data-testid="dag-graph">
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto">
            <path d="M0,0 L10,5 L0,10 z" fill="#888" />
          </marker>
        </defs>
        {data.jobs.flatMap((j) =>
          j.dependencies.map((d) => {
            const from = at.get(d);
            const to = at.get(j.jobName);
            if (!from || !to) return null;
            return (
              <line
                key={`${d}->${j.jobName}`}
                x1={from.x + W}
                y1={from.y + H / 2}
                x2={to.x}
                y2={to.y + H / 2}
                stroke="#888"
                marker-end="url(#arrow)"
              />
            );
          }),
        )}
        {data.jobs.map((j) => {
          const p = at.get(j.jobName) ?? { x: 0, y: 0 };
          return (
            <g
              key={j.jobName}
              class={`dag-node state-${j.state}`}
              data-job={j.jobName}
              data-state={j.state}
              transform={`translate(${p.x},${p.y})`}
            >
              <rect width={W} height={H} rx="6" />
              <text x="10" y="21" class="dag-name">
                {j.jobName}
              </text>
              <text x="10" y="41" class="dag-meta">
                {j.state}
                {j.nodeId ? ` · ${j.nodeId}` : ''}
              </text>
            </g>
          );
        })}
      </svg>
      <p class="legend">
        {['pending', 'running', 'completed', 'failed', 'skipped'].map((s) => (
          <span key={s} class={`swatch state-${s}`}>
            {s}
          </span>
        ))}
      </p>
    </Section>
  );
}
