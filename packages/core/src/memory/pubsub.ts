import { StoreUnavailableError } from '../errors.js';
import type { PubSub, Unsubscribe } from '../ports/pubsub.js';
import type { Logger } from '../ports/logger.js';
import { silentLogger } from '../ports/logger.js';

type Handler = (message: unknown, channel: string) => void;

/** The shared bus behind several `MemoryPubSub`s (one per simulated node). */
export class MemoryPubSubHub {
  private readonly channels = new Map<string, Set<Handler>>();
  private available = true;

  setAvailable(available: boolean): void {
    this.available = available;
  }

  publish(channel: string, message: unknown): void {
    if (!this.available) throw new StoreUnavailableError('publish', 'the memory pub/sub is unavailable (fault injected)');
    // A JSON round trip, as on the wire: what cannot be serialised fails here, not in a subscriber.
    const wire = JSON.stringify(message);
    const handlers = this.channels.get(channel);
    if (!handlers) return;
    for (const handler of [...handlers]) queueMicrotask(() => handler(JSON.parse(wire) as unknown, channel));
  }

  subscribe(channel: string, handler: Handler): () => void {
    let set = this.channels.get(channel);
    if (!set) {
      set = new Set();
      this.channels.set(channel, set);
    }
    set.add(handler);
    return () => set.delete(handler);
  }
}

/**
 * PubSub in memory. Messages are delivered asynchronously after a JSON round
 * trip; a handler that throws is logged and does not affect other handlers.
 * Pass one `MemoryPubSubHub` to several instances to connect them.
 */
export class MemoryPubSub implements PubSub {
  readonly hub: MemoryPubSubHub;
  private readonly logger: Logger;

  constructor(options: { hub?: MemoryPubSubHub; logger?: Logger } = {}) {
    this.hub = options.hub ?? new MemoryPubSubHub();
    this.logger = options.logger ?? silentLogger;
  }

  async publish(channel: string, message: unknown): Promise<void> {
    this.hub.publish(channel, message);
  }

  async subscribe(channel: string, handler: (message: unknown, channel: string) => void): Promise<Unsubscribe> {
    const off = this.hub.subscribe(channel, (message, ch) => {
      try {
        handler(message, ch);
      } catch (error) {
        this.logger.error('pubsub handler threw; message dropped', { channel: ch, error });
      }
    });
    return async () => off();
  }
}
