import { useState } from 'preact/hooks';
import { get, query, type Page, type Snapshot } from '../api';
import { Loading, Section } from '../components';
import { usePoll } from '../hooks';
import { HistoryTable } from './job';

export function MisfiresView() {
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const { data, error } = usePoll(
    () => get<Page<Snapshot>>(`api/misfires${query({ limit: 50, cursor })}`),
    `misfires:${cursor ?? ''}`,
  );
  if (!data) return <Loading error={error} />;
  return (
    <Section title="Misfires">
      {data.items.length === 0 ? <p class="muted">No misfire recorded.</p> : <HistoryTable items={data.items} showJob />}
      <p class="pager">
        <button disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
          newer
        </button>
        <button disabled={!data.nextCursor} onClick={() => data.nextCursor && setCursors([...cursors, data.nextCursor])}>
          older
        </button>
      </p>
    </Section>
  );
}
