import { get, type Node } from '../api';
import { Loading, Section, Status } from '../components';
import { ms, time } from '../format';
import { usePoll } from '../hooks';

export function NodesView() {
  const { data, error } = usePoll(() => get<{ nodes: Node[]; missing: string[] }>('api/nodes'), 'nodes');
  if (!data) return <Loading error={error} />;
  return (
    <Section title={`Live nodes (${data.nodes.length})`}>
      {error && <p class="error">{error}</p>}
      <table data-testid="nodes">
        <thead>
          <tr>
            <th>node</th>
            <th>status</th>
            <th>heartbeat</th>
            <th>clock offset</th>
            <th>running</th>
            <th>queued</th>
            <th>running jobs</th>
            <th>jobs served</th>
            <th>host / pid</th>
            <th>version</th>
            <th>up since</th>
          </tr>
        </thead>
        <tbody>
          {data.nodes.map((n) => (
            <tr key={n.nodeId} data-node={n.nodeId}>
              <td>
                <b>{n.nodeId}</b>
              </td>
              <td>
                <Status value={n.status} />
              </td>
              <td class={n.heartbeatAgeMs > 5_000 ? 'warn' : ''}>{ms(n.heartbeatAgeMs)} ago</td>
              <td>{ms(n.clockOffsetMs)}</td>
              <td>{n.running ?? '—'}</td>
              <td>{n.queued ?? '—'}</td>
              <td>{n.runningJobs.join(', ') || '—'}</td>
              <td title={n.jobs.join(', ')}>{n.jobs.length}</td>
              <td>
                {n.host} / {n.pid}
              </td>
              <td>{n.version}</td>
              <td>{time(n.startedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {data.missing.length > 0 && (
        <p class="muted">No load figures from: {data.missing.join(', ')} (no metrics collector, or no answer in time).</p>
      )}
    </Section>
  );
}
