/**
 * PubSub port: fire-and-forget messages between nodes.
 *
 * Messages are JSON values. Delivery is at most once and asynchronous; a
 * subscriber must validate what it receives (a malformed message is logged and
 * dropped, never thrown into the publisher). A handler that throws is logged
 * by the adapter and does not stop delivery to others.
 * Failure: `publish` rejects with `StoreUnavailableError` when the transport is
 * down; subscriptions are restored by the adapter after a reconnect.
 */
export interface PubSub {
  publish(channel: string, message: unknown): Promise<void>;
  /**
   * Optional: `message` encoded for `channel` as `publish` would send it, for
   * another adapter on the same transport to send within one of its own
   * commands (a claim publishes its announcement itself: see
   * `ClaimOptions.announce`). Throws what `publish` would refuse (too large).
   */
  prepare?(channel: string, message: unknown): PreparedMessage;
  subscribe(channel: string, handler: (message: unknown, channel: string) => void): Promise<Unsubscribe>;
}

export type Unsubscribe = () => Promise<void>;

/** A message encoded for its transport by `PubSub.prepare`. */
export interface PreparedMessage {
  /** The transport it is encoded for: an adapter sends it only when this is its own (the same client). */
  readonly transport: object;
  /** The channel as the transport names it (prefixed). */
  readonly channel: string;
  /** The bytes a subscriber receives. */
  readonly payload: string;
}

/** Channel names used by sched on the PubSub port. */
export const Channels = {
  /** Remote execution requests any Redis client may publish (SPEC.md §10). */
  executeGlobal: 'scheduler:execute:global',
  nodeEvents: 'scheduler:nodes',
  /** The fires a node's claims at an instant settled, so the others' sweep leaves them out (best effort). */
  claimed: 'scheduler:claimed',
  config: 'scheduler:config',
  /** Requests for every node's counters (`getClusterMetrics`); answers go to `metricsReply + nodeId`. */
  metricsRequest: 'scheduler:metrics:request',
  metricsReply: 'scheduler:metrics:reply:',
} as const;
