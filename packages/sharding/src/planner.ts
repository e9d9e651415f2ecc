import { randomUUID } from 'node:crypto';
import {
  InvalidArgumentError,
  type FireRecord,
  type JobContext,
  type SchedulerHost,
  type ShardAssignment,
  type ShardedFire,
  type ShardPlanner,
  type ShardResult,
  type TimerHandle,
  type Unsubscribe,
} from '@sched/core';
import { averageAllocation, type ShardAllocationStrategy } from './allocation.js';
import {
  Fields,
  parseMeta,
  parseResult,
  parseShardFireId,
  runIdOf,
  shardFireId,
  shardMessageSchema,
  type FireMeta,
  type ShardMessage,
} from './fire-state.js';
import { StoredItemProgress } from './progress.js';

export interface ClusterShardPlannerOptions {
  /** How the shards of a fire are spread over the live nodes. @default averageAllocation */
  strategy?: ShardAllocationStrategy;
  /** A shard still unclaimed this long after its fire opened is claimed by another node (twice this: by any node). @default 2000 */
  takeoverGraceMs?: number;
  /** How often each node looks for shards whose node died (lease lapsed) and runs them again. @default 1000 */
  sweepIntervalMs?: number;
  /** How often a waiting parent reads its fire's state (besides the pushed results). @default 1000 */
  pollIntervalMs?: number;
  /** A shard's finished items are written at most this often (what finished since runs again after a takeover). @default 250 */
  progressFlushMs?: number;
  /** A fire's state is kept this long after its last write. @default 3600000 */
  runTtlMs?: number;
}

/** The channel sharded fires are announced on. */
export const SHARDING_CHANNEL = 'scheduler:sharding';

interface Waiter {
  total: number;
  results: Map<number, ShardResult>;
  /** Shards whose record was seen ended without a result written (read from the record at the next check). */
  endedSeen: Set<number>;
  /** Called on every result, so the wait ends as soon as the last one lands. */
  check: () => void;
}

/**
 * The `ShardPlanner` of sched (SPEC.md §3): attach one per scheduler
 * (`shardPlanner: new ClusterShardPlanner()`); every node runs its own, and
 * they agree through the StateStore and the per-fire records.
 *
 * - The node that wins a fire of a `shardingEnabled` job opens it: writes its
 *   description (the plan over the live nodes serving the job) once, and
 *   announces it on pub/sub. Each node claims the shards allocated to it by
 *   id (`<fireId>#<i>`) and runs them through the scheduler (slots, chain,
 *   retries, timeouts, snapshots with `shardIndex`).
 * - At `takeoverGraceMs` after the open, each node looks for shards still
 *   unclaimed (their node died or never heard) and claims those a re-plan
 *   without their first node gives it; at twice the grace any node claims any.
 * - Every `sweepIntervalMs` each node claims shard records whose lease lapsed
 *   (their node died, claimed or mid-run) and runs them again, skipping the
 *   items the dead run had finished (progress flushed every
 *   `progressFlushMs`). Bound: a shard whose node died runs again within
 *   `leaseTtlMs` + `sweepIntervalMs` of the node's last lease renewal.
 * - The parent waits for every shard's result and resolves with them; the
 *   scheduler records the fire's outcome (completed when every shard
 *   completed) and tells its dependents. A parent whose node died is run
 *   again by another node (the scheduler's takeover) and picks the shards up
 *   where they are: a shard that completed never runs again.
 */
export class ClusterShardPlanner implements ShardPlanner {
  readonly packageName = '@sched/sharding';
  private host: SchedulerHost | undefined;
  private unsubscribe: Unsubscribe | undefined;
  private sweepTimer: TimerHandle | undefined;
  private sweeping = false;
  private readonly timers = new Set<TimerHandle>();
  private readonly waiters = new Map<string, Waiter>();
  /** When this node last heard of a sharded fire: without one for `runTtlMs` the sweep reads nothing (no idle cost). */
  private lastActivity = Number.NEGATIVE_INFINITY;
  /** Shard fire ids this node is claiming or running now (the sweep leaves them alone). */
  private readonly active = new Set<string>();
  private readonly strategy: ShardAllocationStrategy;
  private readonly takeoverGraceMs: number;
  private readonly sweepIntervalMs: number;
  private readonly pollIntervalMs: number;
  private readonly progressFlushMs: number;
  private readonly runTtlMs: number;

  constructor(options: ClusterShardPlannerOptions = {}) {
    const positive = (name: Exclude<keyof ClusterShardPlannerOptions, 'strategy'>, fallback: number): number => {
      const v: unknown = options[name] ?? fallback;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
        throw new InvalidArgumentError('ClusterShardPlanner', `${name} must be a positive integer, got ${JSON.stringify(v)}`);
      return v;
    };
    this.takeoverGraceMs = positive('takeoverGraceMs', 2_000);
    this.sweepIntervalMs = positive('sweepIntervalMs', 1_000);
    this.pollIntervalMs = positive('pollIntervalMs', 1_000);
    this.progressFlushMs = positive('progressFlushMs', 250);
    this.runTtlMs = positive('runTtlMs', 3_600_000);
    const strategy = options.strategy ?? averageAllocation;
    if (typeof strategy.allocate !== 'function')
      throw new InvalidArgumentError('ClusterShardPlanner', 'strategy must have an allocate(input) method');
    this.strategy = strategy;
  }

  plan(fire: { jobName: string; fireId: string; shardingTotal: number }, liveNodeIds: readonly string[]): ShardAssignment[] {
    const nodeIds = [...new Set(liveNodeIds)].sort();
    const input = { jobName: fire.jobName, fireId: fire.fireId, shardTotal: fire.shardingTotal, nodeIds };
    let nodes = this.strategy.allocate(input);
    if (nodes.length !== fire.shardingTotal || nodes.some((n) => !nodeIds.includes(n))) {
      this.host?.logger.error('shard allocation strategy returned an invalid plan; using the average allocation', {
        strategy: this.strategy.name,
        jobName: fire.jobName,
      });
      nodes = averageAllocation.allocate(input);
    }
    return nodes.map((nodeId, shardIndex) => ({ shardIndex, nodeId }));
  }

  async attach(host: SchedulerHost): Promise<void> {
    this.host = host;
    this.unsubscribe = await host.pubsub.subscribe(SHARDING_CHANNEL, (message) => this.onMessage(message));
    this.armSweep();
  }

  async detach(): Promise<void> {
    const host = this.host;
    if (host) {
      if (this.sweepTimer) host.clock.clearTimer(this.sweepTimer);
      for (const t of this.timers) host.clock.clearTimer(t);
    }
    this.sweepTimer = undefined;
    this.timers.clear();
    await this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.host = undefined;
  }

  ownsFire(fireId: string): boolean {
    return parseShardFireId(fireId) !== undefined;
  }

  async runShardedFire(fire: ShardedFire, ctx: JobContext): Promise<ShardResult[]> {
    const host = this.requireHost();
    const runId = runIdOf(fire.fireId);
    let meta: FireMeta = {
      jobName: fire.jobName,
      total: fire.shardingTotal,
      plan: this.plan(fire, host.liveNodes(fire.jobName)).map((a) => a.nodeId),
      openedAt: host.clock.now(),
      kind: fire.kind,
      ...(fire.scheduledAt === undefined ? {} : { scheduledAt: fire.scheduledAt }),
      ...(fire.params === undefined ? {} : { params: { ...fire.params } }),
    };
    const opened = await host.stateStore.setRunFieldIfAbsent(runId, Fields.meta, JSON.stringify(meta), this.runTtlMs);
    if (!opened) {
      // A later attempt of this parent (its first node died): the fire keeps its first plan.
      const state = await host.stateStore.getRunState(runId);
      meta = parseMeta(state?.[Fields.meta]) ?? meta;
      ctx.logger.info('picking up a sharded fire opened before', { fireId: fire.fireId, attempt: ctx.attempt });
    }
    const done = this.waitFor(fire.fireId, meta, ctx);
    host.pubsub
      .publish(SHARDING_CHANNEL, { type: 'open', fireId: fire.fireId, from: host.nodeId, meta } satisfies ShardMessage)
      .catch((error: unknown) =>
        // The others find their shards at the grace sweep instead.
        host.logger.warn('could not announce a sharded fire', { fireId: fire.fireId, error: String(error) }),
      );
    this.onOpen(fire.fireId, meta);
    return done;
  }

  // ─── every node: claiming and running shards ─────────────────────────────

  private onMessage(message: unknown): void {
    const host = this.host;
    if (!host) return;
    const parsed = shardMessageSchema.safeParse(message);
    if (!parsed.success) {
      host.logger.warn('malformed sharding message ignored', { issues: parsed.error.issues.slice(0, 3) });
      return;
    }
    const m = parsed.data;
    if (m.from === host.nodeId) return; // handled locally when sent
    if (m.type === 'open') this.onOpen(m.fireId, m.meta);
    else this.onResult(m.fireId, m.result);
  }

  /** A fire opened: run the shards allocated here, and look for unclaimed ones at the grace. */
  private onOpen(fireId: string, meta: FireMeta): void {
    const host = this.host;
    if (!host?.hasJob(meta.jobName)) return;
    this.lastActivity = host.clock.now();
    meta.plan.forEach((node, i) => {
      if (node === host.nodeId) this.runShard(fireId, i, meta, {});
    });
    const grace = meta.openedAt + this.takeoverGraceMs;
    this.after(grace, () => this.claimUnclaimed(fireId, meta, false));
    this.after(grace + this.takeoverGraceMs, () => this.claimUnclaimed(fireId, meta, true));
  }

  /**
   * Shards with no record yet: their node died or never heard of the fire.
   * Claimed by the node a re-plan without their first node names, or (`any`)
   * by every node, first come first served.
   */
  private async claimUnclaimed(fireId: string, meta: FireMeta, any: boolean): Promise<void> {
    const host = this.host;
    if (!host?.hasJob(meta.jobName)) return;
    const runId = runIdOf(fireId);
    const state = (await host.stateStore.getRunState(runId)) ?? {};
    const open = [...Array(meta.total).keys()].filter((i) => state[Fields.done(i)] === undefined);
    const records = await Promise.all(open.map((i) => host.stateStore.getFireRecord(shardFireId(fireId, i))));
    const live = host.liveNodes(meta.jobName);
    open.forEach((i, k) => {
      if (records[k] !== null || this.active.has(shardFireId(fireId, i))) return;
      const first = meta.plan[i];
      const others = live.filter((n) => n !== first);
      const heir =
        others.length === 0
          ? host.nodeId
          : this.plan({ jobName: meta.jobName, fireId, shardingTotal: meta.total }, others)[i]?.nodeId;
      if (any || heir === host.nodeId) {
        host.logger.info('claiming a shard left unclaimed', { fireId, shardIndex: i, allocatedTo: first });
        this.runShard(fireId, i, meta, {});
      }
    });
  }

  /** Claims shard `i` by id and runs it here; its result goes to the fire's state and its parent. */
  private runShard(fireId: string, i: number, meta: FireMeta, takeover: { from?: FireRecord; attempt?: number }): void {
    const host = this.host;
    if (!host) return;
    const id = shardFireId(fireId, i);
    if (this.active.has(id)) return;
    this.active.add(id);
    const runId = runIdOf(fireId);
    const progress = new StoredItemProgress(
      host.stateStore,
      host.clock,
      host.logger,
      runId,
      i,
      randomUUID().slice(0, 8),
      this.progressFlushMs,
      this.runTtlMs,
    );
    void (async () => {
      try {
        const outcome = await host.runFire({
          jobName: meta.jobName,
          fireId: id,
          kind: meta.kind,
          ...(meta.scheduledAt === undefined ? {} : { scheduledAt: meta.scheduledAt }),
          ...(meta.params === undefined ? {} : { params: meta.params }),
          shard: { shardIndex: i, shardTotal: meta.total },
          shardOf: fireId,
          itemProgress: progress,
          // A run its node left mid-run: claimed back, and counted abandoned with its snapshot closed by the host.
          ...(takeover.from ? { recoverAbandoned: true, takesOverFrom: takeover.from } : {}),
          ...(takeover.attempt === undefined ? {} : { attempt: takeover.attempt }),
        });
        // Not claimed here (another node has it), or given back at stop: not a result.
        if (outcome.attempt === 0) return;
        const result: ShardResult = {
          shardIndex: i,
          status: outcome.status,
          nodeId: outcome.nodeId,
          executionId: outcome.executionId,
          attempt: outcome.attempt,
          durationMs: outcome.durationMs,
          ...(outcome.items ?? {}),
        };
        await host.stateStore.setRunFields(runId, { [Fields.done(i)]: JSON.stringify(result) }, this.runTtlMs);
        this.onResult(fireId, result);
        await host.pubsub.publish(SHARDING_CHANNEL, { type: 'done', fireId, from: host.nodeId, result } satisfies ShardMessage);
      } catch (error) {
        // The parent reads the record instead (or the sweep runs the shard again).
        host.logger.warn('shard result not delivered', { fireId: id, error: String(error) });
      } finally {
        this.active.delete(id);
      }
    })();
  }

  /** Every `sweepIntervalMs`: shard records whose node stopped renewing their lease are run again here. */
  private armSweep(): void {
    const host = this.host;
    if (!host) return;
    this.sweepTimer = host.clock.setTimer(host.clock.now() + this.sweepIntervalMs, () => {
      void this.sweep().finally(() => this.armSweep());
    });
  }

  private async sweep(): Promise<void> {
    const host = this.host;
    if (!host || this.sweeping || host.clock.now() - this.lastActivity > this.runTtlMs) return;
    this.sweeping = true;
    try {
      const expired = await host.stateStore.listExpiredFires(host.clock.now(), 1_000);
      for (const record of expired) await this.takeOver(record);
    } catch (error) {
      host.logger.warn('shard sweep failed; trying again next interval', { error: String(error) });
    } finally {
      this.sweeping = false;
    }
  }

  private async takeOver(record: FireRecord): Promise<void> {
    const host = this.host as SchedulerHost;
    const shard = parseShardFireId(record.fireId);
    if (!shard || !host.hasJob(record.jobName) || this.active.has(record.fireId)) return;
    const state = await host.stateStore.getRunState(runIdOf(shard.fireId));
    const meta = parseMeta(state?.[Fields.meta]);
    if (!meta || state?.[Fields.done(shard.shardIndex)] !== undefined) return;
    const running = record.state === 'running';
    host.logger.warn(running ? 'running a shard again: its node died mid-run' : 'taking over a shard its node never started', {
      fireId: record.fireId,
      from: record.nodeId,
    });
    this.runShard(shard.fireId, shard.shardIndex, meta, running ? { from: record, attempt: 2 } : {});
  }

  // ─── the parent: waiting for every shard ─────────────────────────────────

  private waitFor(fireId: string, meta: FireMeta, ctx: JobContext): Promise<ShardResult[]> {
    const host = this.requireHost();
    const runId = runIdOf(fireId);
    return new Promise<ShardResult[]>((resolve, reject) => {
      let timer: TimerHandle | undefined;
      let polls = 0;
      const finish = (): void => {
        if (timer) host.clock.clearTimer(timer);
        this.waiters.delete(fireId);
      };
      const waiter: Waiter = {
        total: meta.total,
        results: new Map(),
        endedSeen: new Set(),
        check: () => {
          if (waiter.results.size < waiter.total) return;
          finish();
          resolve([...waiter.results.values()].sort((a, b) => a.shardIndex - b.shardIndex));
        },
      };
      this.waiters.set(fireId, waiter);
      ctx.signal.addEventListener('abort', () => {
        finish();
        reject(ctx.signal.reason as Error);
      });
      // Results are pushed; reading the state catches any push lost, and (every few polls)
      // a shard whose node wrote its record's end but died before its result.
      const poll = async (): Promise<void> => {
        polls += 1;
        try {
          const state = (await host.stateStore.getRunState(runId)) ?? {};
          for (let i = 0; i < meta.total; i++) {
            const result = parseResult(state[Fields.done(i)]);
            if (result) waiter.results.set(i, result);
          }
          if (polls % 5 === 0 && waiter.results.size < waiter.total) await this.readEndedRecords(fireId, meta, waiter);
          // Kept alive while the fire runs, however long.
          if (polls % 60 === 0) await host.stateStore.setRunFields(runId, { alive: String(host.clock.now()) }, this.runTtlMs);
        } catch (error) {
          host.logger.warn('could not read a sharded fire; trying again', { fireId, error: String(error) });
        }
        waiter.check();
      };
      const arm = (): void => {
        timer = host.clock.setTimer(host.clock.now() + this.pollIntervalMs, () => {
          void poll().finally(() => {
            if (this.waiters.get(fireId) === waiter) arm();
          });
        });
      };
      arm();
    });
  }

  /** Shards whose record ended but whose result never reached the state (their node died in between). */
  private async readEndedRecords(fireId: string, meta: FireMeta, waiter: Waiter): Promise<void> {
    const host = this.requireHost();
    const missing = [...Array(meta.total).keys()].filter((i) => !waiter.results.has(i));
    const records = await Promise.all(missing.map((i) => host.stateStore.getFireRecord(shardFireId(fireId, i))));
    let unclaimed = false;
    missing.forEach((i, k) => {
      const record = records[k];
      // The shard's own result (with its item counts) may have landed while the records were read.
      if (waiter.results.has(i)) return;
      if (record === null || record === undefined) unclaimed = true;
      else if (record.state === 'done' && record.status !== undefined && !this.active.has(record.fireId)) {
        // Seen ended at two checks in a row: its node is not about to write the full result.
        if (waiter.endedSeen.has(i)) {
          waiter.results.set(i, { shardIndex: i, status: record.status as ShardResult['status'], nodeId: record.nodeId });
        } else waiter.endedSeen.add(i);
      }
    });
    // Still unclaimed long after the grace sweeps (every node missed it): the parent's node takes it.
    if (unclaimed && host.clock.now() > meta.openedAt + 2 * this.takeoverGraceMs) await this.claimUnclaimed(fireId, meta, true);
  }

  private onResult(fireId: string, result: ShardResult): void {
    const waiter = this.waiters.get(fireId);
    if (!waiter) return;
    waiter.results.set(result.shardIndex, result);
    waiter.check();
  }

  private after(at: number, fn: () => Promise<void>): void {
    const host = this.host;
    if (!host) return;
    const handle = host.clock.setTimer(at, () => {
      this.timers.delete(handle);
      fn().catch((error: unknown) => this.host?.logger.warn('shard grace sweep failed', { error: String(error) }));
    });
    this.timers.add(handle);
  }

  private requireHost(): SchedulerHost {
    if (!this.host) throw new InvalidArgumentError('ClusterShardPlanner', 'the planner is not attached to a running scheduler');
    return this.host;
  }
}
