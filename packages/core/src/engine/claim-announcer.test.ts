import { describe, expect, it } from 'vitest';
import { ClaimAnnouncer } from './claim-announcer.js';
import { MemoryPubSub, MemoryPubSubHub } from '../memory/pubsub.js';
import { FakeClock } from '../testing/fake-clock.js';
import { silentLogger } from '../ports/logger.js';
import { Channels, type PubSub } from '../ports/pubsub.js';

const T0 = Date.UTC(2026, 10, 27);
const settle = () => new Promise((resolve) => setImmediate(resolve));

function pair() {
  const clock = new FakeClock(T0);
  const hub = new MemoryPubSubHub();
  const make = (nodeId: string) =>
    new ClaimAnnouncer({
      pubsub: new MemoryPubSub({ hub, logger: silentLogger }),
      clock,
      logger: silentLogger,
      nodeId,
      keepMs: 10_000,
      delayMs: 50,
    });
  return { clock, hub, a: make('a'), b: make('b'), raw: new MemoryPubSub({ hub, logger: silentLogger }) };
}

describe('ClaimAnnouncer', () => {
  it('tells the others which fires a claim settled; a node does not count its own announcements', async () => {
    const { clock, a, b } = pair();
    await a.attach();
    await b.attach();
    a.announce([
      { jobName: 'j1', instant: T0 },
      { jobName: 'j2', instant: T0 },
      { jobName: 'j1', instant: T0 + 1_000 },
    ]);
    await settle();
    // Sent after delayMs (the instant's starts go first).
    expect(b.claimedElsewhere({ jobName: 'j1', instant: T0 })).toBe(false);
    await clock.advance(50);
    await settle();
    expect(b.claimedElsewhere({ jobName: 'j1', instant: T0 })).toBe(true);
    expect(b.claimedElsewhere({ jobName: 'j2', instant: T0 })).toBe(true);
    expect(b.claimedElsewhere({ jobName: 'j1', instant: T0 + 1_000 })).toBe(true);
    expect(b.claimedElsewhere({ jobName: 'j2', instant: T0 + 1_000 })).toBe(false);
    expect(b.claimedElsewhere({ jobName: 'j3', instant: T0 })).toBe(false);
    expect(a.claimedElsewhere({ jobName: 'j1', instant: T0 })).toBe(false);
    await a.detach();
    await b.detach();
  });

  it('drops malformed announcements and what is older than keepMs, and forgets all at detach', async () => {
    const { clock, b, raw } = pair();
    await b.attach();
    for (const bad of [
      null,
      42,
      'x',
      { node: 1, claimed: [] },
      { node: 'c' },
      {
        node: 'c',
        claimed: [
          ['T', ['j']],
          [T0, 'j'],
        ],
      },
    ]) {
      await raw.publish(Channels.claimed, bad);
    }
    await raw.publish(Channels.claimed, { node: 'c', claimed: [[T0, ['ok', 7, 'ok2']]] });
    await settle();
    expect(b.claimedElsewhere({ jobName: 'ok', instant: T0 })).toBe(true);
    expect(b.claimedElsewhere({ jobName: 'ok2', instant: T0 })).toBe(true);
    expect(b.claimedElsewhere({ jobName: 'j', instant: T0 })).toBe(false);
    await clock.advance(20_000);
    await raw.publish(Channels.claimed, {
      node: 'c',
      claimed: [
        [T0, ['late']],
        [T0 + 20_000, ['now']],
      ],
    });
    await settle();
    expect(b.claimedElsewhere({ jobName: 'late', instant: T0 })).toBe(false);
    expect(b.claimedElsewhere({ jobName: 'ok', instant: T0 })).toBe(false);
    expect(b.claimedElsewhere({ jobName: 'now', instant: T0 + 20_000 })).toBe(true);
    await b.detach();
    expect(b.claimedElsewhere({ jobName: 'now', instant: T0 + 20_000 })).toBe(false);
  });

  it('a transport that refuses the subscription leaves the node sweeping everything; a failed publish is not thrown', async () => {
    const clock = new FakeClock(T0);
    const announcer = new ClaimAnnouncer({
      pubsub: {
        publish: () => Promise.reject(new Error('down')),
        subscribe: () => Promise.reject(new Error('down')),
      },
      clock,
      logger: silentLogger,
      nodeId: 'a',
      keepMs: 10_000,
      delayMs: 50,
    });
    await announcer.attach();
    announcer.announce([{ jobName: 'j', instant: T0 }]);
    await clock.advance(50);
    await settle();
    expect(announcer.claimedElsewhere({ jobName: 'j', instant: T0 })).toBe(false);
    await announcer.detach();
  });

  it('prepares for a claim to carry the message announce would send (heard the same), or nothing it cannot', async () => {
    const clock = new FakeClock(T0);
    const hub = new MemoryPubSubHub();
    const memory = new MemoryPubSub({ hub, logger: silentLogger });
    const make = (nodeId: string, prepare?: PubSub['prepare']) =>
      new ClaimAnnouncer({
        pubsub: {
          publish: (c, m) => memory.publish(c, m),
          subscribe: (c, h) => memory.subscribe(c, h),
          ...(prepare ? { prepare } : {}),
        },
        clock,
        logger: silentLogger,
        nodeId,
        keepMs: 10_000,
        delayMs: 50,
      });
    // A transport that encodes as JSON; the store "carrying" it is played by a plain publish of the payload.
    const a = make('a', (channel, message) => ({ transport: hub, channel, payload: JSON.stringify(message) }));
    const b = make('b');
    const fires = [{ jobName: 'j1', instant: T0 }];
    expect(a.prepare(fires)).toBeUndefined(); // not attached: it announces nothing, as announce does
    await a.attach();
    await b.attach();
    const prepared = a.prepare(fires);
    expect(prepared?.channel).toBe(Channels.claimed);
    expect(prepared?.transport).toBe(hub);
    await memory.publish(Channels.claimed, JSON.parse(prepared?.payload ?? 'null'));
    await settle();
    expect(b.claimedElsewhere({ jobName: 'j1', instant: T0 })).toBe(true);
    expect(a.prepare([])).toBeUndefined();
    expect(b.prepare(fires)).toBeUndefined(); // its transport cannot prepare
    const tooBig = make('c', () => {
      throw new RangeError('too large');
    });
    await tooBig.attach();
    expect(tooBig.prepare(fires)).toBeUndefined();
    await Promise.all([a.detach(), b.detach(), tooBig.detach()]);
  });
});
