/** @sched/pubsub — core's PubSub port on Redis: validated JSON envelopes on one subscriber connection. */
export { RedisPubSub } from './redis-pubsub.js';
export type { RedisPubSubOptions, Envelope } from './redis-pubsub.js';
