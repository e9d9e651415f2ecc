import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { jobNameSchema } from '@sched/core';

/** The channel any Redis client may publish execute and cancel messages on (SPEC.md §10). */
export const EXECUTE_CHANNEL = 'scheduler:execute:global';

/** Envelopes larger than this (bytes of JSON) are rejected before parsing. */
export const MAX_ENVELOPE_BYTES = 64 * 1024;

export const routeStrategySchema = z.enum([
  'first',
  'last',
  'random',
  'round-robin',
  'broadcast',
  'sharding',
  'specific',
  'failover',
]);

/**
 * The wire envelope on `scheduler:execute:global` (JSON). `messageId` makes a
 * message run at most once per target; `replyTo` is the channel outcomes are
 * published on; `timestamp` and `signature` are required when the nodes have
 * an `executeSecret` (see `signEnvelope`).
 */
export const envelopeSchema = z.strictObject({
  messageId: z.string().min(1).max(200),
  messageType: z.enum(['execute', 'cancel']),
  jobName: jobNameSchema.optional(),
  routeStrategy: routeStrategySchema.optional(),
  timeoutMs: z.number().int().min(1).max(86_400_000).optional(),
  nodeId: z.string().min(1).max(200).optional(),
  params: z.record(z.string(), z.unknown()).optional(),
  replyTo: z.string().min(1).max(200).optional(),
  /**
   * The targets, when the sender routed the message already (`execute()` does):
   * receivers use them instead of routing again. A raw message leaves it out
   * and the first receiver routes it.
   */
  targets: z.array(z.string().min(1).max(200)).min(1).max(10_000).optional(),
  /** For `cancel`: the execution to abort. */
  executionId: z.string().min(1).max(200).optional(),
  timestamp: z.number().int().optional(),
  signature: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});
export type Envelope = z.infer<typeof envelopeSchema>;

/** JSON with object keys sorted at every level: the bytes a signature covers. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Hex HMAC-SHA256 over `timestamp + "." + canonicalJson(envelope without signature)`. */
export function signatureOf(envelope: Omit<Envelope, 'signature'> & { timestamp: number }, secret: string): string {
  const { signature: _ignored, ...rest } = envelope as Envelope;
  return createHmac('sha256', secret)
    .update(`${envelope.timestamp}.${canonicalJson(rest)}`)
    .digest('hex');
}

/** The envelope with `timestamp` (now, ms) and its `signature`. */
export function signEnvelope(envelope: Omit<Envelope, 'signature' | 'timestamp'>, secret: string, now = Date.now()): Envelope {
  const stamped = { ...envelope, timestamp: now };
  return { ...stamped, signature: signatureOf(stamped, secret) };
}

export type EnvelopeRejection = 'too-large' | 'not-json' | 'malformed' | 'unsigned' | 'bad-signature' | 'stale';

export type ParsedEnvelope = { ok: true; envelope: Envelope } | { ok: false; reason: EnvelopeRejection; detail: string };

/**
 * Checks a raw message from the channel: size, JSON, shape, and (with a
 * secret) the signature and its age — a message older or newer than
 * `maxSkewMs` is stale (a replay, or a clock far off).
 */
export function parseEnvelope(raw: string, options: { secret?: string; now?: number; maxSkewMs?: number } = {}): ParsedEnvelope {
  if (Buffer.byteLength(raw, 'utf8') > MAX_ENVELOPE_BYTES) {
    return { ok: false, reason: 'too-large', detail: `over ${MAX_ENVELOPE_BYTES} bytes` };
  }
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch (error) {
    return { ok: false, reason: 'not-json', detail: (error as Error).message };
  }
  const parsed = envelopeSchema.safeParse(data);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    return { ok: false, reason: 'malformed', detail: `${first?.path.join('.') || '(envelope)'}: ${first?.message ?? 'invalid'}` };
  }
  const envelope = parsed.data;
  if (options.secret !== undefined) {
    if (envelope.signature === undefined || envelope.timestamp === undefined) {
      return { ok: false, reason: 'unsigned', detail: 'timestamp and signature are required' };
    }
    const expected = Buffer.from(signatureOf({ ...envelope, timestamp: envelope.timestamp }, options.secret), 'hex');
    const given = Buffer.from(envelope.signature, 'hex');
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      return { ok: false, reason: 'bad-signature', detail: 'the signature does not match the envelope' };
    }
    const age = Math.abs((options.now ?? Date.now()) - envelope.timestamp);
    if (age > (options.maxSkewMs ?? 30_000)) {
      return { ok: false, reason: 'stale', detail: `timestamp is ${age} ms away from this node's clock` };
    }
  }
  return { ok: true, envelope };
}
