import { randomUUID } from 'node:crypto';
import { ExecuteTimeoutError, InvalidArgumentError, RouteError, SchedulerStateError, UnknownJobError } from '../errors.js';
import { RouteStrategy, type ExecutionOutcome } from '../model.js';
import type { ExecuteRequest, ExecuteResult, RemoteExecutor, RemoteOutcome } from '../ports/remote-executor.js';
import type { SchedulerHost } from '../ports/scheduler-host.js';

const strategies = new Set<string>(Object.values(RouteStrategy));

/**
 * The default RemoteExecutor: one process is the only node, so every route
 * strategy resolves to it (`'specific'` must name it). Runs go through the
 * same path as cron fires (chain, snapshots, metrics, `maxConcurrency`).
 */
export class LocalRemoteExecutor implements RemoteExecutor {
  private host: SchedulerHost | undefined;

  attach(host: SchedulerHost): void {
    this.host = host;
  }

  detach(): void {
    this.host = undefined;
  }

  async execute(request: ExecuteRequest): Promise<ExecuteResult> {
    const host = this.host;
    if (!host) throw new SchedulerStateError('execute', 'the scheduler is not started');
    validateExecuteRequest(request);
    const strategy = request.routeStrategy ?? 'first';
    if (strategy === 'specific' && request.nodeId !== host.nodeId) {
      throw new RouteError('execute', `node "${String(request.nodeId)}" is not a live node (this process is "${host.nodeId}")`);
    }
    if (!host.hasJob(request.jobName)) throw new UnknownJobError('execute', request.jobName, 'is not served by any live node');
    const messageId = request.messageId ?? randomUUID();
    const outcome = await host.runFire({
      jobName: request.jobName,
      kind: 'remote',
      ...(request.params ? { params: request.params } : {}),
      ...(request.timeoutMs !== undefined ? { timeoutMs: request.timeoutMs } : {}),
      ...(strategy === 'sharding' ? { shard: { shardIndex: 0, shardTotal: 1 } } : {}),
    });
    if (outcome.status === 'timeout' && request.timeoutMs !== undefined) {
      throw new ExecuteTimeoutError('execute', request.jobName, request.timeoutMs, [host.nodeId]);
    }
    return { messageId, outcomes: [toRemoteOutcome(outcome)] };
  }

  async cancel(executionId: string): Promise<boolean> {
    return this.host?.cancelLocal(executionId) ?? false;
  }
}

export function toRemoteOutcome(o: ExecutionOutcome): RemoteOutcome {
  const out: RemoteOutcome = {
    nodeId: o.nodeId,
    executionId: o.executionId,
    status: o.status,
    startedAt: o.startedAt,
    finishedAt: o.finishedAt,
  };
  if (o.error) out.error = o.error;
  if (o.skipReason) out.skipReason = o.skipReason;
  return out;
}

/** Checks an `execute` request (jobName, strategy, nodeId for `specific`, timeoutMs, params): `InvalidArgumentError`. */
export function validateExecuteRequest(request: ExecuteRequest): void {
  if (typeof request !== 'object' || request === null) throw new InvalidArgumentError('execute', 'the request must be an object');
  if (typeof request.jobName !== 'string' || request.jobName === '') {
    throw new InvalidArgumentError('execute', 'jobName must be a non-empty string');
  }
  if (request.routeStrategy !== undefined && !strategies.has(request.routeStrategy)) {
    throw new InvalidArgumentError(
      'execute',
      `unknown routeStrategy "${String(request.routeStrategy)}" (expected one of ${[...strategies].join(', ')})`,
    );
  }
  if (request.routeStrategy === 'specific' && typeof request.nodeId !== 'string') {
    throw new InvalidArgumentError('execute', "routeStrategy 'specific' needs a nodeId");
  }
  if (request.timeoutMs !== undefined && (!Number.isInteger(request.timeoutMs) || request.timeoutMs <= 0)) {
    throw new InvalidArgumentError('execute', `timeoutMs must be a positive integer, got ${String(request.timeoutMs)}`);
  }
  if (
    request.params !== undefined &&
    (typeof request.params !== 'object' || request.params === null || Array.isArray(request.params))
  ) {
    throw new InvalidArgumentError('execute', 'params must be a plain object');
  }
}
