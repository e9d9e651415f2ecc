/** The console's API as the page calls it: same origin, the session cookie, the CSRF token on every POST. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken = '';

export function setCsrfToken(token: string): void {
  csrfToken = token;
}

async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: method === 'POST' ? { 'content-type': 'application/json', 'x-csrf-token': csrfToken } : {},
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const data = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } };
  if (!res.ok) throw new ApiError(res.status, data.error?.code ?? 'HTTP', data.error?.message ?? `HTTP ${res.status}`);
  return data as T;
}

export const get = <T>(path: string): Promise<T> => call<T>('GET', path);
export const post = <T>(path: string, body: unknown = {}): Promise<T> => call<T>('POST', path, body);

export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

// ─── what the API returns (the subset the page shows) ───────────────────────

export interface Node {
  nodeId: string;
  host: string;
  pid: number;
  version: string;
  startedAt: number;
  lastHeartbeat: number;
  heartbeatAgeMs: number;
  status: string;
  jobs: string[];
  clockOffsetMs: number;
  running: number | null;
  queued: number | null;
  runningJobs: string[];
}

export interface JobMetrics {
  executionCount: number;
  successRate: number;
  p95ExecutionTimeMs: number;
  lastStatus?: string;
}

export interface Job {
  jobName: string;
  nodes: string[];
  cronSpec: string | null;
  timezone: string;
  priority: number | null;
  paused: boolean;
  enabled: boolean;
  dependencies: string[];
  shardingTotal: number | null;
  state: string;
  nextFires: string[];
  source: string;
  metrics: JobMetrics | null;
}

export interface ShardResult {
  shardIndex: number;
  status: string;
  nodeId?: string;
  executionId?: string;
  attempt?: number;
  durationMs?: number;
  itemsTotal?: number;
  itemsDone?: number;
  itemsFailed?: number;
}

export interface Snapshot {
  executionId: string;
  jobName: string;
  fireId: string;
  scheduledAt?: number;
  startedAt: number;
  finishedAt?: number;
  durationMs?: number;
  status: string;
  nodeId: string;
  attempt: number;
  kind: string;
  shardIndex?: number;
  shardTotal?: number;
  errorMessage?: string;
  skipReason?: string;
  misfirePolicy?: string;
  missedCount?: number;
  shards?: ShardResult[];
}

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

export interface Stats {
  totalCount: number;
  successCount: number;
  failureCount: number;
  skippedCount: number;
  timeoutCount: number;
  avgDurationMs: number;
  p50DurationMs: number;
  p95DurationMs: number;
}

export interface StatsReport {
  from: number;
  to: number;
  total: Stats;
  buckets: Array<Stats & { start: number }>;
}

export interface DagRun {
  runId: string;
  rootJob: string;
  scheduledAt?: number;
  jobs: Array<{ jobName: string; state: string; nodeId?: string; fireId: string; dependencies: string[] }>;
}

export interface ConfigVersion {
  version: number;
  updatedAt: number;
  nodeId: string;
  actor?: string;
  reason?: string;
  document: unknown;
  diff: Array<{ path: string; from?: unknown; to?: unknown }>;
}
