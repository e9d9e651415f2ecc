import { useState } from 'preact/hooks';
import { get, post, query, type Job, type Page, type Snapshot, type StatsReport } from '../api';
import { Loading, Notice, Section, Status } from '../components';
import { ms, percent, time } from '../format';
import { href, usePoll } from '../hooks';
import { StatsChart } from './chart';
import { JobActions } from './jobs';

const RANGES: Record<string, number> = { '15 min': 900_000, '1 h': 3_600_000, '24 h': 86_400_000, '7 d': 604_800_000 };
const STATUSES = ['', 'completed', 'failed', 'timeout', 'skipped', 'misfired', 'abandoned', 'cancelled', 'running'];

export function HistoryTable({ items, showJob = false }: { items: Snapshot[]; showJob?: boolean }) {
  return (
    <table data-testid="history">
      <thead>
        <tr>
          {showJob && <th>job</th>}
          <th>started</th>
          <th>scheduled</th>
          <th>status</th>
          <th>duration</th>
          <th>node</th>
          <th>attempt</th>
          <th>kind</th>
          <th>detail</th>
        </tr>
      </thead>
      <tbody>
        {items.map((s) => (
          <tr key={s.executionId} data-execution={s.executionId} data-status={s.status}>
            {showJob && <td>{s.jobName}</td>}
            <td>
              <a href={href('executions', s.executionId)}>{time(s.startedAt)}</a>
            </td>
            <td>{time(s.scheduledAt)}</td>
            <td>
              <Status value={s.status} />
            </td>
            <td>{ms(s.durationMs)}</td>
            <td>{s.nodeId}</td>
            <td>{s.attempt}</td>
            <td>{s.kind}</td>
            <td class="muted">
              {s.errorMessage ?? s.skipReason ?? (s.missedCount ? `${s.missedCount} missed (${s.misfirePolicy ?? ''})` : '')}
              {s.shards && ` ${s.shards.length} shards`}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function CronForm({ job, onDone }: { job: Job; onDone: (n: { ok: boolean; text: string }) => void }) {
  const [spec, setSpec] = useState(job.cronSpec ?? '');
  const [zone, setZone] = useState(job.timezone);
  const save = async (e: Event) => {
    e.preventDefault();
    try {
      const r = await post<{ version: number }>(`api/jobs/${encodeURIComponent(job.jobName)}/cron`, {
        cronSpec: spec,
        timezone: zone,
      });
      onDone({ ok: true, text: `cron of ${job.jobName} is now "${spec}" (${zone}): config version ${r.version}` });
    } catch (err) {
      onDone({ ok: false, text: (err as Error).message });
    }
  };
  return (
    <form class="inline" onSubmit={(e) => void save(e)} data-testid="cron-form">
      <label>
        cron <input name="cronSpec" value={spec} onInput={(e) => setSpec((e.target as HTMLInputElement).value)} size={24} />
      </label>
      <label>
        zone <input name="timezone" value={zone} onInput={(e) => setZone((e.target as HTMLInputElement).value)} size={16} />
      </label>
      <button type="submit">save to the shared config</button>
    </form>
  );
}

export function JobView({ name }: { name: string }) {
  const job = usePoll(() => get<Job>(`api/jobs/${encodeURIComponent(name)}`), `job:${name}`);
  const [notice, setNotice] = useState<{ ok: boolean; text: string } | undefined>(undefined);
  const [range, setRange] = useState('15 min');
  const [status, setStatus] = useState('');
  const [nodeId, setNodeId] = useState('');
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const stats = usePoll(() => {
    const to = Date.now();
    return get<StatsReport>(
      `api/jobs/${encodeURIComponent(name)}/stats${query({ from: to - (RANGES[range] ?? 3_600_000), to, buckets: 30 })}`,
    );
  }, `stats:${name}:${range}`);
  const history = usePoll(
    () => get<Page<Snapshot>>(`api/jobs/${encodeURIComponent(name)}/history${query({ status, nodeId, limit: 25, cursor })}`),
    `history:${name}:${status}:${nodeId}:${cursor ?? ''}`,
  );
  if (!job.data) return <Loading error={job.error} />;
  const j = job.data;
  const done = (n: { ok: boolean; text: string }) => {
    setNotice(n);
    job.reload();
  };
  return (
    <div>
      <Section title={`Job ${j.jobName}`} actions={<JobActions job={j} onDone={(n) => n && done(n)} />}>
        <Notice notice={notice} />
        <dl class="facts">
          <dt>state</dt>
          <dd data-field="state">
            <Status value={j.state} />
          </dd>
          <dt>cron</dt>
          <dd>
            <code>{j.cronSpec ?? '—'}</code> ({j.timezone}), from {j.source}
          </dd>
          <dt>priority</dt>
          <dd>{j.priority ?? 'default'}</dd>
          <dt>dependencies</dt>
          <dd>{j.dependencies.join(', ') || 'none'}</dd>
          <dt>sharding</dt>
          <dd>{j.shardingTotal ? `${j.shardingTotal} shards` : 'off'}</dd>
          <dt>served by</dt>
          <dd>{j.nodes.join(', ') || 'no live node'}</dd>
          <dt>next fires</dt>
          <dd>{j.nextFires.map((f) => time(f)).join(' · ') || '—'}</dd>
        </dl>
        <CronForm job={j} onDone={done} />
      </Section>
      <Section
        title="Statistics"
        actions={
          <select value={range} onChange={(e) => setRange((e.target as HTMLSelectElement).value)}>
            {Object.keys(RANGES).map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        }
      >
        {stats.data ? (
          <>
            <p>
              {stats.data.total.totalCount} runs, success{' '}
              {percent(stats.data.total.totalCount ? stats.data.total.successCount / stats.data.total.totalCount : undefined)},
              p50 {ms(stats.data.total.p50DurationMs)}, p95 {ms(stats.data.total.p95DurationMs)}
            </p>
            <StatsChart report={stats.data} />
          </>
        ) : (
          <Loading error={stats.error} />
        )}
      </Section>
      <Section
        title="History"
        actions={
          <span class="filters">
            <select
              data-testid="status-filter"
              value={status}
              onChange={(e) => {
                setStatus((e.target as HTMLSelectElement).value);
                setCursors([]);
              }}
            >
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s || 'any status'}
                </option>
              ))}
            </select>
            <select
              value={nodeId}
              onChange={(e) => {
                setNodeId((e.target as HTMLSelectElement).value);
                setCursors([]);
              }}
            >
              <option value="">any node</option>
              {j.nodes.map((n) => (
                <option key={n}>{n}</option>
              ))}
            </select>
          </span>
        }
      >
        {history.data ? <HistoryTable items={history.data.items} /> : <Loading error={history.error} />}
        <p class="pager">
          <button disabled={cursors.length === 0} onClick={() => setCursors([])}>
            newest
          </button>
          <button disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
            newer
          </button>
          <button
            disabled={!history.data?.nextCursor}
            onClick={() => history.data?.nextCursor && setCursors([...cursors, history.data.nextCursor])}
          >
            older
          </button>
        </p>
      </Section>
    </div>
  );
}
