import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { Logger } from '@sched/core';
import { RedisServer, canRunRedis } from '@sched/testkit';
import { RedisConnection } from '@sched/redis';
import { RedisPubSub } from '../src/index.js';

function recordingLogger() {
  const lines: Array<{ level: string; msg: string; fields?: Record<string, unknown> }> = [];
  const log = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    lines.push({ level, msg, ...(fields ? { fields } : {}) });
  };
  const logger: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
  return { lines, logger };
}

/** Subscribes (resolving once Redis acknowledged it) and returns the promise of the next message. */
async function nextMessage(pubsub: RedisPubSub, channel: string): Promise<{ next: Promise<unknown> }> {
  let arrived: (m: unknown) => void = () => {};
  const next = new Promise<unknown>((resolve) => (arrived = resolve));
  const off = await pubsub.subscribe(channel, (m) => {
    void off();
    arrived(m);
  });
  // Wrapped: an async function returning a bare promise would wait for it.
  return { next };
}

describe.skipIf(!canRunRedis())('RedisPubSub', () => {
  let server: RedisServer;
  const clients: Redis[] = [];
  const connect = () => {
    const c = new Redis(server.url, { maxRetriesPerRequest: 2 });
    c.on('error', () => {});
    clients.push(c);
    return c;
  };
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await server?.dispose();
  });

  it('delivers JSON messages between two nodes under the key prefix', async () => {
    const a = new RedisPubSub(new RedisConnection(connect(), { keyPrefix: 'ps1' }), { nodeId: 'a' });
    const b = new RedisPubSub(new RedisConnection(connect(), { keyPrefix: 'ps1' }));
    expect(b.channelName('scheduler:nodes')).toBe('ps1:v1:scheduler:nodes');
    const seen: unknown[] = [];
    let done: (v: unknown[]) => void = () => {};
    const got = new Promise<unknown[]>((resolve) => (done = resolve));
    // Resolves once Redis acknowledged the SUBSCRIBE: nothing published after it is missed.
    await b.subscribe('scheduler:nodes', (m) => {
      seen.push(m);
      if (seen.length === 2) done(seen);
    });
    await a.publish('scheduler:nodes', { type: 'join', n: 1 });
    await a.publish('scheduler:nodes', [1, 'two']);
    expect(await got).toEqual([{ type: 'join', n: 1 }, [1, 'two']]);
  });

  it('prepares what publish sends, for a script on the same client to PUBLISH: the subscriber gets the message', async () => {
    const client = connect();
    const a = new RedisPubSub(new RedisConnection(client, { keyPrefix: 'ps5' }), { nodeId: 'a', maxMessageBytes: 200 });
    const b = new RedisPubSub(new RedisConnection(connect(), { keyPrefix: 'ps5' }));
    const prepared = a.prepare('scheduler:claimed', { node: 'a', claimed: [[1, ['j']]] });
    expect(prepared.transport).toBe(client);
    expect(prepared.channel).toBe('ps5:v1:scheduler:claimed');
    const { next } = await nextMessage(b, 'scheduler:claimed');
    // What a claim script does with it: PUBLISH channel payload.
    await client.eval("return redis.call('PUBLISH', ARGV[1], ARGV[2])", 0, prepared.channel, prepared.payload);
    expect(await next).toEqual({ node: 'a', claimed: [[1, ['j']]] });
    // The size limit holds for what is prepared as for what is published.
    expect(() => a.prepare('scheduler:claimed', 'x'.repeat(300))).toThrow(/exceeds 200/);
    await expect(a.publish('scheduler:claimed', 'x'.repeat(300))).rejects.toThrow(/exceeds 200/);
  });

  it('logs and drops malformed payloads; the subscriber keeps receiving', async () => {
    const { lines, logger } = recordingLogger();
    const conn = new RedisConnection(connect(), { keyPrefix: 'ps2' });
    const sub = new RedisPubSub(conn, { logger, maxMessageBytes: 1_000 });
    const received: unknown[] = [];
    let arrived: () => void = () => {};
    const good = new Promise<void>((resolve) => (arrived = resolve));
    await sub.subscribe('ch', (m) => {
      received.push(m);
      arrived();
    });
    const raw = connect();
    const channel = sub.channelName('ch');
    for (const bad of ['not json', '{"v":2,"ts":1,"msg":1}', '{"v":1,"msg":"no ts"}', 'null', 'x'.repeat(2_000)])
      await raw.publish(channel, bad);
    // Redis delivers in order: once the good one arrives, every bad one was handled.
    await new RedisPubSub(conn).publish('ch', { ok: true });
    await good;
    expect(received).toEqual([{ ok: true }]);
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([
      'pubsub message is not JSON; dropped',
      'pubsub message is not a sched envelope; dropped',
      'pubsub message is not a sched envelope; dropped',
      'pubsub message is not a sched envelope; dropped',
      'pubsub message too large; dropped',
    ]);
    await expect(sub.publish('ch', 'y'.repeat(2_000))).rejects.toThrow(/exceeds 1000/);
  });

  it('a throwing handler is logged and does not stop the others', async () => {
    const { lines, logger } = recordingLogger();
    const ps = new RedisPubSub(new RedisConnection(connect(), { keyPrefix: 'ps3' }), { logger });
    await ps.subscribe('ch', () => {
      throw new Error('bug in a handler');
    });
    const good = await nextMessage(ps, 'ch');
    await ps.publish('ch', 1);
    expect(await good.next).toBe(1);
    expect(lines.some((l) => l.level === 'error' && l.msg.includes('handler threw'))).toBe(true);
  });

  it('re-subscribes after Redis restarts', async () => {
    const own = await RedisServer.start();
    try {
      const sub = new Redis(own.url, { maxRetriesPerRequest: 2, retryStrategy: () => 50 });
      const pubClient = new Redis(own.url, { maxRetriesPerRequest: 2, retryStrategy: () => 50 });
      for (const c of [sub, pubClient]) c.on('error', () => {});
      const receiver = new RedisPubSub(new RedisConnection(sub, { keyPrefix: 'ps4' }));
      const sender = new RedisPubSub(new RedisConnection(pubClient, { keyPrefix: 'ps4' }));
      const received: unknown[] = [];
      await receiver.subscribe('ch', (m) => received.push(m));
      await own.restart();
      // Publish until the re-subscribed connection hears one (the reconnect takes a few tens of ms).
      const deadline = Date.now() + 10_000;
      while (received.length === 0 && Date.now() < deadline) {
        await sender.publish('ch', 'after restart').catch(() => undefined);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(received[0]).toBe('after restart');
      await receiver.connection.close();
      sub.disconnect();
      pubClient.disconnect();
    } finally {
      await own.dispose();
    }
  });
});
