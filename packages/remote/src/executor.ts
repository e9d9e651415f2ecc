import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  ExecuteTimeoutError,
  InvalidArgumentError,
  SchedulerStateError,
  UnknownJobError,
  toRemoteOutcome,
  validateExecuteRequest,
  type ExecuteRequest,
  type ExecuteResult,
  type RemoteExecutor,
  type RemoteOutcome,
  type SchedulerHost,
} from '@sched/core';
import { connectionOf, type RedisConnection } from '@sched/redis';
import { EXECUTE_CHANNEL, parseEnvelope, signEnvelope, type Envelope, type EnvelopeRejection } from './envelope.js';
import { RemoteRouter } from './router.js';

export interface ClusterRemoteExecutorOptions {
  /** HMAC secret shared by every node and sender; without it remote execution is unauthenticated (a warning at start). */
  executeSecret?: string;
  /** A signed message further than this from the receiver's clock is refused as stale. @default 30000 */
  maxSkewMs?: number;
  /** `'failover'`: how long each node in turn has to accept before the next one may. @default 2000 */
  hopTimeoutMs?: number;
  /** `execute()` without `timeoutMs` waits this long for the outcomes. @default 60000 */
  defaultTimeoutMs?: number;
}

/**
 * The execute channel of one node: `execute()` publishes a routed envelope on
 * each target's own channel, so only the nodes that run it read it (a raw
 * message goes to `scheduler:execute:global`, which every node reads). Under
 * the connection's key prefix (`RedisConnection.prefix`, e.g. `sched:v1`), so two
 * clusters on one Redis with different prefixes never read each other's, even
 * with the same node ids.
 */
export const nodeChannelOf = (prefix: string, nodeId: string): string => `${prefix}:execute:node:${nodeId}`;

/** The reply channel of a node (under the key prefix, as `nodeChannelOf`): outcomes of the messages it sent. */
export const replyChannelOf = (prefix: string, nodeId: string): string => `${prefix}:execute:reply:${nodeId}`;

/** An outcome on a reply channel: `{ messageId, nodeId, outcome }` (any sender may read them with it). */
export const executeReplySchema = z.object({
  messageId: z.string(),
  nodeId: z.string(),
  outcome: z.object({
    nodeId: z.string(),
    executionId: z.string(),
    status: z.enum(['completed', 'failed', 'timeout', 'skipped', 'misfired', 'abandoned', 'cancelled']),
    startedAt: z.number(),
    finishedAt: z.number(),
    error: z.object({ message: z.string(), name: z.string(), code: z.string().optional() }).optional(),
    skipReason: z
      .enum(['overlap', 'paused', 'circuit-open', 'dependency-failed', 'not-owner', 'stopping', 'saturated'])
      .optional(),
  }),
});

/** A reply's outcome as `execute()` returns it (times as Dates). */
export function outcomeOf(reply: z.infer<typeof executeReplySchema>): RemoteOutcome {
  const o = reply.outcome;
  return {
    nodeId: o.nodeId,
    executionId: o.executionId,
    status: o.status,
    startedAt: new Date(o.startedAt),
    finishedAt: new Date(o.finishedAt),
    ...(o.error ? { error: o.error } : {}),
    ...(o.skipReason ? { skipReason: o.skipReason } : {}),
  };
}

const cancelReplySchema = z.object({ messageId: z.string(), nodeId: z.string(), cancelled: z.literal(true) });

interface PendingCancel {
  resolve: (found: boolean) => void;
}

interface Pending {
  waiting: Set<string>;
  outcomes: RemoteOutcome[];
  done: () => void;
}

/**
 * The `RemoteExecutor` of a cluster (SPEC.md §10), on the wire protocol of
 * this package: `execute()` routes the message once (`RemoteRouter`), then
 * publishes it on each target's channel (`nodeChannelOf`); a raw `PUBLISH`
 * from any Redis client goes to `scheduler:execute:global`, which every node
 * reads and routes once for all. The targets run it through their scheduler (chain, snapshots, `maxConcurrency`, timeout;
 * at most once per node) and publish their outcome on the message's
 * `replyTo`. `'failover'`: the targets in turn, each after `hopTimeoutMs`
 * per place, take the message only if no earlier one accepted it, so a node
 * that accepted is never bypassed.
 */
export class ClusterRemoteExecutor implements RemoteExecutor {
  readonly connection: RedisConnection;
  readonly router: RemoteRouter;
  private host: SchedulerHost | undefined;
  private readonly unsubscribes: Array<() => Promise<void>> = [];
  private readonly pending = new Map<string, Pending>();
  private readonly pendingCancels = new Map<string, PendingCancel>();
  /** Messages refused, by reason (for metrics and tests). */
  readonly rejected: Record<EnvelopeRejection, number> = {
    'too-large': 0,
    'not-json': 0,
    malformed: 0,
    unsigned: 0,
    'bad-signature': 0,
    stale: 0,
  };

  constructor(
    source: RedisConnection | { connection: RedisConnection },
    private readonly options: ClusterRemoteExecutorOptions = {},
  ) {
    this.connection = connectionOf(source);
    this.router = new RemoteRouter(this.connection);
    for (const name of ['maxSkewMs', 'hopTimeoutMs', 'defaultTimeoutMs'] as const) {
      const v = options[name];
      if (v !== undefined && (!Number.isInteger(v) || v < 1)) {
        throw new InvalidArgumentError('ClusterRemoteExecutor', `${name} must be a positive integer, got ${String(v)}`);
      }
    }
  }

  async attach(host: SchedulerHost): Promise<void> {
    this.host = host;
    if (this.options.executeSecret === undefined) {
      host.logger.warn(
        'remote execution is unauthenticated: anyone who can publish to this Redis can run jobs (set executeSecret)',
      );
    }
    this.unsubscribes.push(
      await this.connection.subscribe(EXECUTE_CHANNEL, (raw) => void this.onMessage(raw)),
      await this.connection.subscribe(nodeChannelOf(this.connection.prefix, host.nodeId), (raw) => void this.onMessage(raw)),
      await this.connection.subscribe(replyChannelOf(this.connection.prefix, host.nodeId), (raw) => this.onReply(raw)),
    );
  }

  async detach(): Promise<void> {
    for (const off of this.unsubscribes.splice(0)) await off();
    this.host = undefined;
  }

  async execute(request: ExecuteRequest): Promise<ExecuteResult> {
    const host = this.host;
    if (!host) throw new SchedulerStateError('execute', 'the scheduler is not started');
    validateExecuteRequest(request);
    const strategy = request.routeStrategy ?? 'first';
    const live = this.servingNodes(request.jobName);
    if (live.length === 0) throw new UnknownJobError('execute', request.jobName, 'is not served by any live node');
    const messageId = request.messageId ?? randomUUID();
    const timeoutMs = request.timeoutMs ?? this.options.defaultTimeoutMs ?? 60_000;
    const { targets } = await this.router.route(messageId, { jobName: request.jobName, strategy, nodeId: request.nodeId }, live);
    // 'failover' ends with one outcome (the node that accepted); the others, one each.
    const expected = strategy === 'failover' ? 1 : targets.length;
    let abandon = (): void => {};
    const result = new Promise<RemoteOutcome[]>((resolve, reject) => {
      // The job's own timeout, plus a second for the reply to travel.
      const timer = host.clock.setTimer(host.clock.now() + timeoutMs + 1_000, () => {
        this.pending.delete(messageId);
        const missing = strategy === 'failover' ? targets : [...entry.waiting];
        reject(new ExecuteTimeoutError('execute', request.jobName, timeoutMs, missing));
      });
      const entry: Pending = {
        waiting: new Set(targets),
        outcomes: [],
        done: () => {
          if (entry.outcomes.length < expected) return;
          host.clock.clearTimer(timer);
          this.pending.delete(messageId);
          resolve(entry.outcomes);
        },
      };
      this.pending.set(messageId, entry);
      abandon = () => {
        host.clock.clearTimer(timer);
        this.pending.delete(messageId);
      };
    });
    const envelope: Omit<Envelope, 'signature' | 'timestamp'> = {
      messageId,
      messageType: 'execute',
      jobName: request.jobName,
      routeStrategy: strategy,
      timeoutMs,
      replyTo: replyChannelOf(this.connection.prefix, host.nodeId),
      targets,
      ...(request.nodeId === undefined ? {} : { nodeId: request.nodeId }),
      ...(request.params === undefined ? {} : { params: request.params }),
    };
    try {
      // Routed already: each target reads it on its own channel; the other nodes never parse it.
      const body = JSON.stringify(this.sign(envelope));
      await Promise.all(targets.map((target) => this.connection.publish(nodeChannelOf(this.connection.prefix, target), body)));
    } catch (error) {
      // Not sent: nothing to wait for (the routed message expires unused).
      abandon();
      throw error;
    }
    const outcomes = await result;
    const timedOut = outcomes.filter((o) => o.status === 'timeout').map((o) => o.nodeId);
    if (timedOut.length > 0) throw new ExecuteTimeoutError('execute', request.jobName, timeoutMs, timedOut);
    return { messageId, outcomes: outcomes.sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1)) };
  }

  /** Aborts a running execution wherever it runs; false when no node answered that it had it (within 2 s). */
  async cancel(executionId: string): Promise<boolean> {
    const host = this.host;
    if (!host) return false;
    if (host.cancelLocal(executionId)) return true;
    const messageId = randomUUID();
    const answered = new Promise<boolean>((resolve) => {
      const timer = host.clock.setTimer(host.clock.now() + 2_000, () => {
        this.pendingCancels.delete(messageId);
        resolve(false);
      });
      this.pendingCancels.set(messageId, {
        resolve: (found) => {
          host.clock.clearTimer(timer);
          this.pendingCancels.delete(messageId);
          resolve(found);
        },
      });
    });
    await this.connection.publish(
      EXECUTE_CHANNEL,
      JSON.stringify(
        this.sign({
          messageId,
          messageType: 'cancel',
          executionId,
          replyTo: replyChannelOf(this.connection.prefix, host.nodeId),
        }),
      ),
    );
    return answered;
  }

  private sign(envelope: Omit<Envelope, 'signature' | 'timestamp'>): Envelope {
    return this.options.executeSecret === undefined ? envelope : signEnvelope(envelope, this.options.executeSecret);
  }

  /** The live nodes serving the job (this node only if it registered it). */
  private servingNodes(jobName: string): string[] {
    const host = this.host as SchedulerHost;
    return host.liveNodes(jobName).filter((n) => n !== host.nodeId || host.hasJob(jobName));
  }

  private async onMessage(raw: string): Promise<void> {
    const host = this.host;
    if (!host) return;
    const parsed = parseEnvelope(raw, {
      ...(this.options.executeSecret === undefined ? {} : { secret: this.options.executeSecret }),
      now: host.clock.now(),
      maxSkewMs: this.options.maxSkewMs ?? 30_000,
    });
    if (!parsed.ok) {
      this.rejected[parsed.reason] += 1;
      host.logger.warn('remote execution message refused', { reason: parsed.reason, detail: parsed.detail });
      return;
    }
    const m = parsed.envelope;
    try {
      if (m.messageType === 'cancel') {
        if (m.executionId !== undefined && host.cancelLocal(m.executionId) && m.replyTo !== undefined) {
          await this.connection.publish(
            m.replyTo,
            JSON.stringify({ messageId: m.messageId, nodeId: host.nodeId, cancelled: true }),
          );
        }
        return;
      }
      if (m.jobName === undefined) throw new InvalidArgumentError('execute', 'an execute message needs a jobName');
      if (!host.hasJob(m.jobName)) return; // not ours to run; the router never names a node that does not serve it
      const strategy = m.routeStrategy ?? 'first';
      // Routed by the sender (execute()), or now, once for everyone (a raw message).
      const targets =
        m.targets ??
        (await this.router.route(m.messageId, { jobName: m.jobName, strategy, nodeId: m.nodeId }, this.servingNodes(m.jobName)))
          .targets;
      const place = targets.indexOf(host.nodeId);
      if (place < 0) return;
      if (strategy === 'failover' && !(await this.acceptInTurn(m.messageId, m.jobName, place, targets.length))) return;
      const outcome = await host.runFire({
        jobName: m.jobName,
        // One fire record per message and node: a duplicate delivery loses its claim (at most once per node).
        fireId: `${m.jobName}@remote-${m.messageId}-${host.nodeId}`,
        kind: 'remote',
        ...(m.params === undefined ? {} : { params: m.params }),
        ...(m.timeoutMs === undefined ? {} : { timeoutMs: m.timeoutMs }),
        ...(strategy === 'sharding' ? { shard: { shardIndex: place, shardTotal: targets.length } } : {}),
      });
      if (m.replyTo !== undefined) {
        const o = toRemoteOutcome(outcome);
        // A duplicate delivery (claim lost: 'not-owner') is no outcome of its own.
        if (outcome.attempt === 0 && outcome.skipReason === 'not-owner') return;
        await this.connection.publish(
          m.replyTo,
          JSON.stringify({
            messageId: m.messageId,
            nodeId: host.nodeId,
            outcome: { ...o, startedAt: o.startedAt.getTime(), finishedAt: o.finishedAt.getTime() },
          }),
        );
      }
    } catch (error) {
      const e = error as Error & { code?: string };
      host.logger.warn('remote execution message not run', { messageId: m.messageId, error: e.message });
      // The sender learns why at once instead of waiting for its timeout.
      if (m.messageType === 'execute' && m.replyTo !== undefined) {
        const now = host.clock.now();
        const outcome = {
          nodeId: host.nodeId,
          executionId: '',
          status: 'failed',
          startedAt: now,
          finishedAt: now,
          error: { message: e.message, name: e.name, ...(typeof e.code === 'string' ? { code: e.code } : {}) },
        };
        await this.connection
          .publish(m.replyTo, JSON.stringify({ messageId: m.messageId, nodeId: host.nodeId, outcome }))
          .catch(() => undefined);
      }
    }
  }

  /**
   * `'failover'`: place `k` waits `k × hopTimeoutMs`, then takes the message
   * only if no earlier place accepted it. A busy node (no free slot, or a run
   * of an `overlapPrevent` job going) declines, so the next one gets it; the
   * last place takes it anyway (it queues).
   */
  private async acceptInTurn(messageId: string, jobName: string, place: number, places: number): Promise<boolean> {
    const host = this.host as SchedulerHost;
    if (place < places - 1 && host.isBusy(jobName)) return false;
    if (place > 0) {
      await new Promise<void>((r) => host.clock.setTimer(host.clock.now() + place * (this.options.hopTimeoutMs ?? 2_000), r));
    }
    return this.router.accept(messageId);
  }

  private onReply(raw: string): void {
    let body: z.infer<typeof executeReplySchema>;
    try {
      const data: unknown = JSON.parse(raw);
      const cancelled = cancelReplySchema.safeParse(data);
      if (cancelled.success) {
        this.pendingCancels.get(cancelled.data.messageId)?.resolve(true);
        return;
      }
      body = executeReplySchema.parse(data);
    } catch {
      this.host?.logger.warn('malformed remote execution reply ignored');
      return;
    }
    const entry = this.pending.get(body.messageId);
    if (!entry || !entry.waiting.delete(body.nodeId)) return;
    entry.outcomes.push(outcomeOf(body));
    entry.done();
  }
}
