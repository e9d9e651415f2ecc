/**
 * Every metric the collector exports, in one table: the README's list and
 * the Grafana dashboard are checked against it. Names get the collector's
 * prefix (`sched_` by default). The job's label is `job_name`: Prometheus
 * sets `job` on every scraped series itself (the scrape job), so a `job`
 * label of ours would be renamed `exported_job`.
 */

/** Execution durations, from 5 ms to 4 hours (seconds). */
export const DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1_800, 3_600, 7_200, 14_400,
];

/** Fire lateness, from 1 ms to 1 minute (seconds). */
export const LATENESS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export type MetricKind = 'counter' | 'gauge' | 'histogram';

export interface MetricSpec {
  kind: MetricKind;
  /** Without the prefix. */
  name: string;
  help: string;
  labels: readonly string[];
  buckets?: readonly number[];
}

export const METRICS = {
  fires: {
    kind: 'counter',
    name: 'fires_total',
    help: 'Fires accepted to run on this node, by kind (cron, catch-up, manual, remote, dependency)',
    labels: ['job_name', 'kind'],
  },
  executions: {
    kind: 'counter',
    name: 'executions_total',
    help: 'Finished executions on this node (retries included) by final status: completed, failed, timeout, cancelled, abandoned',
    labels: ['job_name', 'status'],
  },
  duration: {
    kind: 'histogram',
    name: 'execution_duration_seconds',
    help: 'How long executions ran, by final status (abandoned runs are left out)',
    labels: ['job_name', 'status'],
    buckets: DURATION_BUCKETS,
  },
  lateness: {
    kind: 'histogram',
    name: 'fire_lateness_seconds',
    help: 'The start of the first attempt of a cron fire minus the instant its spec named',
    labels: ['job_name'],
    buckets: LATENESS_BUCKETS,
  },
  skips: {
    kind: 'counter',
    name: 'skips_total',
    help: 'Fires this node decided not to run, by reason (overlap, paused, circuit-open, dependency-failed, ...)',
    labels: ['job_name', 'reason'],
  },
  misfires: {
    kind: 'counter',
    name: 'misfires_total',
    help: 'Instants missed (no node claimed them in time), by the misfire policy that handled them',
    labels: ['job_name', 'policy'],
  },
  running: {
    kind: 'gauge',
    name: 'running_executions',
    help: 'Executions running on this node now',
    labels: [],
  },
  queued: {
    kind: 'gauge',
    name: 'queued_fires',
    help: 'Fires claimed by this node and waiting for a free slot',
    labels: [],
  },
  claimErrors: {
    kind: 'counter',
    name: 'claim_errors_total',
    help: 'Claims of due fires that failed (they are retried with backoff)',
    labels: [],
  },
  leaseErrors: {
    kind: 'counter',
    name: 'lease_errors_total',
    help: 'Lease renewals that failed (renew-failed: the store did not answer) or found the lease taken (lost)',
    labels: ['reason'],
  },
  storeErrors: {
    kind: 'counter',
    name: 'store_errors_total',
    help: 'Operations that could not reach the store (a Redis round trip that failed or timed out), by operation',
    labels: ['operation'],
  },
  errors: {
    kind: 'counter',
    name: 'errors_total',
    help: 'Operations of the scheduler that failed (logged and emitted as the error event), by operation',
    labels: ['operation'],
  },
  liveNodes: {
    kind: 'gauge',
    name: 'live_nodes',
    help: "Live nodes of the cluster in this node's view (heartbeat within the TTL)",
    labels: [],
  },
} as const satisfies Record<string, MetricSpec>;

export type MetricKey = keyof typeof METRICS;
