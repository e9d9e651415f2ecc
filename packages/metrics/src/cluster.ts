import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  Channels,
  InvalidArgumentError,
  type ClusterMetrics,
  type ClusterMetricsOptions,
  type JobMetrics,
  type MetricsHost,
  type SchedulerMetrics,
  type Unsubscribe,
} from '@sched/core';
import { aggregateMetrics } from './aggregate.js';

const DEFAULT_TIMEOUT_MS = 2_000;
const MAX_JOB_NAMES = 10_000;

const count = z.number().int().nonnegative();
const statuses = z.enum(['running', 'completed', 'failed', 'timeout', 'skipped', 'misfired', 'abandoned', 'cancelled']);

/** JobMetrics on the wire: the last execution's time as epoch ms (JSON has no Date). */
const wireJob = z.object({
  executionCount: count,
  attemptCount: count,
  fireCount: count,
  successCount: count,
  failureCount: count,
  timeoutCount: count,
  abandonedCount: count,
  cancelledCount: count,
  skippedCount: count,
  misfireCount: count,
  successRate: z.number().min(0).max(1),
  avgExecutionTimeMs: z.number().nonnegative(),
  p95ExecutionTimeMs: z.number().nonnegative(),
  lastExecutionAt: z.number().nullable(),
  lastStatus: statuses.nullable(),
});
type WireJob = z.infer<typeof wireJob>;

const requestSchema = z.object({
  v: z.literal(1),
  requestId: z.string().min(1).max(100),
  replyTo: z.string().min(1).max(200),
  jobNames: z.array(z.string()).max(MAX_JOB_NAMES).optional(),
});
type MetricsRequest = z.infer<typeof requestSchema>;

const replySchema = z.object({
  v: z.literal(1),
  requestId: z.string(),
  metrics: z.object({
    nodeId: z.string().min(1),
    running: count,
    queued: count,
    totals: wireJob,
    jobs: z.record(z.string(), wireJob),
  }),
});

const toWire = (m: JobMetrics): WireJob => ({
  ...m,
  lastExecutionAt: m.lastExecutionAt?.getTime() ?? null,
  lastStatus: m.lastStatus ?? null,
});

const fromWire = (m: WireJob): JobMetrics => ({
  ...m,
  lastExecutionAt: m.lastExecutionAt === null ? undefined : new Date(m.lastExecutionAt),
  lastStatus: m.lastStatus ?? undefined,
});

interface Waiting {
  expected: Set<string>;
  replies: Map<string, SchedulerMetrics>;
  done: () => void;
}

/**
 * Gathers every live node's counters over the PubSub port: a request on
 * `scheduler:metrics:request`, each node with a collector attached answers on
 * the asker's `scheduler:metrics:reply:<nodeId>`. No store of its own, so
 * it works on Redis pub/sub and on the embedded in-process one alike.
 * Malformed messages are logged and dropped.
 */
export class ClusterMetricsGatherer {
  private readonly subscriptions = new Map<MetricsHost, Unsubscribe[]>();
  private readonly waiting = new Map<string, Waiting>();
  /** Hosts that only ask (a console, a CLI): they answer no request and are no node of the aggregate. */
  private readonly observers = new Set<MetricsHost>();

  /** `observer`: this host asks but is not a node (it neither answers requests nor counts itself). */
  async attach(host: MetricsHost, options: { observer?: boolean } = {}): Promise<void> {
    if (this.subscriptions.has(host)) return;
    const offs: Unsubscribe[] = [];
    this.subscriptions.set(host, offs);
    if (options.observer) this.observers.add(host);
    else offs.push(await host.pubsub.subscribe(Channels.metricsRequest, (message) => void this.answer(host, message)));
    offs.push(await host.pubsub.subscribe(Channels.metricsReply + host.nodeId, (message) => this.onReply(host, message)));
  }

  async detach(host: MetricsHost): Promise<void> {
    const offs = this.subscriptions.get(host) ?? [];
    this.subscriptions.delete(host);
    this.observers.delete(host);
    await Promise.all(offs.map((off) => off()));
  }

  async gather(host: MetricsHost, options: ClusterMetricsOptions = {}): Promise<ClusterMetrics> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
      throw new InvalidArgumentError('getClusterMetrics', `timeoutMs must be a positive integer, got ${String(timeoutMs)}`);
    }
    if (options.jobNames && options.jobNames.length > MAX_JOB_NAMES) {
      throw new InvalidArgumentError('getClusterMetrics', `at most ${MAX_JOB_NAMES} job names, got ${options.jobNames.length}`);
    }
    const jobNames = options.jobNames ? [...options.jobNames] : undefined;
    const observer = this.observers.has(host);
    const local = observer ? [] : [host.getMetrics(jobNames ? { jobNames } : {})];
    const others = (await host.getNodes()).map((n) => n.nodeId).filter((id) => id !== host.nodeId);
    if (others.length === 0) return aggregateMetrics(local, []);

    const requestId = randomUUID();
    const waiting: Waiting = { expected: new Set(others), replies: new Map(), done: () => undefined };
    const answered = new Promise<void>((resolve) => (waiting.done = resolve));
    this.waiting.set(requestId, waiting);
    let timer: NodeJS.Timeout | undefined;
    try {
      const request: MetricsRequest = { v: 1, requestId, replyTo: host.nodeId, ...(jobNames ? { jobNames } : {}) };
      await host.pubsub.publish(Channels.metricsRequest, request);
      await Promise.race([answered, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    } finally {
      clearTimeout(timer);
      this.waiting.delete(requestId);
    }
    const missing = others.filter((id) => !waiting.replies.has(id));
    if (missing.length > 0) {
      host.logger.warn('cluster metrics: some live nodes did not answer in time', { missing, timeoutMs });
    }
    waiting.replies.delete(host.nodeId);
    return aggregateMetrics([...local, ...waiting.replies.values()], missing);
  }

  private async answer(host: MetricsHost, message: unknown): Promise<void> {
    const parsed = requestSchema.safeParse(message);
    if (!parsed.success) {
      host.logger.warn('cluster metrics: malformed request dropped', { issues: parsed.error.issues.slice(0, 3) });
      return;
    }
    const { requestId, replyTo, jobNames } = parsed.data;
    // The asker counts itself without a round trip.
    if (replyTo === host.nodeId) return;
    const m = host.getMetrics(jobNames ? { jobNames } : {});
    const jobs: Record<string, WireJob> = {};
    for (const [name, job] of Object.entries(m.jobs)) jobs[name] = toWire(job);
    const reply = { v: 1, requestId, metrics: { ...m, totals: toWire(m.totals), jobs } };
    try {
      await host.pubsub.publish(Channels.metricsReply + replyTo, reply);
    } catch (error) {
      host.logger.warn('cluster metrics: could not answer a request', { replyTo, error });
    }
  }

  private onReply(host: MetricsHost, message: unknown): void {
    const parsed = replySchema.safeParse(message);
    if (!parsed.success) {
      host.logger.warn('cluster metrics: malformed reply dropped', { issues: parsed.error.issues.slice(0, 3) });
      return;
    }
    const waiting = this.waiting.get(parsed.data.requestId);
    if (!waiting) return; // an answer after the timeout
    const m = parsed.data.metrics;
    const jobs: Record<string, JobMetrics> = {};
    for (const [name, job] of Object.entries(m.jobs)) jobs[name] = fromWire(job);
    waiting.replies.set(m.nodeId, { nodeId: m.nodeId, running: m.running, queued: m.queued, totals: fromWire(m.totals), jobs });
    waiting.expected.delete(m.nodeId);
    if (waiting.expected.size === 0) waiting.done();
  }
}
