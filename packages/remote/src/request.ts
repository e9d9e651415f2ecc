import { randomUUID } from 'node:crypto';
import type { RedisConnection } from '@sched/redis';
import type { ExecuteRequest, RemoteOutcome } from '@sched/core';
import { EXECUTE_CHANNEL, signEnvelope, type Envelope } from './envelope.js';
import { executeReplySchema, outcomeOf } from './executor.js';

export interface RequestExecutionOptions {
  /** How many nodes answer: 1, or every live node serving the job for `'broadcast'` and `'sharding'`. */
  expected: number;
  /** The cluster's `executeSecret`, to sign with. */
  secret?: string;
  /** Who asks (names its reply channel). @default 'client' */
  requester?: string;
}

export interface RequestedExecution {
  messageId: string;
  routeStrategy: NonNullable<ExecuteRequest['routeStrategy']>;
  /** One per node that answered within the timeout, sorted by node id. */
  outcomes: RemoteOutcome[];
  /** `expected` minus the outcomes that came. */
  missing: number;
}

/**
 * Asks the cluster to run a job from a process that is no node (the CLI, the
 * console): publishes an execute envelope on the global channel, where the
 * nodes' `ClusterRemoteExecutor`s route it, and collects the outcomes on a
 * reply channel of its own until `expected` came or `timeoutMs` passed.
 * Resolves in both cases (`missing` says how many did not come).
 */
export async function requestExecution(
  connection: RedisConnection,
  request: ExecuteRequest,
  options: RequestExecutionOptions,
): Promise<RequestedExecution> {
  const messageId = request.messageId ?? randomUUID();
  const routeStrategy = request.routeStrategy ?? (request.nodeId === undefined ? 'first' : 'specific');
  const timeoutMs = request.timeoutMs ?? 30_000;
  const replyTo = `scheduler:execute:reply:${options.requester ?? 'client'}-${messageId}`;
  const body: Omit<Envelope, 'signature' | 'timestamp'> = {
    messageId,
    messageType: 'execute',
    jobName: request.jobName,
    routeStrategy,
    timeoutMs,
    replyTo,
    ...(request.nodeId === undefined ? {} : { nodeId: request.nodeId }),
    ...(request.params === undefined ? {} : { params: request.params }),
  };
  const envelope = options.secret ? signEnvelope(body, options.secret) : body;
  const outcomes = new Map<string, RemoteOutcome>();
  let done: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (done = resolve));
  const unsubscribe = await connection.subscribe(replyTo, (raw) => {
    const parsed = executeReplySchema.safeParse(safeJson(raw));
    if (!parsed.success || parsed.data.messageId !== messageId || outcomes.has(parsed.data.nodeId)) return;
    outcomes.set(parsed.data.nodeId, outcomeOf(parsed.data));
    if (outcomes.size >= options.expected) done();
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await connection.publish(EXECUTE_CHANNEL, JSON.stringify(envelope));
    await Promise.race([all, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  } finally {
    clearTimeout(timer);
    await unsubscribe().catch(() => undefined);
  }
  const sorted = [...outcomes.values()].sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  return { messageId, routeStrategy, outcomes: sorted, missing: Math.max(0, options.expected - sorted.length) };
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}
