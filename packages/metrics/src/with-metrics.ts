import type { JobWrapper } from '@sched/core';
import type { MetricsCollector } from './collector.js';

/**
 * The chain's way to attach a collector (SPEC.md §6):
 * `new Chain(withRecover(), withMetrics(collector))`. It adds the collector
 * as a metrics sink of the scheduler the chain is given to and leaves every
 * job as it is (core reports each execution; nothing is wrapped per call).
 */
export function withMetrics(collector: MetricsCollector): JobWrapper {
  return Object.assign((job: Parameters<JobWrapper>[0]) => job, {
    attach: (host: Parameters<NonNullable<JobWrapper['attach']>>[0]) => host.addMetricsSink(collector),
  });
}
