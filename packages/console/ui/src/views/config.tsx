import { useState } from 'preact/hooks';
import { get, post, type ConfigVersion } from '../api';
import { Loading, Notice, Section } from '../components';
import { json, time } from '../format';
import { usePoll } from '../hooks';

export function ConfigView() {
  const { data, error, reload } = usePoll(() => get<{ versions: ConfigVersion[] }>('api/config/history?limit=50'), 'config');
  const [notice, setNotice] = useState<{ ok: boolean; text: string } | undefined>(undefined);
  const [open, setOpen] = useState<number | undefined>(undefined);
  if (!data) return <Loading error={error} />;
  const rollback = async (version: number) => {
    if (!confirm(`Write version ${version}'s document as a new version? Every node applies it.`)) return;
    try {
      const r = await post<{ version: number }>('api/config/rollback', { version });
      setNotice({ ok: true, text: `rolled back to version ${version}: now version ${r.version}` });
      reload();
    } catch (e) {
      setNotice({ ok: false, text: (e as Error).message });
    }
  };
  const [latest] = data.versions;
  return (
    <Section title="Shared configuration">
      <Notice notice={notice} />
      {!latest ? (
        <p class="muted">No shared configuration yet: the nodes run the config of their code and files.</p>
      ) : (
        <table data-testid="config-history">
          <thead>
            <tr>
              <th>version</th>
              <th>written</th>
              <th>by</th>
              <th>reason</th>
              <th>changes</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {data.versions.map((v) => (
              <tr key={v.version} data-version={v.version}>
                <td>
                  <b>{v.version}</b>
                  {v === latest && <span class="muted"> (current)</span>}
                </td>
                <td>{time(v.updatedAt)}</td>
                <td>{v.actor ?? v.nodeId}</td>
                <td>{v.reason ?? ''}</td>
                <td>
                  <ul class="diff">
                    {v.diff.map((d) => (
                      <li key={d.path}>
                        <code>{d.path}</code>: <del>{json(d.from)}</del> → <ins>{json(d.to)}</ins>
                      </li>
                    ))}
                  </ul>
                  {open === v.version && <pre>{JSON.stringify(v.document, null, 2)}</pre>}
                </td>
                <td class="actions">
                  <button onClick={() => setOpen(open === v.version ? undefined : v.version)}>
                    {open === v.version ? 'hide' : 'document'}
                  </button>
                  {v !== latest && (
                    <button data-action="rollback" onClick={() => void rollback(v.version)}>
                      roll back to this
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}
