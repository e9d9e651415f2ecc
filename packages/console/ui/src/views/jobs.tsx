import { useState } from 'preact/hooks';
import { get, post, type Job } from '../api';
import { Loading, Notice, Section, Status } from '../components';
import { percent, time } from '../format';
import { href, usePoll } from '../hooks';

type NoticeState = { ok: boolean; text: string } | undefined;

/** Pause / resume / trigger buttons of one job, shared by the list and the job page. */
export function JobActions({ job, onDone }: { job: Job; onDone: (n: NoticeState) => void }) {
  const [busy, setBusy] = useState(false);
  const act = async (what: string, path: string, body?: unknown) => {
    setBusy(true);
    try {
      const r = await post<{ version?: number; outcomes?: Array<{ nodeId: string; status: string }>; missing?: number }>(
        `api/jobs/${encodeURIComponent(job.jobName)}/${path}`,
        body,
      );
      const text =
        r.version !== undefined
          ? `${what} ${job.jobName}: config version ${r.version}`
          : `${what} ${job.jobName}: ${(r.outcomes ?? []).map((o) => `${o.status} on ${o.nodeId}`).join(', ') || 'no outcome'}` +
            (r.missing ? ` (${r.missing} node(s) did not answer)` : '');
      onDone({ ok: true, text });
    } catch (e) {
      onDone({ ok: false, text: `${what} ${job.jobName}: ${(e as Error).message}` });
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class="actions">
      {job.paused ? (
        <button disabled={busy} data-action="resume" onClick={() => void act('resume', 'resume')}>
          resume
        </button>
      ) : (
        <button disabled={busy} data-action="pause" onClick={() => void act('pause', 'pause')}>
          pause
        </button>
      )}
      <button disabled={busy} data-action="trigger" onClick={() => void act('trigger', 'trigger', { timeoutMs: 30_000 })}>
        trigger now
      </button>
    </span>
  );
}

export function JobsView() {
  const { data, error, reload } = usePoll(() => get<{ jobs: Job[] }>('api/jobs'), 'jobs');
  const [notice, setNotice] = useState<NoticeState>(undefined);
  if (!data) return <Loading error={error} />;
  return (
    <Section title={`Jobs (${data.jobs.length})`}>
      <Notice notice={notice} />
      <table data-testid="jobs">
        <thead>
          <tr>
            <th>job</th>
            <th>state</th>
            <th>cron</th>
            <th>zone</th>
            <th>priority</th>
            <th>next fires</th>
            <th>nodes</th>
            <th>success</th>
            <th>last</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          {data.jobs.map((j) => (
            <tr key={j.jobName} data-job={j.jobName}>
              <td>
                <a href={href('jobs', j.jobName)}>{j.jobName}</a>
                {j.dependencies.length > 0 && <div class="muted">after {j.dependencies.join(', ')}</div>}
              </td>
              <td data-field="state">
                <Status value={j.state} />
              </td>
              <td>
                <code>{j.cronSpec ?? '—'}</code>
              </td>
              <td>{j.timezone}</td>
              <td>{j.priority ?? '—'}</td>
              <td>{j.nextFires.map((f) => time(f)).join(', ') || '—'}</td>
              <td>{j.nodes.join(', ') || 'none live'}</td>
              <td>{percent(j.metrics?.successRate)}</td>
              <td>{j.metrics?.lastStatus ? <Status value={j.metrics.lastStatus} /> : '—'}</td>
              <td>
                <JobActions
                  job={j}
                  onDone={(n) => {
                    setNotice(n);
                    reload();
                  }}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}
