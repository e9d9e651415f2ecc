import { get, type Snapshot } from '../api';
import { Loading, Section, Status } from '../components';
import { ms, time } from '../format';
import { href, usePoll } from '../hooks';

/** One execution; for a sharded fire, each shard with the node that ran it. */
export function ExecutionView({ id }: { id: string }) {
  const { data, error } = usePoll(() => get<Snapshot>(`api/executions/${encodeURIComponent(id)}`), `execution:${id}`);
  if (!data) return <Loading error={error} />;
  const s = data;
  return (
    <div>
      <Section title={`Execution ${s.executionId}`}>
        <dl class="facts">
          <dt>job</dt>
          <dd>
            <a href={href('jobs', s.jobName)}>{s.jobName}</a>
          </dd>
          <dt>status</dt>
          <dd>
            <Status value={s.status} /> {s.errorMessage ?? s.skipReason ?? ''}
          </dd>
          <dt>fire</dt>
          <dd>
            <code>{s.fireId}</code> ({s.kind}, attempt {s.attempt})
          </dd>
          <dt>scheduled</dt>
          <dd>{time(s.scheduledAt)}</dd>
          <dt>started / finished</dt>
          <dd>
            {time(s.startedAt)} / {time(s.finishedAt)} ({ms(s.durationMs)})
          </dd>
          <dt>node</dt>
          <dd>{s.nodeId}</dd>
          {s.shardTotal !== undefined && (
            <>
              <dt>shard</dt>
              <dd>
                {s.shardIndex} of {s.shardTotal}
              </dd>
            </>
          )}
        </dl>
      </Section>
      {s.shards && (
        <Section title={`Shards (${s.shards.length})`}>
          <table data-testid="shards">
            <thead>
              <tr>
                <th>shard</th>
                <th>status</th>
                <th>node</th>
                <th>attempt</th>
                <th>duration</th>
                <th>items done / failed / total</th>
              </tr>
            </thead>
            <tbody>
              {s.shards.map((r) => (
                <tr key={r.shardIndex} data-shard={r.shardIndex}>
                  <td>{r.executionId ? <a href={href('executions', r.executionId)}>{r.shardIndex}</a> : r.shardIndex}</td>
                  <td>
                    <Status value={r.status} />
                  </td>
                  <td>{r.nodeId ?? '—'}</td>
                  <td>{r.attempt ?? '—'}</td>
                  <td>{ms(r.durationMs)}</td>
                  <td>
                    {r.itemsDone ?? '—'} / {r.itemsFailed ?? '—'} / {r.itemsTotal ?? '—'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
      )}
    </div>
  );
}
