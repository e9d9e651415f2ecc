import { Gauge, Registry } from 'prom-client';
import {
  ErrorCode,
  InvalidArgumentError,
  type ClusterMetrics,
  type ClusterMetricsOptions,
  type MetricsEvent,
  type MetricsHost,
  type MetricsSink,
} from '@sched/core';
import { ClusterMetricsGatherer } from './cluster.js';
import { JobSeriesTable } from './job-series.js';
import { SeriesCounter, SeriesHistogram, type Labels, type ResetCount, type SeriesOptions } from './series.js';
import { METRICS, type MetricSpec } from './metric-table.js';

export interface MetricsCollectorOptions {
  /**
   * The registry the metrics go to: a fresh one by default, never prom-client's
   * global `register` unless you pass it. To serve them beside your own
   * metrics, pass your registry here or merge ours
   * (`Registry.merge([register, collector.registry])`).
   */
  registry?: Registry;
  /** Prepended to every metric name (default `sched_`). */
  prefix?: string;
  /** Constant labels on every series (say `{ service: 'billing' }`). */
  labels?: Record<string, string>;
  /**
   * A `job_name` label on the per-job metrics (default true). With tens of
   * thousands of jobs, false keeps the series count small (the counts are
   * then per node only; `getMetrics()` still has them per job).
   */
  perJob?: boolean;
  /** Buckets of `execution_duration_seconds`, in seconds (default 5 ms … 4 h). */
  durationBuckets?: readonly number[];
  /** Buckets of `fire_lateness_seconds`, in seconds (default 1 ms … 60 s). */
  latenessBuckets?: readonly number[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const OUR_LABELS = ['job_name', 'kind', 'status', 'reason', 'policy', 'operation'];

/**
 * The Prometheus sink of sched (SPEC.md §6), on prom-client. Attach it with
 * `withMetrics(collector)` in the chain or the `metricsSink` option. It
 * counts what the scheduler reports (`record` is a map lookup and an add on
 * a series built once; prom-client formats them when scraped), reads the gauges (running, queued, live nodes) when
 * scraped, and gathers every node's counters for `sched.getClusterMetrics()`
 * over the PubSub port. One collector may serve several schedulers of one
 * process: their counts add up.
 */
export class MetricsCollector implements MetricsSink {
  readonly registry: Registry;
  readonly prefix: string;
  private readonly hosts = new Set<MetricsHost>();
  private readonly gatherer = new ClusterMetricsGatherer();
  private readonly fires: SeriesCounter;
  private readonly executions: SeriesCounter;
  private readonly skips: SeriesCounter;
  private readonly misfires: SeriesCounter;
  private readonly claimErrors: SeriesCounter;
  private readonly leaseErrors: SeriesCounter;
  private readonly storeErrors: SeriesCounter;
  private readonly errors: SeriesCounter;
  private readonly duration: SeriesHistogram;
  private readonly lateness: SeriesHistogram;
  /** The per-job series an execution's events touch, one lookup an event. */
  private readonly jobs: JobSeriesTable;

  constructor(options: MetricsCollectorOptions = {}) {
    const api = 'new MetricsCollector';
    this.prefix = options.prefix ?? 'sched_';
    if (!METRIC_NAME.test(`${this.prefix}x`)) {
      throw new InvalidArgumentError(api, `prefix ${JSON.stringify(this.prefix)} cannot start a metric name`);
    }
    const constant: Labels = { ...options.labels };
    for (const [name, value] of Object.entries(constant)) {
      if (!LABEL_NAME.test(name) || name.startsWith('__') || OUR_LABELS.includes(name) || typeof value !== 'string') {
        throw new InvalidArgumentError(
          api,
          `constant label ${JSON.stringify(name)} needs a label name of its own (not ${OUR_LABELS.join(', ')}) and a string value`,
        );
      }
    }
    for (const [option, buckets] of [
      ['durationBuckets', options.durationBuckets],
      ['latenessBuckets', options.latenessBuckets],
    ] as const) {
      if (buckets && (buckets.length === 0 || buckets.some((b, i) => !(b > 0) || (i > 0 && b <= (buckets[i - 1] as number))))) {
        throw new InvalidArgumentError(api, `${option} must be positive seconds in increasing order`);
      }
    }
    const perJob = options.perJob ?? true;
    const resets: ResetCount = { count: 0 };
    this.jobs = new JobSeriesTable(resets, perJob);
    this.registry = options.registry ?? new Registry();
    const config = (spec: MetricSpec) => ({
      name: this.prefix + spec.name,
      help: spec.help,
      labelNames: [...spec.labels.filter((l) => perJob || l !== 'job_name'), ...Object.keys(constant)],
      registers: [this.registry],
    });
    const series = (spec: MetricSpec): SeriesOptions => ({
      constant,
      valueLabel: spec.labels.find((l) => l !== 'job_name'),
      perJob: perJob && spec.labels.includes('job_name'),
      resets,
    });
    const counter = (spec: MetricSpec) => new SeriesCounter(config(spec), series(spec));
    const histogram = (spec: MetricSpec, buckets: readonly number[] | undefined) =>
      new SeriesHistogram({ ...config(spec), buckets: [...(buckets ?? spec.buckets ?? [])] }, series(spec));
    const hosts = this.hosts;
    /** Read from every attached scheduler when scraped, summed. */
    const loadGauge = (spec: MetricSpec, field: 'running' | 'queued') =>
      new Gauge({
        ...config(spec),
        collect() {
          this.set(
            constant,
            total(hosts, (h) => h.load()[field]),
          );
        },
      });
    const built = this.registering(() => ({
      fires: counter(METRICS.fires),
      executions: counter(METRICS.executions),
      skips: counter(METRICS.skips),
      misfires: counter(METRICS.misfires),
      claimErrors: counter(METRICS.claimErrors),
      leaseErrors: counter(METRICS.leaseErrors),
      storeErrors: counter(METRICS.storeErrors),
      errors: counter(METRICS.errors),
      duration: histogram(METRICS.duration, options.durationBuckets),
      lateness: histogram(METRICS.lateness, options.latenessBuckets),
      gauges: [
        loadGauge(METRICS.running, 'running'),
        loadGauge(METRICS.queued, 'queued'),
        new Gauge({
          ...config(METRICS.liveNodes),
          async collect() {
            const [host] = hosts;
            if (!host) return this.set(constant, 0);
            try {
              this.set(constant, (await host.getNodes()).length);
            } catch (error) {
              // The last value stays; the scrape still answers.
              host.logger.warn('metrics: the live nodes could not be read', { error });
            }
          },
        }),
      ],
    }));
    this.fires = built.fires;
    this.executions = built.executions;
    this.skips = built.skips;
    this.misfires = built.misfires;
    this.claimErrors = built.claimErrors;
    this.leaseErrors = built.leaseErrors;
    this.storeErrors = built.storeErrors;
    this.errors = built.errors;
    this.duration = built.duration;
    this.lateness = built.lateness;
  }

  /** prom-client refuses a name twice in one registry: say which collector setup caused it. */
  private registering<T>(build: () => T): T {
    try {
      return build();
    } catch (error) {
      if (error instanceof Error && /already been registered/.test(error.message)) {
        throw new InvalidArgumentError(
          'new MetricsCollector',
          `${error.message}: this registry already holds sched's metrics with prefix ${JSON.stringify(this.prefix)}; use one collector per registry and prefix`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  record(event: MetricsEvent): void {
    switch (event.type) {
      case 'fire': {
        const job = this.jobs.of(event.jobName);
        if (job.fires === undefined || job.fireKind !== event.kind) {
          job.fires = this.fires.series.get(event.jobName, event.kind);
          job.fireKind = event.kind;
        }
        job.fires.value += 1;
        return;
      }
      case 'start':
        if (event.lateMs !== undefined) {
          const job = this.jobs.of(event.jobName);
          job.lateness ??= this.lateness.series.get(event.jobName);
          this.lateness.observeIn(job.lateness, Math.max(0, event.lateMs) / 1_000);
        }
        return;
      case 'execution': {
        const { jobName, status, durationMs } = event.outcome;
        const job = this.jobs.of(jobName);
        if (job.executions === undefined || job.status !== status) {
          job.executions = this.executions.series.get(jobName, status);
          job.duration = status === 'abandoned' ? undefined : this.duration.series.get(jobName, status);
          job.status = status;
        }
        job.executions.value += 1;
        if (job.duration) this.duration.observeIn(job.duration, durationMs / 1_000);
        return;
      }
      case 'abandoned':
        this.executions.series.get(event.jobName, 'abandoned').value += 1;
        return;
      case 'skip':
        this.skips.series.get(event.jobName, event.reason).value += 1;
        return;
      case 'misfire':
        this.misfires.series.get(event.jobName, event.policy).value += event.count;
        return;
      case 'claim-error':
        this.claimErrors.series.get('').value += 1;
        return;
      case 'lease-error':
        this.leaseErrors.series.get('', event.reason).value += 1;
        return;
      case 'error':
        this.errors.series.get('', event.operation).value += 1;
        if (isStoreUnavailable(event.error)) this.storeErrors.series.get('', event.operation).value += 1;
        return;
      default:
        // 'gauge': the gauges are read from the scheduler when scraped.
        return;
    }
  }

  attach(host: MetricsHost): Promise<void> {
    this.hosts.add(host);
    return this.gatherer.attach(host);
  }

  async detach(host: MetricsHost): Promise<void> {
    this.hosts.delete(host);
    await this.gatherer.detach(host);
  }

  getClusterMetrics(host: MetricsHost, options?: ClusterMetricsOptions): Promise<ClusterMetrics> {
    return this.gatherer.gather(host, options);
  }

  /** The exposition text of the registry (what `/metrics` serves). */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /** Every metric name this collector exports, with its prefix. */
  get names(): string[] {
    return Object.values(METRICS).map((spec: MetricSpec) => this.prefix + spec.name);
  }
}

function total(hosts: Set<MetricsHost>, read: (h: MetricsHost) => number): number {
  let sum = 0;
  for (const h of hosts) sum += read(h);
  return sum;
}

/** The store could not be reached (core's `StoreUnavailableError`, also when it is the cause). */
function isStoreUnavailable(error: Error): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if ((e as { code?: unknown }).code === ErrorCode.StoreUnavailable) return true;
  }
  return false;
}
