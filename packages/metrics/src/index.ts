export { MetricsCollector } from './collector.js';
export type { MetricsCollectorOptions } from './collector.js';
export { withMetrics } from './with-metrics.js';
export { metricsHandler } from './http.js';
export { aggregateMetrics, sumJobMetrics } from './aggregate.js';
export { ClusterMetricsGatherer } from './cluster.js';
export { METRICS, DURATION_BUCKETS, LATENESS_BUCKETS } from './metric-table.js';
export type { MetricSpec, MetricKind } from './metric-table.js';
