import type { CounterSeries, HistogramSeries, ResetCount } from './series.js';

/**
 * The series one job's executions count in, held together so that an event
 * costs one lookup by job name. Each metric's `SeriesCache` is a map of maps
 * (job, then status or kind): at thousands of jobs a second, the four
 * lookups a fire made there were each a few cache misses, about a tenth of a
 * node's CPU in a burst. A job keeps the series of the value it saw last
 * (`completed`, `cron`: almost always the same) and asks the cache again
 * only when it changes.
 */
export class JobSeries {
  fireKind = '';
  fires: CounterSeries | undefined;
  lateness: HistogramSeries | undefined;
  status = '';
  executions: CounterSeries | undefined;
  /** Undefined for `abandoned` (its duration is not observed). */
  duration: HistogramSeries | undefined;
}

/**
 * Every job's `JobSeries`, dropped whole when the registry is reset (the series they hold are
 * gone). Without a `job_name` label (`perJob: false`) every job shares one.
 */
export class JobSeriesTable {
  private readonly jobs = new Map<string, JobSeries>();
  private resetsSeen: number;

  constructor(
    private readonly resets: ResetCount,
    private readonly perJob: boolean,
  ) {
    this.resetsSeen = resets.count;
  }

  of(name: string): JobSeries {
    const jobName = this.perJob ? name : '';
    if (this.resetsSeen !== this.resets.count) {
      this.jobs.clear();
      this.resetsSeen = this.resets.count;
    }
    let job = this.jobs.get(jobName);
    if (job === undefined) {
      job = new JobSeries();
      this.jobs.set(jobName, job);
    }
    return job;
  }
}
