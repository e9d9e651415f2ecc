import { describe, expect, it } from 'vitest';
import { MemorySnapshotRepository } from '@sched/core';
import { FakeClock } from '@sched/core/testing';
import { createSimulatedCluster, type SimulatedJob, type SimulatedCluster } from '../src/index.js';

const everySecond = (n: number, extra: Partial<SimulatedJob> = {}): SimulatedJob[] =>
  Array.from({ length: n }, (_, i) => ({ name: `job-${i}`, cfg: { cronSpec: '* * * * * *' }, ...extra }));

describe('simulated cluster (FakeClock)', () => {
  it('3 nodes, 300 jobs every second: each fire exactly once, spread over the nodes', async () => {
    const cluster = createSimulatedCluster({ nodes: 3, jobs: everySecond(300) });
    await cluster.start();
    await cluster.advance(20_000);
    const report = cluster.expectExactlyOncePerFire({ settleMs: 1_000 });
    expect(report.expected).toBeGreaterThanOrEqual(300 * 18);
    for (const [, runs] of report.perNode) {
      expect(runs / report.ran).toBeGreaterThan(0.2);
      expect(runs / report.ran).toBeLessThan(0.47);
    }
    await cluster.stop();
  });

  it('non-owners leave out of their sweep the fires an owner announced claimed; each fire still exactly once', async () => {
    const cluster = createSimulatedCluster({ nodes: 3, jobs: everySecond(30) });
    // Every claim the nodes send, with how many of its fires are the sweep's (not the sender's at the instant).
    const sweeps: Array<{ at: number; swept: number }> = [];
    const lockManager = cluster.store.lockManager;
    const claimDue = lockManager.claimDue.bind(lockManager);
    lockManager.claimDue = (fires, options) => {
      sweeps.push({
        at: cluster.clock.now(),
        swept: fires.filter((f) => (f as { notBefore?: number }).notBefore !== undefined).length,
      });
      return claimDue(fires, options);
    };
    await cluster.start();
    await cluster.advance(10_000);
    // Once every node sees the others (the first heartbeats), the owners' announcements leave nothing to sweep.
    const settled = sweeps.filter((c) => c.at > cluster.startedAt + 3_000);
    expect(settled.length).toBeGreaterThan(0);
    expect(settled.reduce((a, c) => a + c.swept, 0)).toBe(0);
    const report = cluster.expectExactlyOncePerFire({ settleMs: 1_000 });
    expect(report.expected).toBeGreaterThanOrEqual(30 * 8);
    await cluster.stop();
  });

  it('kill -9 of a node: no duplicate, no miss; its claimed-but-unstarted fires run late elsewhere', async () => {
    const cluster = createSimulatedCluster({
      nodes: 3,
      jobs: everySecond(12, { durationMs: 300 }),
      schedulerOptions: { maxConcurrency: 2, maxQueued: 4 },
    });
    await cluster.start();
    // 100 ms after an instant: each node runs two of its ~4 fires and holds the others claimed in its queue.
    await cluster.advance(5_100);
    const victim = cluster.nodes[0]!;
    const before = cluster.ledger.length;
    const wonNotStarted = [...cluster.store.store.fires.values()]
      .filter((r) => r.nodeId === victim.id && r.state === 'claimed')
      .map((r) => r.fireId);
    expect(wonNotStarted.length).toBeGreaterThan(0);
    victim.kill();
    await cluster.advance(15_000);
    const alive = cluster.nodes[1]!;
    expect((await alive.scheduler.getNodes()).map((n) => n.nodeId)).toEqual(['node-2', 'node-3']);
    const report = cluster.expectExactlyOncePerFire({ settleMs: 5_000 });
    expect(report.ran).toBeGreaterThan(before);
    expect(cluster.ledger.filter((e) => e.startedAt > cluster.startedAt + 5_100).every((e) => e.nodeId !== 'node-1')).toBe(true);
    // What node-1 had claimed and not started ran once on another node after its lease (3 s) lapsed: late.
    for (const fireId of wonNotStarted) {
      const runs = cluster.ledger.filter((e) => e.fireId === fireId);
      expect(runs).toHaveLength(1);
      expect(runs[0]!.nodeId).not.toBe(victim.id);
      expect(runs[0]!.startedAt - runs[0]!.scheduledAt!).toBeGreaterThanOrEqual(2_000);
    }
    await cluster.stop();
  });

  it('clock skew ±1.5 s: exactly once; by the cluster clock no fire starts more than 500 ms from its instant', async () => {
    const cluster = createSimulatedCluster({ nodes: 3, jobs: everySecond(30) });
    cluster.nodes[0]!.skew(1_500);
    cluster.nodes[1]!.skew(-1_500);
    await cluster.start();
    await cluster.advance(20_000);
    cluster.expectExactlyOncePerFire({ settleMs: 1_000 });
    const lateness = cluster.ledger.map((e) => e.startedAt - (e.scheduledAt as number));
    expect(Math.max(...lateness)).toBeLessThanOrEqual(500);
    expect(Math.min(...lateness)).toBeGreaterThanOrEqual(0);
    await cluster.stop();
  });

  it('clock skew ±1.5 s without the cluster clock: still exactly once (the marks), only later', async () => {
    const cluster = createSimulatedCluster({ nodes: 3, jobs: everySecond(30) });
    cluster.nodes[0]!.skew(1_500, { clusterClock: false });
    cluster.nodes[1]!.skew(-1_500, { clusterClock: false });
    await cluster.start();
    await cluster.advance(20_000);
    // Around the start, an instant between the nodes' skewed start times can be passed over (no node was
    // scheduled on it yet): that is what the cluster clock is for. After it, every fire ran exactly once.
    cluster.expectExactlyOncePerFire({ from: cluster.startedAt + 2_000, settleMs: 3_000 });
    // The fast node claims 1.5 s early by true time: it runs fires before their instant.
    expect(cluster.ledger.some((e) => e.startedAt < (e.scheduledAt as number))).toBe(true);
    await cluster.stop();
  });

  for (const recoverAbandoned of [true, false]) {
    it(`a node frozen past its lease: fenced on waking${recoverAbandoned ? '; the run is recovered as attempt 2' : '; the run is recorded abandoned'}`, async () => {
      const cluster = createSimulatedCluster({
        nodes: 3,
        jobs: [{ name: 'long', cfg: { cronSpec: '0 * * * * *', recoverAbandoned }, durationMs: 8_000 }],
      });
      await cluster.start();
      await cluster.advance(60_500);
      const first = cluster.ledger[0]!;
      expect(first.attempt).toBe(1);
      const frozen = cluster.node(first.nodeId);
      frozen.freeze();
      await cluster.advance(6_000);
      await frozen.thaw();
      await cluster.advance(10_000);
      expect(first.aborted).toBe(true);
      const again = cluster.ledger.filter((e) => e.fireId === first.fireId && e !== first);
      const others = cluster.nodes.filter((n) => n !== frozen);
      if (recoverAbandoned) {
        expect(again).toHaveLength(1);
        expect(again[0]).toMatchObject({ attempt: 2 });
        expect(again[0]!.nodeId).not.toBe(first.nodeId);
        expect(again[0]!.fencingToken).toBeGreaterThan(first.fencingToken as number);
      } else {
        expect(again).toHaveLength(0);
        const statuses = [];
        for (const n of others) {
          const page = await n.scheduler.snapshotRepository.list({ jobName: 'long', status: 'abandoned' });
          statuses.push(...page.items.map((s) => s.fireId));
        }
        expect(statuses).toEqual([first.fireId]);
      }
      // Counted once in the cluster: by the node that took the record over, not again by the woken one.
      expect(abandonedInCluster(cluster)).toBe(1);
      await cluster.stop();
    });
  }

  for (const [how, recoverAbandoned] of [
    ['killed', true],
    ['killed', false],
    ['frozen past its lease', false],
  ] as const) {
    it(`a shared history: the run of a node ${how} mid-run is closed abandoned under its own execution id${recoverAbandoned ? ', then run again as attempt 2' : ''}`, async () => {
      const clock = new FakeClock();
      const history = new MemorySnapshotRepository({ clock });
      const cluster = createSimulatedCluster({
        nodes: 3,
        clock,
        jobs: [{ name: 'long', cfg: { cronSpec: '0 * * * * *', recoverAbandoned }, durationMs: 8_000 }],
        schedulerOptions: { snapshotRepository: history },
      });
      await cluster.start();
      await cluster.advance(60_500);
      const first = cluster.ledger[0]!;
      const [running] = (await history.list({ jobName: 'long', status: 'running' })).items;
      expect(running).toMatchObject({ fireId: first.fireId, nodeId: first.nodeId, attempt: 1 });
      const victim = cluster.node(first.nodeId);
      if (how === 'killed') victim.kill();
      else victim.freeze();
      await cluster.advance(6_000);
      // Woken, it aborts its run and closes its own snapshot too: still one, counted once.
      if (how !== 'killed') await victim.thaw();
      await cluster.advance(9_000);
      const ofFire = (await history.list({ jobName: 'long' })).items.filter((s) => s.fireId === first.fireId);
      expect(ofFire.filter((s) => s.status === 'running')).toEqual([]);
      // The dead run's own snapshot, closed: no second, born-finished one beside it.
      expect(ofFire.filter((s) => s.status === 'abandoned')).toEqual([
        expect.objectContaining({
          executionId: running!.executionId,
          nodeId: first.nodeId,
          startedAt: running!.startedAt,
          attempt: 1,
        }),
      ]);
      expect(ofFire.filter((s) => s.status !== 'abandoned').map((s) => [s.status, s.attempt])).toEqual(
        recoverAbandoned ? [['completed', 2]] : [],
      );
      expect(abandonedInCluster(cluster)).toBe(1);
      await cluster.stop();
    });
  }

  it('records of a job no node serves are ended, and do not hide later lapsed fires from the takeover sweep', async () => {
    const cluster = createSimulatedCluster({
      nodes: 2,
      jobs: [{ name: 'long', cfg: { cronSpec: '0 * * * * *', recoverAbandoned: true }, durationMs: 8_000 }],
    });
    // 150 runs of a job removed from the cluster, left running by a node that died: the oldest lapsed records.
    const ghosts: string[] = [];
    for (let i = 0; i < 150; i++) {
      const fireId = `gone@manual-${i}`;
      ghosts.push(fireId);
      await cluster.store.lockManager.claimFire(
        { fireId, jobName: 'gone', startNow: true },
        { nodeId: 'ghost', leaseTtlMs: 1_000 },
      );
    }
    await cluster.start();
    await cluster.advance(60_500);
    const first = cluster.ledger.find((e) => e.jobName === 'long')!;
    cluster.node(first.nodeId).kill();
    await cluster.advance(20_000);
    // The killed node's run, behind the 150 ghosts in the sweep's order, was still taken over.
    const again = cluster.ledger.filter((e) => e.fireId === first.fireId && e.attempt === 2);
    expect(again).toHaveLength(1);
    expect(again[0]!.nodeId).not.toBe(first.nodeId);
    const left = await Promise.all(ghosts.map((id) => cluster.store.stateStore.getFireRecord(id)));
    // Ended (and, past their retention, gone): none left running.
    expect(left.filter((r) => r !== null && r.state !== 'done')).toEqual([]);
    await cluster.stop();
  });

  it('a node cut off from the store runs nothing it could not claim, and resumes when reconnected', async () => {
    const cluster = createSimulatedCluster({ nodes: 2, jobs: everySecond(10) });
    await cluster.start();
    await cluster.advance(3_000);
    const cut = cluster.nodes[0]!;
    cut.cutOff();
    const mark = cluster.ledger.length;
    await cluster.advance(5_000);
    expect(cluster.ledger.slice(mark).every((e) => e.nodeId !== cut.id)).toBe(true);
    cut.cutOff(false);
    await cluster.advance(5_000);
    cluster.expectExactlyOncePerFire({ settleMs: 1_000 });
    expect(cluster.ledger.slice(-20).some((e) => e.nodeId === cut.id)).toBe(true);
    await cluster.stop();
  });
});

describe('simulated cluster: misfire compensation', () => {
  it("a 'delayed' catch-up whose winner is killed halfway is finished by the others, each instant once", async () => {
    const cluster = createSimulatedCluster({
      nodes: 3,
      jobs: [{ name: 'report', cfg: { cronSpec: '* * * * * *', misfirePolicy: 'delayed' } }],
      // Replays 1 s apart, so the winner dies with most of the list still to go.
      schedulerOptions: { misfireThresholdMs: 2_000, catchupIntervalMs: 1_000 },
    });
    await cluster.start();
    await cluster.advance(5_000);
    // The whole cluster loses its store for 20 s: nothing can be claimed, so nothing runs.
    for (const n of cluster.nodes) n.cutOff(true);
    const outageFrom = cluster.clock.now();
    await cluster.advance(20_000);
    for (const n of cluster.nodes) n.cutOff(false);
    const backAt = cluster.clock.now();
    await cluster.advance(2_500);
    const replays = () => cluster.ledger.filter((e) => (e.scheduledAt as number) < backAt - 2_000 && e.startedAt >= backAt);
    const first = replays()[0];
    expect(first).toBeDefined();
    const winner = cluster.node(first?.nodeId as string);
    const pending = (await cluster.store.stateStore.getCatchup('report'))?.instants ?? [];
    expect(pending.length).toBeGreaterThan(10);
    winner.kill();
    await cluster.advance(30_000); // its TTL (3 s) runs out, the others resume the list, 1 s apart
    expect(await cluster.store.stateStore.getCatchup('report')).toBeNull();
    const byOthers = replays().filter((e) => e.nodeId !== winner.id);
    expect(byOthers.length).toBeGreaterThanOrEqual(pending.length);
    // Every instant, before, during and after the outage, ran exactly once (catch-ups included).
    const report = cluster.expectExactlyOncePerFire({ from: outageFrom - 4_000, settleMs: 1_000 });
    expect(report.expected).toBeGreaterThan(50);
    await cluster.stop();
  });
});

/** Abandoned runs counted over every node's metrics. */
function abandonedInCluster(cluster: SimulatedCluster): number {
  return cluster.nodes.reduce((sum, n) => sum + n.scheduler.getJobMetrics('long').abandonedCount, 0);
}

describe('simulated cluster with claimAheadMs (fires claimed 100 ms before their instant)', () => {
  const ahead = { claimAheadMs: 100 };
  /** The held fires of `node` for `instant`: claimed, not running. */
  const heldBy = (cluster: SimulatedCluster, nodeId: string, instant: number) =>
    [...cluster.store.store.fires.values()]
      .filter((r) => r.nodeId === nodeId && r.fireId.endsWith(`@${instant}`))
      .map((r) => ({ fireId: r.fireId, state: r.state }));

  it('3 nodes, 90 jobs every second: each fire exactly once, none started before its instant, the owners at it', async () => {
    const cluster = createSimulatedCluster({ nodes: 3, jobs: everySecond(90), schedulerOptions: ahead });
    await cluster.start();
    await cluster.advance(15_000);
    cluster.expectExactlyOncePerFire({ settleMs: 1_000 });
    const lateness = cluster.ledger.map((e) => e.startedAt - (e.scheduledAt as number));
    expect(Math.min(...lateness)).toBeGreaterThanOrEqual(0);
    // Once every node sees the others, every fire is its owner's, started at its instant.
    const settled = cluster.ledger.filter((e) => (e.scheduledAt as number) > cluster.startedAt + 3_000);
    expect(settled.length).toBeGreaterThan(90 * 10);
    expect(settled.every((e) => e.startedAt === e.scheduledAt)).toBe(true);
    await cluster.stop();
  });

  it('a node killed -9 holding fires claimed ahead: they run once elsewhere after its lease, never before their instant', async () => {
    const cluster = createSimulatedCluster({ nodes: 3, jobs: everySecond(30), schedulerOptions: ahead });
    await cluster.start();
    const instant = cluster.startedAt + 6_000;
    await cluster.advance(5_950); // 50 ms before the instant: its owners hold its fires, claimed
    const victim = cluster.nodes[0]!;
    const held = heldBy(cluster, victim.id, instant);
    expect(held.length).toBeGreaterThan(0);
    expect(held.every((h) => h.state === 'claimed')).toBe(true);
    victim.kill();
    await cluster.advance(10_000);
    cluster.expectExactlyOncePerFire({ settleMs: 1_000 });
    for (const { fireId } of held) {
      const runs = cluster.ledger.filter((e) => e.fireId === fireId);
      expect(runs).toHaveLength(1);
      expect(runs[0]!.nodeId).not.toBe(victim.id);
      // Taken over once its lease (3 s from the claim) lapsed.
      expect(runs[0]!.startedAt - instant).toBeGreaterThanOrEqual(2_000);
    }
    await cluster.stop();
  });

  it('a node stopped gracefully holding fires claimed ahead gives them back: they run once elsewhere, not before their instant', async () => {
    const cluster = createSimulatedCluster({ nodes: 3, jobs: everySecond(30), schedulerOptions: ahead });
    await cluster.start();
    const instant = cluster.startedAt + 6_000;
    await cluster.advance(5_950);
    const leaving = cluster.nodes[0]!;
    const held = heldBy(cluster, leaving.id, instant);
    expect(held.length).toBeGreaterThan(0);
    const stopped = leaving.scheduler.stop({ timeoutMs: 0 });
    await cluster.advance(5_000);
    await stopped;
    cluster.expectExactlyOncePerFire({ settleMs: 1_000 });
    for (const { fireId } of held) {
      const runs = cluster.ledger.filter((e) => e.fireId === fireId);
      expect(runs).toHaveLength(1);
      expect(runs[0]!.nodeId).not.toBe(leaving.id);
      expect(runs[0]!.startedAt).toBeGreaterThanOrEqual(instant);
    }
    await cluster.stop();
  });
});
