import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, post, setCsrfToken } from './api';
import { href, useRoute } from './hooks';
import { ConfigView } from './views/config';
import { DagRunView, DagRunsView } from './views/dag';
import { ExecutionView } from './views/execution';
import { JobView } from './views/job';
import { JobsView } from './views/jobs';
import { MisfiresView } from './views/misfires';
import { NodesView } from './views/nodes';
import './style.css';

interface Session {
  user: string;
  csrfToken: string;
  source: string;
}

function Login({ onLogin }: { onLogin: () => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      await post('api/login', { token });
      setToken('');
      onLogin();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <main class="login">
      <h1>sched console</h1>
      <form onSubmit={(e) => void submit(e)} data-testid="login">
        <label>
          Console token
          <input
            type="password"
            name="token"
            autocomplete="current-password"
            value={token}
            onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          />
        </label>
        <button type="submit">Sign in</button>
        {error && <p class="error">{error}</p>}
      </form>
    </main>
  );
}

const NAV: Array<[string, string]> = [
  ['nodes', 'Nodes'],
  ['jobs', 'Jobs'],
  ['dag', 'DAG runs'],
  ['misfires', 'Misfires'],
  ['config', 'Config'],
];

function Page({ route }: { route: string[] }) {
  const [view = 'nodes', id] = route;
  if (view === 'jobs' && id) return <JobView name={id} />;
  if (view === 'jobs') return <JobsView />;
  if (view === 'executions' && id) return <ExecutionView id={id} />;
  if (view === 'dag' && id) return <DagRunView runId={id} />;
  if (view === 'dag') return <DagRunsView />;
  if (view === 'misfires') return <MisfiresView />;
  if (view === 'config') return <ConfigView />;
  return <NodesView />;
}

function App() {
  const route = useRoute();
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const load = () =>
    get<Session>('api/session').then(
      (s) => {
        setCsrfToken(s.csrfToken);
        setSession(s);
      },
      (e: unknown) => {
        if (e instanceof ApiError && e.status === 401) setSession(null);
        else setError((e as Error).message);
      },
    );
  useEffect(() => void load(), []);
  if (error) return <p class="error">{error}</p>;
  if (session === undefined) return <p class="muted">loading…</p>;
  if (session === null) return <Login onLogin={() => void load()} />;
  const logout = () => void post('api/logout').finally(() => setSession(null));
  return (
    <div class="shell">
      <nav>
        <h1>sched</h1>
        {NAV.map(([key, label]) => (
          <a key={key} href={href(key)} class={(route[0] ?? 'nodes') === key ? 'active' : ''}>
            {label}
          </a>
        ))}
        <p class="muted who">
          {session.user}
          <br />
          <button class="link" onClick={logout}>
            sign out
          </button>
        </p>
      </nav>
      <main>
        <Page route={route} />
      </main>
    </div>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
