/**
 * @sched/remote — remote execution for sched (SPEC.md §10): the wire
 * envelope (validated, optionally HMAC-signed), the once-only routing of a
 * message over the live nodes in Redis, and `ClusterRemoteExecutor`, the
 * `RemoteExecutor` of a cluster built on them.
 */
export {
  EXECUTE_CHANNEL,
  MAX_ENVELOPE_BYTES,
  canonicalJson,
  envelopeSchema,
  parseEnvelope,
  routeStrategySchema,
  signEnvelope,
  signatureOf,
} from './envelope.js';
export type { Envelope, EnvelopeRejection, ParsedEnvelope } from './envelope.js';
export { RemoteRouter } from './router.js';
export type { RouteDecision } from './router.js';
export { ClusterRemoteExecutor, executeReplySchema, nodeChannelOf, replyChannelOf } from './executor.js';
export type { ClusterRemoteExecutorOptions } from './executor.js';
export { requestExecution } from './request.js';
export type { RequestExecutionOptions, RequestedExecution } from './request.js';
