import {
  MemoryNodeRegistry,
  MemoryPubSub,
  MemoryPubSubHub,
  MemoryRegistryHub,
  MemorySchedulerCache,
  Scheduler,
  StoreUnavailableError,
  parseCron,
  silentLogger,
  type Clock,
  type JobContext,
  type Logger,
  type PubSub,
  type SchedulerCache,
  type SchedulerOptions,
  type TaskCfg,
  type TimerHandle,
} from '@sched/core';
import { FakeClock, sleepOn } from '@sched/core/testing';

/** One execution start, as the simulated cluster saw it (times by the store's clock, the "true" time). */
export interface LedgerEntry {
  jobName: string;
  fireId: string;
  scheduledAt: number | undefined;
  nodeId: string;
  attempt: number;
  fencingToken: number | undefined;
  startedAt: number;
  /** Set when the run ended; `aborted` when its signal fired first (timeout, lease lost, stop). */
  finishedAt?: number;
  aborted?: boolean;
}

export interface SimulatedJob {
  name: string;
  cfg: TaskCfg;
  /** How long each run takes on its node's clock (aborted runs end early). @default 0 */
  durationMs?: number;
}

export interface SimulatedClusterOptions {
  /** Node ids, or how many (`node-1` … `node-N`). */
  nodes: number | string[];
  /** The cluster's true time; the store judges every lease by it. @default a new FakeClock */
  clock?: FakeClock;
  jobs?: SimulatedJob[];
  /** Options for every node's `Scheduler` (short leases and grace suit simulations). */
  schedulerOptions?: Omit<SchedulerOptions, 'clock' | 'schedulerCache' | 'distributed' | 'pubsub' | 'nodeId'>;
  /**
   * Options of one node's `Scheduler` over `schedulerOptions`: for what each
   * node needs its own instance of (`dependencyCoordinator`, `shardPlanner`).
   */
  nodeOptions?: (nodeId: string) => Omit<SchedulerOptions, 'clock' | 'schedulerCache' | 'distributed' | 'pubsub' | 'nodeId'>;
  /** @default 1_000 */
  heartbeatIntervalMs?: number;
  /** @default 3_000 */
  nodeTtlMs?: number;
  logger?: Logger;
}

/**
 * A node's clock: the cluster's true time plus a skew, optionally corrected
 * by the cluster clock (as `ClusterClock` corrects a real node onto Redis
 * `TIME`), and freezable: while frozen, nothing the node's timers would do
 * happens (a SIGSTOPped process); on thaw, the overdue timers fire at once.
 */
export class SimulatedNodeClock implements Clock {
  skewMs = 0;
  /** Whether the node fires by the cluster clock (skew corrected away). */
  clusterClock = true;
  private frozen = false;
  private held: Array<() => void> = [];

  constructor(readonly base: FakeClock) {}

  private get offset(): number {
    return this.clusterClock ? 0 : this.skewMs;
  }

  now(): number {
    return this.base.now() + this.offset;
  }

  setTimer(at: number, fn: () => void): TimerHandle {
    const handle = { at, inner: undefined as TimerHandle | undefined };
    handle.inner = this.base.setTimer(at - this.offset, () => (this.frozen ? this.held.push(fn) : fn()));
    return handle;
  }

  clearTimer(handle: TimerHandle): void {
    const inner = (handle as { inner?: TimerHandle }).inner;
    if (inner) this.base.clearTimer(inner);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }

  get isFrozen(): boolean {
    return this.frozen;
  }

  freeze(): void {
    this.frozen = true;
  }

  /** Fires the held timers in order, letting each one's async work settle before the next (as a resumed process would). */
  async thaw(): Promise<void> {
    this.frozen = false;
    for (const fn of this.held.splice(0)) {
      fn();
      for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
    }
  }
}

/** The shared store as one node sees it: cut off, every call fails as a lost connection would. */
class NodeCache implements SchedulerCache {
  cut = false;
  readonly lockManager: SchedulerCache['lockManager'];
  readonly stateStore: SchedulerCache['stateStore'];
  readonly configStore: SchedulerCache['configStore'];

  constructor(shared: MemorySchedulerCache) {
    this.lockManager = this.guard(shared.lockManager);
    this.stateStore = this.guard(shared.stateStore);
    this.configStore = this.guard(shared.configStore);
  }

  private guard<T extends object>(target: T): T {
    return new Proxy(target, {
      get: (obj, prop, receiver) => {
        const value = Reflect.get(obj, prop, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (this.cut)
            return Promise.reject(new StoreUnavailableError(String(prop), 'this node is cut off from the store (simulated)'));
          return (value as (...a: unknown[]) => unknown).apply(obj, args);
        };
      },
    });
  }
}

export class SimulatedNode {
  readonly clock: SimulatedNodeClock;
  readonly scheduler: Scheduler;
  readonly registry: MemoryNodeRegistry;
  private readonly cache: NodeCache;
  private dead = false;

  constructor(
    readonly id: string,
    private readonly cluster: SimulatedCluster,
  ) {
    this.clock = new SimulatedNodeClock(cluster.clock);
    this.cache = new NodeCache(cluster.store);
    this.registry = new MemoryNodeRegistry({
      nodeId: id,
      clock: this.clock,
      hub: cluster.registryHub,
      heartbeatIntervalMs: cluster.heartbeatIntervalMs,
      nodeTtlMs: cluster.nodeTtlMs,
    });
    this.scheduler = new Scheduler({
      ...cluster.schedulerOptions,
      ...cluster.nodeOptions?.(id),
      clock: this.clock,
      schedulerCache: this.cache,
      distributed: this.registry,
      pubsub: this.pubsub(),
      logger: cluster.logger,
    });
    for (const job of cluster.jobs) this.register(job);
  }

  get isDead(): boolean {
    return this.dead;
  }

  register(job: SimulatedJob): void {
    const { ledger } = this.cluster;
    const clock = this.clock;
    const truth = this.cluster.clock;
    this.scheduler.registerJob(
      {
        name: job.name,
        execute: async (ctx: JobContext) => {
          const entry: LedgerEntry = {
            jobName: ctx.jobName,
            fireId: ctx.fireId,
            scheduledAt: ctx.scheduledAt?.getTime(),
            nodeId: ctx.nodeId,
            attempt: ctx.attempt,
            fencingToken: ctx.fencingToken,
            startedAt: truth.now(),
          };
          ledger.push(entry);
          try {
            if (job.durationMs) await clock.sleep(job.durationMs, ctx.signal);
          } catch (error) {
            entry.aborted = true;
            throw error;
          } finally {
            entry.finishedAt = truth.now();
          }
        },
      },
      job.cfg,
    );
  }

  /** The cluster's pub/sub as this node sees it: a dead node neither sends nor hears. */
  private pubsub(): PubSub {
    const inner = new MemoryPubSub({ hub: this.cluster.pubsubHub, logger: this.cluster.logger });
    return {
      publish: (channel, message) =>
        this.dead
          ? Promise.reject(new StoreUnavailableError('publish', 'this node is dead (simulated)'))
          : inner.publish(channel, message),
      subscribe: (channel, handler) =>
        inner.subscribe(channel, (message, ch) => {
          if (!this.dead) handler(message, ch);
        }),
    };
  }

  /** `kill -9`: no more timers, store calls or messages, no goodbye; the others see it leave after its TTL. */
  kill(): void {
    this.dead = true;
    this.clock.freeze();
    this.cache.cut = true;
    this.registry.crash();
  }

  /** SIGSTOP: the node does nothing until `thaw()`; its leases lapse meanwhile. */
  freeze(): void {
    this.clock.freeze();
  }

  /** SIGCONT. */
  async thaw(): Promise<void> {
    if (!this.dead) await this.clock.thaw();
  }

  /** Shifts the node's own clock; with `clusterClock: false` it fires by the skewed clock. */
  skew(ms: number, options: { clusterClock?: boolean } = {}): void {
    this.clock.skewMs = ms;
    this.clock.clusterClock = options.clusterClock ?? true;
  }

  /** Cuts the node off from the store (a network partition from Redis), or reconnects it. */
  cutOff(cut = true): void {
    this.cache.cut = cut;
  }
}

/**
 * Several `Scheduler`s in one process on core's shared memory adapters and
 * one FakeClock, with a fault plan: kill a node, freeze it, skew its clock, cut
 * it off from the store. Every run is written to `ledger`, so a test can prove
 * a week of cluster behaviour in milliseconds:
 *
 * ```ts
 * const cluster = createSimulatedCluster({ nodes: 3, jobs: [{ name: 'j', cfg: { cronSpec: '* * * * * *' } }] });
 * await cluster.start();
 * await cluster.advance(10_000);
 * cluster.nodes[0].kill();
 * await cluster.advance(60_000);
 * cluster.expectExactlyOncePerFire();
 * ```
 */
export class SimulatedCluster {
  readonly clock: FakeClock;
  readonly store: MemorySchedulerCache;
  readonly registryHub = new MemoryRegistryHub();
  readonly pubsubHub = new MemoryPubSubHub();
  readonly ledger: LedgerEntry[] = [];
  readonly nodes: SimulatedNode[];
  readonly jobs: SimulatedJob[];
  readonly schedulerOptions: SimulatedClusterOptions['schedulerOptions'];
  readonly nodeOptions: SimulatedClusterOptions['nodeOptions'];
  readonly heartbeatIntervalMs: number;
  readonly nodeTtlMs: number;
  readonly logger: Logger;
  startedAt = Number.NaN;

  constructor(options: SimulatedClusterOptions) {
    this.clock = options.clock ?? new FakeClock();
    this.store = new MemorySchedulerCache({ clock: this.clock });
    this.jobs = options.jobs ?? [];
    this.schedulerOptions = {
      leaseTtlMs: 3_000,
      leaseRenewMs: 1_000,
      takeoverGraceMs: 200,
      misfireThresholdMs: 60_000,
      ...options.schedulerOptions,
    };
    this.nodeOptions = options.nodeOptions;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 1_000;
    this.nodeTtlMs = options.nodeTtlMs ?? 3_000;
    this.logger = options.logger ?? silentLogger;
    const ids =
      typeof options.nodes === 'number' ? Array.from({ length: options.nodes }, (_, i) => `node-${i + 1}`) : options.nodes;
    this.nodes = ids.map((id) => new SimulatedNode(id, this));
  }

  node(id: string): SimulatedNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`simulated cluster: no node "${id}"`);
    return n;
  }

  async start(): Promise<void> {
    this.startedAt = this.clock.now();
    for (const n of this.nodes) await n.scheduler.start();
    await this.clock.tick();
  }

  /** Advances the cluster's true time, firing every node's due timers in order. */
  async advance(ms: number): Promise<void> {
    await this.clock.advance(ms);
  }

  /** Stops every node that is not dead (gracefully). */
  async stop(): Promise<void> {
    const stopping = this.nodes.filter((n) => !n.isDead).map((n) => n.scheduler.stop({ timeoutMs: 0 }));
    await this.clock.tick();
    await Promise.all(stopping);
  }

  /**
   * Checks the ledger: every cron instant of the cluster's jobs in
   * `(from, to]` (default: after the start, up to now minus `settleMs`) ran, and no
   * `(fire, attempt)` ran twice. Throws an Error naming each duplicate and miss.
   */
  expectExactlyOncePerFire(options: { from?: number; to?: number; settleMs?: number; jobs?: string[] } = {}): ExactlyOnceReport {
    const from = options.from ?? this.startedAt;
    const to = options.to ?? this.clock.now() - (options.settleMs ?? 5_000);
    const expected = new Map<string, number[]>();
    for (const job of this.jobs) {
      if (options.jobs && !options.jobs.includes(job.name)) continue;
      if (!job.cfg.cronSpec) continue;
      expected.set(job.name, instantsOf(job.cfg.cronSpec, job.cfg.timezone ?? 'UTC', from, to));
    }
    return expectExactlyOncePerFire(this.ledger, expected);
  }
}

export function createSimulatedCluster(options: SimulatedClusterOptions): SimulatedCluster {
  return new SimulatedCluster(options);
}

export interface ExactlyOnceReport {
  expected: number;
  ran: number;
  duplicates: Array<{ fireId: string; attempt: number; nodes: string[] }>;
  missed: Array<{ jobName: string; instant: number }>;
  /** Runs per node (first attempts of cron fires). */
  perNode: Map<string, number>;
}

/**
 * Every expected `(job, instant)` ran at least once, and no `(fire, attempt)`
 * ran twice (a recovered run is attempt 2, not a duplicate). Throws with the
 * duplicates and misses listed; returns the report when clean.
 */
export function expectExactlyOncePerFire(ledger: readonly LedgerEntry[], expected: Map<string, number[]>): ExactlyOnceReport {
  const runs = new Map<string, LedgerEntry[]>();
  for (const e of ledger) {
    const key = `${e.fireId}#${e.attempt}`;
    const list = runs.get(key);
    if (list) list.push(e);
    else runs.set(key, [e]);
  }
  const duplicates: ExactlyOnceReport['duplicates'] = [];
  for (const list of runs.values()) {
    if (list.length > 1) {
      const first = list[0] as LedgerEntry;
      duplicates.push({ fireId: first.fireId, attempt: first.attempt, nodes: list.map((e) => e.nodeId) });
    }
  }
  const ranInstants = new Set(ledger.filter((e) => e.scheduledAt !== undefined).map((e) => `${e.jobName}@${e.scheduledAt}`));
  const missed: ExactlyOnceReport['missed'] = [];
  let total = 0;
  for (const [jobName, instants] of expected) {
    for (const instant of instants) {
      total += 1;
      if (!ranInstants.has(`${jobName}@${instant}`)) missed.push({ jobName, instant });
    }
  }
  const perNode = new Map<string, number>();
  for (const e of ledger) if (e.attempt === 1) perNode.set(e.nodeId, (perNode.get(e.nodeId) ?? 0) + 1);
  const report = { expected: total, ran: ledger.length, duplicates, missed, perNode };
  if (duplicates.length > 0 || missed.length > 0) {
    const lines = [
      `exactly once per fire failed: ${duplicates.length} duplicate(s), ${missed.length} miss(es) of ${total} expected fires`,
      ...duplicates.slice(0, 20).map((d) => `  duplicate ${d.fireId} attempt ${d.attempt} on ${d.nodes.join(', ')}`),
      ...missed.slice(0, 20).map((m) => `  missed ${m.jobName} at ${new Date(m.instant).toISOString()}`),
    ];
    throw new Error(lines.join('\n'));
  }
  return report;
}

/** The cron instants of `spec` in `(from, to]`. */
export function instantsOf(spec: string, timezone: string, from: number, to: number): number[] {
  const cron = parseCron(spec, timezone);
  const out: number[] = [];
  for (let t = cron.next(from); t !== undefined && t <= to; t = cron.next(t)) out.push(t);
  return out;
}
