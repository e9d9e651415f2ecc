import { Counter, Histogram, type CounterConfiguration, type HistogramConfiguration, type MetricType } from 'prom-client';

/** prom-client's typings declare the type a numeric enum that its runtime never uses: it writes the string. */
const typeName = (name: 'counter' | 'histogram') => name as unknown as MetricType;

export type Labels = Record<string, string>;

/** Counts the clears of a collector's series caches (a registry reset): what holds a series checks it. */
export interface ResetCount {
  count: number;
}

/**
 * The series of one metric, each built once per (job, value) with its label
 * object and reused: `record` runs for every execution, and prom-client's
 * own `inc(labels)` / `observe(labels, v)` validate and hash the labels on
 * every call (about half a microsecond each here). Constant labels are
 * merged in when a series is built.
 */
export class SeriesCache<S> {
  private readonly byJob = new Map<string, Map<string, S>>();

  /**
   * @param valueLabel the metric's label besides `job_name` (`status`, `kind`…), if any
   * @param perJob whether the metric carries `job_name`
   */
  constructor(
    private readonly constant: Labels,
    private readonly valueLabel: string | undefined,
    private readonly perJob: boolean,
    private readonly make: (labels: Labels) => S,
    private readonly resets: ResetCount,
  ) {}

  get(jobName: string, value = ''): S {
    const job = this.perJob ? jobName : '';
    let byValue = this.byJob.get(job);
    if (!byValue) {
      byValue = new Map();
      this.byJob.set(job, byValue);
    }
    let series = byValue.get(value);
    if (series === undefined) {
      const labels: Labels = {};
      if (this.perJob) labels.job_name = jobName;
      if (this.valueLabel) labels[this.valueLabel] = value;
      series = this.make(Object.assign(labels, this.constant));
      byValue.set(value, series);
    }
    return series;
  }

  *all(): IterableIterator<S> {
    for (const byValue of this.byJob.values()) yield* byValue.values();
  }

  /** Drops every series (they start again from zero); anyone holding one sees `resets` move. */
  clear(): void {
    this.byJob.clear();
    this.resets.count += 1;
  }
}

export interface SeriesOptions {
  constant: Labels;
  valueLabel: string | undefined;
  perJob: boolean;
  /** Shared by a collector's metrics. */
  resets: ResetCount;
}

export interface CounterSeries {
  labels: Labels;
  value: number;
}

/**
 * A prom-client `Counter` (registered, named and exported by prom-client)
 * whose series are plain numbers: `series(job, value).value += n` on the hot
 * path, read back when the registry is collected.
 */
export class SeriesCounter extends Counter {
  readonly series: SeriesCache<CounterSeries>;
  private readonly meta: { name: string; help: string };

  constructor(config: CounterConfiguration<string>, options: SeriesOptions) {
    super(config);
    this.meta = { name: config.name, help: config.help };
    this.series = new SeriesCache(
      options.constant,
      options.valueLabel,
      options.perJob,
      (labels) => ({ labels, value: 0 }),
      options.resets,
    );
  }

  override get(): ReturnType<Counter['get']> {
    return Promise.resolve({
      ...this.meta,
      type: typeName('counter'),
      aggregator: 'sum' as const,
      collect: () => undefined,
      values: [...this.series.all()].map((s) => ({ labels: { ...s.labels }, value: s.value })),
    });
  }

  override reset(): void {
    // prom-client's constructor calls reset() before this class's fields exist.
    (this.series as SeriesCache<unknown> | undefined)?.clear();
  }
}

export interface HistogramSeries {
  labels: Labels;
  /**
   * Observations per bucket (not cumulative); the last slot is above every bound. A plain
   * array of small integers, kept on the JS heap beside its series: a `Float64Array` of this
   * size has its bytes off-heap, one more cache miss for every observation.
   */
  counts: number[];
  sum: number;
  count: number;
}

/** The histogram counterpart of `SeriesCounter`: `observe(series, v)` is a bound search and three adds. */
export class SeriesHistogram extends Histogram {
  readonly series: SeriesCache<HistogramSeries>;
  private readonly bounds: number[];
  private readonly meta: { name: string; help: string };

  constructor(config: HistogramConfiguration<string> & { buckets: number[] }, options: SeriesOptions) {
    super(config);
    this.meta = { name: config.name, help: config.help };
    this.bounds = [...config.buckets];
    const slots = this.bounds.length + 1;
    this.series = new SeriesCache(
      options.constant,
      options.valueLabel,
      options.perJob,
      (labels) => ({ labels, counts: Array.from({ length: slots }, () => 0), sum: 0, count: 0 }),
      options.resets,
    );
  }

  observeIn(series: HistogramSeries, value: number): void {
    let i = 0;
    while (i < this.bounds.length && value > (this.bounds[i] as number)) i++;
    (series.counts[i] as number) += 1;
    series.sum += value;
    series.count += 1;
  }

  /** What the registry formats: `_bucket` (cumulative, `le` first as prom-client writes it), `_sum`, `_count`. */
  getForPromString(): ReturnType<Histogram['get']> {
    return Promise.resolve(this.export((le, labels) => ({ le, ...labels })));
  }

  override get(): ReturnType<Histogram['get']> {
    return Promise.resolve(this.export((le, labels) => ({ ...labels, le })));
  }

  override reset(): void {
    // prom-client's constructor calls reset() before this class's fields exist.
    (this.series as SeriesCache<unknown> | undefined)?.clear();
  }

  private export(withLe: (le: number | string, labels: Labels) => Record<string, string | number>) {
    const { name } = this.meta;
    const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
    for (const s of this.series.all()) {
      let acc = 0;
      this.bounds.forEach((bound, i) => {
        acc += s.counts[i] as number;
        values.push({ labels: withLe(bound, s.labels), value: acc, metricName: `${name}_bucket` });
      });
      values.push({ labels: withLe('+Inf', s.labels), value: s.count, metricName: `${name}_bucket` });
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${name}_count` });
    }
    return { ...this.meta, type: typeName('histogram'), aggregator: 'sum' as const, collect: () => undefined, values };
  }
}
