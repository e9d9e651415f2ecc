export type Labels = Record<string, string>;

/**
 * The label objects of one metric, built once per (job, value) and reused:
 * `record` runs for every execution, and a fresh object per call would be
 * most of its cost. Constant labels are merged in when an object is built.
 */
export class LabelCache {
  private readonly cache = new Map<string, Map<string, Labels>>();

  /**
   * @param valueLabel the metric's label besides `job_name` (`status`, `kind`…), if any
   * @param perJob whether the metric carries `job_name`
   */
  constructor(
    private readonly constant: Labels,
    private readonly valueLabel: string | undefined,
    private readonly perJob: boolean,
  ) {}

  get(jobName: string, value = ''): Labels {
    const job = this.perJob ? jobName : '';
    let byValue = this.cache.get(job);
    if (!byValue) {
      byValue = new Map();
      this.cache.set(job, byValue);
    }
    let labels = byValue.get(value);
    if (!labels) {
      labels = { ...this.constant };
      if (this.perJob) labels.job_name = jobName;
      if (this.valueLabel) labels[this.valueLabel] = value;
      byValue.set(value, labels);
    }
    return labels;
  }
}
