import { describe, expect, it } from 'vitest';
import { ClaimAnnouncer } from './claim-announcer.js';
import { MemoryPubSub, MemoryPubSubHub } from '../memory/pubsub.js';
import { FakeClock } from '../testing/fake-clock.js';
import { silentLogger } from '../ports/logger.js';
import { Channels } from '../ports/pubsub.js';

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
});
