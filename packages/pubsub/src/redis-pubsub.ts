import { z } from 'zod';
import { silentLogger, type Logger, type PreparedMessage, type PubSub, type Unsubscribe } from '@sched/core';
import { connectionOf, type RedisConnection } from '@sched/redis';

/** What travels on the wire: a versioned envelope around the JSON message. */
const Envelope = z.object({
  v: z.literal(1),
  /** Sender's node id, when the publisher has one (for logs). */
  from: z.string().max(200).optional(),
  /** Epoch ms at publish. */
  ts: z.number(),
  msg: z.unknown(),
});
export type Envelope = z.infer<typeof Envelope>;

export interface RedisPubSubOptions {
  /** Named in every envelope this instance publishes. */
  nodeId?: string;
  logger?: Logger;
  /** Messages larger than this are refused at publish and dropped at receipt. @default 1 MiB */
  maxMessageBytes?: number;
}

/**
 * PubSub on Redis. Channels are namespaced under the connection's prefix
 * (`sched:v1:scheduler:nodes`), messages travel as JSON envelopes
 * (`{ v: 1, from, ts, msg }`) validated with zod on receipt; anything else
 * (not JSON, another shape, too large) is logged and dropped, never thrown into
 * a handler. Uses the connection's one subscriber connection, which ioredis
 * re-subscribes after a reconnect. A handler that throws is logged; the others
 * still run.
 */
export class RedisPubSub implements PubSub {
  readonly connection: RedisConnection;
  private readonly logger: Logger;
  private readonly nodeId: string | undefined;
  private readonly maxBytes: number;

  constructor(source: RedisConnection | { connection: RedisConnection }, options: RedisPubSubOptions = {}) {
    this.connection = connectionOf(source);
    this.logger = options.logger ?? (this.connection.logger === silentLogger ? silentLogger : this.connection.logger);
    this.nodeId = options.nodeId;
    this.maxBytes = options.maxMessageBytes ?? 1 << 20;
  }

  /** The Redis channel behind a sched channel name. */
  channelName(channel: string): string {
    return this.connection.key(channel);
  }

  async publish(channel: string, message: unknown): Promise<void> {
    const { channel: name, payload } = this.prepare(channel, message);
    await this.connection.publish(name, payload);
  }

  /**
   * The envelope `publish` would send, for a script on this connection's client to
   * `PUBLISH` itself (the transport is the client: a lock manager on another one does not).
   */
  prepare(channel: string, message: unknown): PreparedMessage {
    const envelope: Envelope = { v: 1, ts: Date.now(), msg: message };
    if (this.nodeId !== undefined) envelope.from = this.nodeId;
    const payload = JSON.stringify(envelope);
    if (Buffer.byteLength(payload) > this.maxBytes) {
      throw new RangeError(
        `sched: publish on ${channel}: message of ${Buffer.byteLength(payload)} bytes exceeds ${this.maxBytes}`,
      );
    }
    return { transport: this.connection.client, channel: this.channelName(channel), payload };
  }

  async subscribe(channel: string, handler: (message: unknown, channel: string) => void): Promise<Unsubscribe> {
    return this.connection.subscribe(this.channelName(channel), (raw) => {
      const envelope = this.parse(channel, raw);
      if (!envelope) return;
      try {
        handler(envelope.msg, channel);
      } catch (error) {
        this.logger.error('pubsub handler threw; message dropped', { channel, error });
      }
    });
  }

  private parse(channel: string, raw: string): Envelope | undefined {
    if (raw.length > this.maxBytes) {
      this.logger.warn('pubsub message too large; dropped', { channel, bytes: raw.length });
      return undefined;
    }
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      this.logger.warn('pubsub message is not JSON; dropped', { channel, sample: raw.slice(0, 120) });
      return undefined;
    }
    const parsed = Envelope.safeParse(json);
    if (!parsed.success) {
      this.logger.warn('pubsub message is not a sched envelope; dropped', {
        channel,
        issues: parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`),
      });
      return undefined;
    }
    return parsed.data;
  }
}
