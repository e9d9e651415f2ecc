import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

/** How often a view re-reads its data (live updates without reload); paused while the tab is hidden. */
export const POLL_MS = 2_000;

export interface Polled<T> {
  data: T | undefined;
  error: string | undefined;
  reload: () => void;
}

/** Loads `load()` now, whenever `key` changes, and every POLL_MS while the page is visible. */
export function usePoll<T>(load: () => Promise<T>, key: string): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const loadRef = useRef(load);
  loadRef.current = load;
  const seq = useRef(0);
  const run = useCallback(() => {
    const mine = ++seq.current;
    loadRef.current().then(
      (d) => {
        if (mine !== seq.current) return; // an older answer after a newer one
        setData(d);
        setError(undefined);
      },
      (e: unknown) => {
        if (mine === seq.current) setError((e as Error).message);
      },
    );
  }, []);
  useEffect(() => {
    setData(undefined);
    run();
    const timer = setInterval(() => {
      if (!document.hidden) run();
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [key, run]);
  return { data, error, reload: run };
}

/** The hash route: `#/jobs/report` → ['jobs', 'report']. */
export function useRoute(): string[] {
  const read = () =>
    location.hash
      .replace(/^#\/?/, '')
      .split('/')
      .filter(Boolean)
      .map((s) => decodeURIComponent(s));
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

export const href = (...parts: string[]): string => `#/${parts.map(encodeURIComponent).join('/')}`;
