import { Counter, Gauge, Histogram, Registry } from 'prom-client';
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
import { LabelCache, type Labels } from './label-cache.js';
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

/** A counter and the label objects it is incremented with. */
interface Counted {
  metric: Counter;
  labels: LabelCache;
}

/**
 * The Prometheus sink of sched (SPEC.md §6), on prom-client. Attach it with
 * `withMetrics(collector)` in the chain or the `metricsSink` option. It
 * counts what the scheduler reports (`record` is a map lookup and an
 * increment or two), reads the gauges (running, queued, live nodes) when
 * scraped, and gathers every node's counters for `sched.getClusterMetrics()`
 * over the PubSub port. One collector may serve several schedulers of one
 * process: their counts add up.
 */
export class MetricsCollector implements MetricsSink {
  readonly registry: Registry;
  readonly prefix: string;
  private readonly hosts = new Set<MetricsHost>();
  private readonly gatherer = new ClusterMetricsGatherer();
  private readonly fires: Counted;
  private readonly executions: Counted;
  private readonly skips: Counted;
  private readonly misfires: Counted;
  private readonly claimErrors: Counted;
  private readonly leaseErrors: Counted;
  private readonly storeErrors: Counted;
  private readonly errors: Counted;
  private readonly duration: { metric: Histogram; labels: LabelCache };
  private readonly lateness: { metric: Histogram; labels: LabelCache };

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
    this.registry = options.registry ?? new Registry();
    const config = (spec: MetricSpec) => ({
      name: this.prefix + spec.name,
      help: spec.help,
      labelNames: [...spec.labels.filter((l) => perJob || l !== 'job_name'), ...Object.keys(constant)],
      registers: [this.registry],
    });
    const labelsOf = (spec: MetricSpec) =>
      new LabelCache(
        constant,
        spec.labels.find((l) => l !== 'job_name'),
        perJob && spec.labels.includes('job_name'),
      );
    const counted = (spec: MetricSpec): Counted => ({ metric: new Counter(config(spec)), labels: labelsOf(spec) });
    const hosts = this.hosts;
    const built = this.registering(() => ({
      fires: counted(METRICS.fires),
      executions: counted(METRICS.executions),
      skips: counted(METRICS.skips),
      misfires: counted(METRICS.misfires),
      claimErrors: counted(METRICS.claimErrors),
      leaseErrors: counted(METRICS.leaseErrors),
      storeErrors: counted(METRICS.storeErrors),
      errors: counted(METRICS.errors),
      duration: {
        metric: new Histogram({
          ...config(METRICS.duration),
          buckets: [...(options.durationBuckets ?? METRICS.duration.buckets)],
        }),
        labels: labelsOf(METRICS.duration),
      },
      lateness: {
        metric: new Histogram({
          ...config(METRICS.lateness),
          buckets: [...(options.latenessBuckets ?? METRICS.lateness.buckets)],
        }),
        labels: labelsOf(METRICS.lateness),
      },
      gauges: [
        new Gauge({
          ...config(METRICS.running),
          collect() {
            this.set(
              constant,
              total(hosts, (h) => h.load().running),
            );
          },
        }),
        new Gauge({
          ...config(METRICS.queued),
          collect() {
            this.set(
              constant,
              total(hosts, (h) => h.load().queued),
            );
          },
        }),
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
      case 'fire':
        this.fires.metric.inc(this.fires.labels.get(event.jobName, event.kind));
        return;
      case 'start':
        if (event.lateMs !== undefined) {
          this.lateness.metric.observe(this.lateness.labels.get(event.jobName), Math.max(0, event.lateMs) / 1_000);
        }
        return;
      case 'execution': {
        const { jobName, status, durationMs } = event.outcome;
        this.executions.metric.inc(this.executions.labels.get(jobName, status));
        if (status !== 'abandoned') this.duration.metric.observe(this.duration.labels.get(jobName, status), durationMs / 1_000);
        return;
      }
      case 'abandoned':
        this.executions.metric.inc(this.executions.labels.get(event.jobName, 'abandoned'));
        return;
      case 'skip':
        this.skips.metric.inc(this.skips.labels.get(event.jobName, event.reason));
        return;
      case 'misfire':
        this.misfires.metric.inc(this.misfires.labels.get(event.jobName, event.policy), event.count);
        return;
      case 'claim-error':
        this.claimErrors.metric.inc(this.claimErrors.labels.get(''));
        return;
      case 'lease-error':
        this.leaseErrors.metric.inc(this.leaseErrors.labels.get('', event.reason));
        return;
      case 'error':
        this.errors.metric.inc(this.errors.labels.get('', event.operation));
        if (isStoreUnavailable(event.error)) this.storeErrors.metric.inc(this.storeErrors.labels.get('', event.operation));
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
