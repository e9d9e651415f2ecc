import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { Chain, type ChainHost, type WrapperEnv } from './chain.js';
import {
  configDocumentSchema,
  jobNameSchema,
  type ConfigDocument,
  type ConfigDocumentInput,
  type TaskCfg,
} from './config/schema.js';
import { parseOrThrow } from './config/validate.js';
import { compileCron, type CronSpec } from './cron/spec.js';
import { describeInstant, type FireTime } from './cron/preview.js';
import {
  InvalidArgumentError,
  InvalidConfigError,
  DuplicateJobError,
  JobAbortedError,
  LeaseLostError,
  MissingPackageError,
  SchedulerStateError,
  UnknownJobError,
  isSchedError,
  toError,
  type ConfigIssue,
} from './errors.js';
import { TypedEmitter, type SchedulerEventName, type SchedulerEvents } from './events.js';
import { isShardingJob, type AnyJob, type ShardContext } from './job.js';
import type { ConfigLoadStrategy, ExecutionOutcome, ExecutionSnapshot, FireKind, MisfirePolicy } from './model.js';
import type { Clock } from './ports/clock.js';
import { SystemClock } from './ports/clock.js';
import type { DagRunReport, DependencyCoordinator } from './ports/dependency-coordinator.js';
import type { ClaimedFire, FireLease, WonFire } from './ports/lock-manager.js';
import { cronFireId } from './ports/lock-manager.js';
import type { Logger } from './ports/logger.js';
import { createConsoleLogger } from './ports/logger.js';
import type { ClusterMetrics, ClusterMetricsOptions, MetricsHost, MetricsSink } from './ports/metrics-sink.js';
import type { JobSummary, LocalNodeInfo, NodeInfo, NodeRegistry } from './ports/node-registry.js';
import type { FireRecord } from './ports/state-store.js';
import type { PubSub } from './ports/pubsub.js';
import type { ExecuteRequest, ExecuteResult, RemoteExecutor } from './ports/remote-executor.js';
import type { SchedulerCache } from './ports/scheduler-cache.js';
import type { RunFireRequest, SchedulerHost } from './ports/scheduler-host.js';
import type { ShardPlanner } from './ports/shard-planner.js';
import type { SnapshotRepository } from './ports/snapshot-repository.js';
import { FileStore } from './memory/file-store.js';
import { MemorySchedulerCache } from './memory/scheduler-cache.js';
import { MemoryNodeRegistry } from './memory/node-registry.js';
import { MemoryPubSub } from './memory/pubsub.js';
import { MemorySnapshotRepository } from './memory/snapshot-repository.js';
import { LocalRemoteExecutor } from './remote/local-executor.js';
import { CatchupPacer } from './engine/catchup.js';
import { CircuitBreaker, type BreakerState } from './engine/circuit-breaker.js';
import { ClaimAnnouncer } from './engine/claim-announcer.js';
import { ClaimQueue, type PendingFire } from './engine/claim-queue.js';
import { Counters, type JobMetrics, type SchedulerMetrics } from './engine/counters.js';
import { Defaults } from './engine/defaults.js';
import { Dispatcher } from './engine/dispatcher.js';
import { HeldFires, type HeldFire } from './engine/held-fires.js';
import { FireExecutor } from './engine/fire-executor.js';
import { JobEntry, type FireTask } from './engine/job-entry.js';
import { LeaseKeeper, type LeaseHolder } from './engine/lease-keeper.js';
import { Membership } from './engine/membership.js';
import { TakeoverSweep } from './engine/takeover-sweep.js';
import { instantsBetween } from './engine/missed.js';
import { previewMisfire, type MisfirePreview } from './engine/misfire-preview.js';
import { resolveOptions, type ResolvedTuning, type SchedulerOptions } from './engine/options.js';
import { Reporter } from './engine/reporter.js';
import { ScheduleTimer } from './engine/schedule-timer.js';
import { SnapshotWriter } from './engine/snapshot-writer.js';
import { asRunnableJob } from './engine/sharding-job.js';
import { compileFor, effectiveCfg, validateTaskCfg, type EffectiveCfg } from './engine/task-config.js';
import { ConfigSync, type ChangeOptions } from './engine/config-sync.js';
import { mergeLayers, type MergedLayers } from './engine/config-layers.js';
import { diffDocuments, type ConfigChange } from './engine/config-diff.js';
import type { VersionedConfig } from './ports/config-store.js';
import { VERSION } from './version.js';
import { newExecutionId } from './internal/execution-id.js';

/** What `getJobs()` reports per job. */
export interface JobInfo {
  jobName: string;
  cronSpec: string | undefined;
  timezone: string;
  priority: number;
  enabled: boolean;
  paused: boolean;
  overlapPrevent: boolean;
  timeoutMs: number | undefined;
  dependencies: readonly string[];
  shardingEnabled: boolean;
  shardingTotal: number | undefined;
  misfirePolicy: MisfirePolicy;
  /** The next instant the schedule will fire, if it is scheduled. */
  nextFireAt: Date | undefined;
  /** Fires of the job accepted on this node and not finished. */
  inFlight: number;
  breaker: BreakerState | undefined;
  /** Where the cron spec comes from: the `registerJob` cfg or the configuration document. */
  source: 'code' | 'config' | 'none';
}

export type SchedulerState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

/** What `getConfig()` reports: the configuration in effect on this node and where it came from. */
export interface EffectiveConfig {
  /** The shared configuration's version this node applied (0: none). */
  version: number;
  updatedAt: Date | undefined;
  /** The node that wrote that version. */
  updatedBy: string | undefined;
  strategy: ConfigLoadStrategy;
  jobs: Record<
    string,
    {
      cfg: EffectiveCfg;
      /** Where the job's document entry came from (`'code'`: no document names it). */
      source: 'remote' | 'local' | 'code';
      /** Where each value came from: a document layer, `registerJob`'s cfg, or the default. */
      fields: Record<string, 'remote' | 'local' | 'code' | 'default'>;
    }
  >;
}

/** A version of the shared configuration with what changed from the version before it. */
export interface ConfigVersion extends VersionedConfig {
  diff: ConfigChange[];
}

/** At most this many instants of one job are taken per wake (a long stall continues on the next wake). */
const MAX_FIRES_PER_WAKE = 1_000;

/** What the dependency check needs of a job's config. */
type GraphCfg = Pick<EffectiveCfg, 'dependencies' | 'cronSpec' | 'timezone'>;

/**
 * The scheduler: registers jobs, fires them on their cron specs through the
 * ports, and runs each fire once (in a cluster, once in the whole cluster).
 *
 * ```ts
 * const sched = new Scheduler({ maxConcurrency: 10 });
 * sched.registerJob({ name: 'report', execute: async (ctx) => { … } }, { cronSpec: '0 0 1 * * *' });
 * await sched.start();
 * …
 * await sched.stop();
 * ```
 */
export class Scheduler {
  readonly nodeId: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly schedulerCache: SchedulerCache;
  readonly pubsub: PubSub;
  readonly registry: NodeRegistry;
  /**
   * The execution history (the `snapshotRepository` option, memory by
   * default). Reads through this property see every write the scheduler
   * queued before the call (writes are behind, so a fire never waits on them).
   */
  readonly snapshotRepository: SnapshotRepository;
  readonly remoteExecutor: RemoteExecutor;
  readonly dependencyCoordinator: DependencyCoordinator | undefined;
  readonly shardPlanner: ShardPlanner | undefined;

  private readonly tuning: ResolvedTuning;
  private readonly chain: Chain;
  private readonly wrapperEnv: WrapperEnv;
  private readonly events: TypedEmitter<SchedulerEvents>;
  private readonly reporter: Reporter;
  private readonly counters: Counters;
  private readonly jobs = new Map<string, JobEntry>();
  private readonly timer: ScheduleTimer<JobEntry>;
  private readonly claims: ClaimQueue;
  /** Fires claimed ahead of their instant (`claimAheadMs`), started at it. */
  private readonly held: HeldFires;
  /** The embedded store's files (`dataDir`), closed when the scheduler stops. */
  private fileStore: FileStore | undefined;
  private readonly dispatcher: Dispatcher<FireTask>;
  private readonly executor: FireExecutor;
  private readonly announcer: ClaimAnnouncer;
  private readonly leaseKeeper: LeaseKeeper;
  private readonly catchup: CatchupPacer;
  private readonly membership: Membership;
  private readonly sweeper: TakeoverSweep;
  private registryListeners: Array<() => void> = [];
  /** Cron instants this node could not claim while the store was down, per job: recorded as misfires if the store then proves to have lost its data. */
  private readonly unclaimedWhileDown = new Map<string, number[]>();
  private readonly snapshotWriter: SnapshotWriter;
  private readonly host: SchedulerHost;
  private readonly metricsHost: MetricsHost;
  /** Dependency releases of runs that ended, in flight. */
  private readonly releasing = new Set<Promise<void>>();
  private document: ConfigDocument | undefined;
  private stateValue: SchedulerState = 'idle';
  private stopPromise: Promise<void> | undefined;
  private idleWaiters: Array<() => void> = [];
  /** This node's own configuration document (`loadFromConfig(doc, { scope: 'node' })`, a local file). */
  private localDoc: ConfigDocument | undefined;
  /** The cluster's shared document as last applied (every job, served here or not). */
  private sharedDoc: ConfigDocument | undefined;
  /** The shared configuration this node follows (absent with `configLoadStrategy: 'local-only'`). */
  private readonly configSync: ConfigSync | undefined;
  /** Parent executions of sharded fires running on this node (outside the dispatcher). */
  private readonly shardedFires = new Set<Promise<void>>();
  private registryUpdatePending = false;
  private registrations = 0;
  /** Claims in flight that were told to start at once: each holds a free slot until it answers. */
  private startsPromised = 0;

  constructor(options: SchedulerOptions = {}) {
    this.tuning = resolveOptions(options);
    const t = this.tuning;
    if (options.nodeId !== undefined && options.distributed && options.distributed.nodeId !== options.nodeId) {
      throw new InvalidArgumentError(
        'new Scheduler',
        `nodeId "${options.nodeId}" differs from the registry's nodeId "${options.distributed.nodeId}"`,
      );
    }
    this.clock = options.clock ?? new SystemClock();
    this.counters = new Counters(() => this.clock.now());
    this.nodeId = options.distributed?.nodeId ?? t.nodeId ?? `${hostname()}-${process.pid}`;
    this.logger = options.logger ?? createConsoleLogger({ bindings: { nodeId: this.nodeId } });
    this.schedulerCache =
      options.schedulerCache ??
      new MemorySchedulerCache(
        options.dataDir === undefined
          ? { clock: this.clock }
          : { store: (this.fileStore = new FileStore({ dataDir: options.dataDir, clock: this.clock })) },
      );
    this.pubsub = options.pubsub ?? new MemoryPubSub({ logger: this.logger });
    this.registry = options.distributed ?? new MemoryNodeRegistry({ nodeId: this.nodeId, clock: this.clock });
    const snapshots = options.snapshotRepository ?? new MemorySnapshotRepository({ clock: this.clock });
    this.snapshotWriter = new SnapshotWriter(snapshots, {
      clock: this.clock,
      logger: this.logger,
      onError: (error) => this.reporter.error('snapshot write', error),
    });
    this.snapshotRepository = readYourWrites(snapshots, this.snapshotWriter);
    this.remoteExecutor = options.remoteExecutor ?? new LocalRemoteExecutor();
    this.dependencyCoordinator = options.dependencyCoordinator;
    this.shardPlanner = options.shardPlanner;
    this.chain = options.chain ?? new Chain();
    this.wrapperEnv = { clock: this.clock, logger: this.logger, nodeId: this.nodeId };

    this.events = new TypedEmitter<SchedulerEvents>((event, error) =>
      this.logger.error('event listener threw', { event: String(event), error: toError('listener', error) }),
    );
    this.reporter = new Reporter(this.events, this.snapshotWriter, this.logger, () => this.clock.now());
    this.reporter.addSink(this.counters);
    const sinks =
      options.metricsSink === undefined ? [] : Array.isArray(options.metricsSink) ? options.metricsSink : [options.metricsSink];
    for (const sink of sinks as MetricsSink[]) this.reporter.addSink(sink);
    const chainHost: ChainHost = { addMetricsSink: (sink) => this.reporter.addSink(sink) };
    this.chain.attach(chainHost);

    const { lockManager } = this.schedulerCache;
    this.leaseKeeper = new LeaseKeeper(this.clock, t.leaseRenewMs, this.logger, (reason) =>
      this.reporter.metric({ type: 'lease-error', reason }),
    );
    this.executor = new FireExecutor({
      clock: this.clock,
      logger: this.logger,
      nodeId: this.nodeId,
      lockManager,
      leaseKeeper: this.leaseKeeper,
      reporter: this.reporter,
      retentionOf: (task) => this.recordRetentionOf(task),
      isStopping: () => this.stateValue === 'stopping' || this.stateValue === 'stopped',
      resubmit: (task) => this.dispatcher.submit(task),
      releaseSlot: () => this.dispatcher.release(),
      onFireDone: (task, outcome) => this.onFireDone(task, outcome),
      abandonCountedByTaker: (task) => this.abandonCountedByTaker(task),
    });
    this.dispatcher = new Dispatcher<FireTask>(
      t.maxConcurrency,
      // runAttempt never throws (it reports what went wrong itself) and releases the slot once.
      (task) => this.executor.runAttempt(task),
      () => this.onSlotFree(),
    );
    this.timer = new ScheduleTimer<JobEntry>(this.clock, Defaults.maxSleepMs, (due, now) => this.onDue(due, now));
    this.announcer = new ClaimAnnouncer({
      pubsub: this.pubsub,
      clock: this.clock,
      logger: this.logger,
      nodeId: this.nodeId,
      keepMs: Math.max(10_000, 4 * t.takeoverGraceMs),
      delayMs: Math.floor(t.takeoverGraceMs / 4),
    });
    this.claims = new ClaimQueue({
      clock: this.clock,
      logger: this.logger,
      lockManager,
      nodeId: this.nodeId,
      leaseTtlMs: t.leaseTtlMs,
      graceMs: t.takeoverGraceMs,
      thresholdMs: t.misfireThresholdMs,
      budget: () => this.dispatcher.budget(t.maxQueued) - this.held.size,
      freeSlots: () => this.dispatcher.freeSlots(),
      onWon: (won, now) => this.onWon(won, now),
      onExpired: (fires, reason, now) => this.onUnclaimedExpired(fires, reason, now),
      onDataLoss: (fires, now) => this.onDataLoss(fires, now),
      onError: (error) => {
        this.reporter.metric({ type: 'claim-error', error });
        this.reporter.error('claim', error);
      },
      prepareAnnouncement: (fires) => (this.membership.size > 1 ? this.announcer.prepare(fires) : undefined),
      onClaimed: (fires) => {
        if (this.membership.size > 1) this.announcer.announce(fires);
      },
      claimedElsewhere: (fire) => this.announcer.claimedElsewhere(fire),
    });
    this.held = new HeldFires(this.clock, (fires, now) => this.onHeldInstant(fires, now));
    this.catchup = new CatchupPacer(this.clock, t.catchupIntervalMs, (entry, instant) =>
      this.background(this.runCatchup(entry, instant), 'catch-up', entry.name),
    );
    this.membership = new Membership(this.registry, this.nodeId, this.logger);
    this.sweeper = new TakeoverSweep({
      clock: this.clock,
      stateStore: this.schedulerCache.stateStore,
      intervalMs: Math.max(t.takeoverGraceMs, Math.floor(t.leaseTtlMs / 3)),
      limit: 100,
      beforeSweep: () => this.membership.refresh(),
      onExpired: (record) => this.takeOver(record),
      onError: (error) => this.reporter.error('takeover sweep', error),
    });
    this.host = this.createHost();
    this.metricsHost = {
      nodeId: this.nodeId,
      logger: this.logger,
      pubsub: this.pubsub,
      getMetrics: (options) => this.getMetrics(options),
      load: () => ({ running: this.executor.runningCount, queued: this.dispatcher.queued }),
      getNodes: () => this.registry.getAllNodes(),
    };
    this.configSync =
      t.configLoadStrategy === 'local-only'
        ? undefined
        : new ConfigSync(this.schedulerCache.configStore, {
            nodeId: this.nodeId,
            logger: this.logger,
            check: (doc, api) => void this.planDocument(this.localPart(this.layers(undefined, doc).document), api),
            apply: (doc, api, since) => this.applyLayers(this.localDoc, doc, api, since),
          });
  }

  /** `idle` → `starting` → `running` → `stopping` → `stopped`. */
  get state(): SchedulerState {
    return this.stateValue;
  }

  // ─── events ──────────────────────────────────────────────────────────────

  /** Listens to a typed event; returns a function that stops listening. */
  on<K extends SchedulerEventName>(event: K, listener: (payload: SchedulerEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  off<K extends SchedulerEventName>(event: K, listener: (payload: SchedulerEvents[K]) => void): void {
    this.events.off(event, listener);
  }

  once<K extends SchedulerEventName>(event: K, listener: (payload: SchedulerEvents[K]) => void): () => void {
    return this.events.once(event, listener);
  }

  /** Resolves with the next matching event (rejects after `timeoutMs` of real time, default 10 s). */
  waitFor<K extends SchedulerEventName>(
    event: K,
    predicate?: (payload: SchedulerEvents[K]) => boolean,
    options?: { timeoutMs?: number; signal?: AbortSignal },
  ): Promise<SchedulerEvents[K]> {
    return this.events.waitFor(event, predicate, options);
  }

  // ─── registration ────────────────────────────────────────────────────────

  /**
   * Registers a job (a `Job` or a `ShardingJob`) with its configuration.
   * Without `cfg` the schedule comes from the configuration document
   * (`loadFromConfig`). Synchronous; throws `InvalidArgumentError`,
   * `DuplicateJobError`, `InvalidConfigError`, `InvalidCronError` or
   * `MissingPackageError` and changes nothing when it does.
   */
  registerJob(job: AnyJob, cfg?: TaskCfg): void {
    this.guard('registerJob', () => {
      if (this.stateValue === 'stopping' || this.stateValue === 'stopped') {
        throw new SchedulerStateError('registerJob', `the scheduler is ${this.stateValue}`);
      }
      const name = validateJob(job);
      if (this.jobs.has(name)) throw new DuplicateJobError('registerJob', name);
      const codeCfg = cfg === undefined ? undefined : validateTaskCfg('registerJob', name, cfg, this.capabilities());
      const layered = this.layers().document;
      const eff = effectiveCfg(codeCfg, layered.jobs[name], this.defaultTimezone(layered));
      checkShardingJob('registerJob', job, eff);
      const spec = compileFor('registerJob', eff);
      const entry = new JobEntry(name, job, this.chain.then(asRunnableJob(job), this.wrapperEnv), codeCfg, eff);
      entry.seq = ++this.registrations;
      entry.spec = spec;
      if (eff.circuitBreaker)
        entry.breaker = new CircuitBreaker(eff.circuitBreaker.maxFailures, eff.circuitBreaker.resetTimeoutMs);
      if (this.stateValue === 'running' && eff.dependencies.length > 0) this.validateGraph(new Map([[name, eff]]));
      this.jobs.set(name, entry);
      if (this.stateValue === 'running') {
        this.reschedule(entry, this.clock.now());
        this.scheduleRegistryUpdate();
      }
    });
  }

  /** Stops serving a job on this node (running fires finish). Throws `UnknownJobError`. */
  unregisterJob(name: string): void {
    this.guard('unregisterJob', () => {
      const entry = this.entry('unregisterJob', name);
      this.timer.unschedule(entry);
      this.catchup.forget(entry);
      this.jobs.delete(name);
      this.counters.remove(name);
      if (this.stateValue === 'running') this.scheduleRegistryUpdate();
    });
  }

  // ─── lifecycle ───────────────────────────────────────────────────────────

  /**
   * Starts firing: checks the dependency graph, registers this node, reads the
   * high-water marks (so instants missed while the cluster was down are found)
   * and arms the timer. Rejects with `SchedulerStateError` when not idle.
   */
  async start(): Promise<void> {
    if (this.stateValue !== 'idle') {
      throw this.logged(
        'start',
        new SchedulerStateError('start', `the scheduler is ${this.stateValue}; create a new one to start again`),
      );
    }
    this.stateValue = 'starting';
    let attached = 0;
    try {
      this.validateGraph();
      await this.registry.register(this.localNodeInfo());
      this.listenToRegistry();
      await this.membership.refresh();
      for (const adapter of this.adapters()) {
        await adapter.attach();
        attached += 1;
      }
      // The shared configuration first, so the first schedule is the cluster's.
      await this.configSync?.start();
    } catch (error) {
      this.stateValue = 'idle';
      for (const off of this.registryListeners.splice(0)) off();
      // What attached before the failure lets go again (a sink's timers, a coordinator's subscriptions).
      await this.detachAll(attached);
      // Registered before a later step failed: leave again, so no one waits on a node that never started.
      await this.registry.deregister().catch(() => undefined);
      throw this.logged('start', toError('start', error));
    }
    const now = this.clock.now();
    const marks = await this.readMarks();
    let unscheduled = 0;
    for (const entry of this.jobs.values()) {
      this.scheduleFromMark(entry, marks.get(entry.name), now);
      if (!entry.scheduled && entry.cfg.cronSpec === undefined && entry.cfg.dependencies.length === 0) unscheduled += 1;
    }
    if (unscheduled > 0) {
      this.logger.warn('jobs without a cron spec fire only when triggered', { count: unscheduled });
    }
    this.stateValue = 'running';
    this.timer.start();
    this.sweeper.start();
    this.background(this.resumeCatchups('start'), 'resume catch-up lists');
    this.logger.info('scheduler started', { jobs: this.jobs.size, scheduled: this.timer.size, version: VERSION });
  }

  /**
   * Graceful stop: no new fires; fires queued but not started are given back
   * (their claims released for other nodes); running jobs get `timeoutMs`
   * (default `stopTimeoutMs`, 30 s) to finish, then their `ctx.signal` aborts
   * and they are recorded `cancelled`. Resolves when every run has ended.
   */
  stop(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.stopPromise) return this.stopPromise;
    if (this.stateValue === 'idle') {
      this.stateValue = 'stopped';
      this.closeFileStore();
      this.stopPromise = Promise.resolve();
      return this.stopPromise;
    }
    const timeoutMs = options.timeoutMs ?? this.tuning.stopTimeoutMs;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 0) {
      return Promise.reject(
        this.logged(
          'stop',
          new InvalidArgumentError('stop', `timeoutMs must be a non-negative integer, got ${String(timeoutMs)}`),
        ),
      );
    }
    this.stopPromise = this.shutdown(timeoutMs);
    return this.stopPromise;
  }

  /** `await using sched = new Scheduler()` stops it when the scope ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  // ─── runtime controls ────────────────────────────────────────────────────

  /**
   * Replaces a job's cron spec, on every node unless `configLoadStrategy` is
   * `'local-only'` (a change of the shared configuration). The new spec
   * applies to instants after the change's time (the shared store's clock);
   * no instant runs twice across it. Throws `InvalidCronError` (nothing
   * changes), `UnknownJobError` or `ConfigConflictError`.
   */
  async updateCronSpec(name: string, cronSpec: string, options?: ChangeOptions): Promise<void> {
    this.guard('updateCronSpec', () => {
      const entry = this.entry('updateCronSpec', name);
      compileCron(cronSpec, entry.cfg.timezone, 'updateCronSpec');
    });
    await this.changeJob('updateCronSpec', name, { cronSpec }, options);
  }

  /**
   * Applies a configuration document (SPEC.md): each entry configures the
   * registered job of that name, field by field over its `registerJob` cfg; a
   * job dropped from the document goes back to its code cfg. All or nothing:
   * an invalid document, a bad cron, an unknown job or a dependency cycle
   * throws a typed error naming the place, and the running config stays.
   * `scope: 'cluster'` (the default, unless `configLoadStrategy` is
   * `'local-only'`) makes it the shared document every node follows;
   * `scope: 'node'` makes it this node's local document, weighed against the
   * shared one by `configLoadStrategy`.
   */
  async loadFromConfig(document: ConfigDocumentInput, options?: ChangeOptions & { scope?: 'cluster' | 'node' }): Promise<void> {
    let doc: ConfigDocument | undefined;
    const toCluster = this.configSync !== undefined && options?.scope !== 'node';
    this.guard('loadFromConfig', () => {
      doc = parseOrThrow(configDocumentSchema, document, 'loadFromConfig');
      // Checked here, whatever the cluster holds: every job it names must have code on this node.
      for (const name of Object.keys(doc.jobs)) {
        if (!this.jobs.has(name))
          throw new UnknownJobError(
            'loadFromConfig',
            name,
            'is in the configuration document but has no registered code on this node',
          );
      }
      if (toCluster) {
        this.planDocument(this.layers(undefined, doc).document, 'loadFromConfig');
        return;
      }
      if (this.tuning.configLoadStrategy === 'remote-only') {
        this.logger.warn("a local configuration document is ignored with configLoadStrategy 'remote-only'", {
          jobs: Object.keys(doc.jobs).length,
        });
      }
      this.applyLayers(doc, this.sharedDoc, 'loadFromConfig');
    });
    const sync = this.configSync;
    if (toCluster && sync && doc) {
      const next = doc;
      await this.loggedAsync(
        'loadFromConfig',
        sync.change('loadFromConfig', () => next, options),
      );
    }
  }

  /**
   * Pauses a job: its instants are neither run nor recorded, and never
   * compensated. In a cluster (any `configLoadStrategy` but `'local-only'`)
   * the pause is a change of the shared configuration and holds on every node.
   */
  async pause(name: string, options?: ChangeOptions): Promise<void> {
    this.guard('pause', () => void this.entry('pause', name));
    if (!this.configSync) {
      this.entry('pause', name).localPaused = true;
      if (this.stateValue === 'running') this.scheduleRegistryUpdate();
      return;
    }
    await this.changeJob('pause', name, { paused: true }, options);
  }

  /** Resumes a paused job from its next instant (the paused ones are not made up); on every node in a cluster. */
  async resume(name: string, options?: ChangeOptions): Promise<void> {
    const entry = this.jobs.get(name);
    this.guard('resume', () => void this.entry('resume', name));
    if (!this.configSync) {
      if (!entry?.localPaused) return;
      entry.localPaused = false;
      if (this.stateValue === 'running') {
        this.reschedule(entry, this.clock.now());
        this.scheduleRegistryUpdate();
      }
      return;
    }
    await this.changeJob('resume', name, { paused: undefined }, options);
  }

  /**
   * The configuration in effect on this node: the shared document's version
   * (0 without one), the strategy, and each job's effective cfg with the
   * layer its document entry came from (`'remote'`: the shared document,
   * `'local'`: this node's own, `'code'`: none) and where each value came
   * from (those, or `'default'`).
   */
  getConfig(): EffectiveConfig {
    const latest = this.configSync?.latest;
    const jobs: EffectiveConfig['jobs'] = {};
    const merged = this.layers();
    for (const e of this.jobs.values()) {
      const source = merged.sources.get(e.name);
      const entry = merged.document.jobs[e.name] as Record<string, unknown> | undefined;
      const code = e.codeCfg as Record<string, unknown> | undefined;
      const fields: EffectiveConfig['jobs'][string]['fields'] = {};
      for (const field of Object.keys(e.cfg)) {
        fields[field] =
          field === 'paused' && merged.pausedByShared.has(e.name)
            ? 'remote'
            : entry?.[field] !== undefined && source
              ? source
              : field === 'timezone' && merged.timezoneSource
                ? merged.timezoneSource
                : code?.[field] !== undefined
                  ? 'code'
                  : 'default';
      }
      jobs[e.name] = { cfg: { ...e.cfg }, source: source ?? 'code', fields };
    }
    return {
      version: latest?.version ?? 0,
      updatedAt: latest ? new Date(latest.updatedAt) : undefined,
      updatedBy: latest?.nodeId,
      strategy: this.tuning.configLoadStrategy,
      jobs,
    };
  }

  /** The shared configuration's versions, newest first: version, time, node, actor, reason, document, and the diff from the version before. */
  async configHistory(limit = 100): Promise<ConfigVersion[]> {
    const versions = await this.loggedAsync('configHistory', this.schedulerCache.configStore.history(limit + 1));
    return versions.slice(0, limit).map((v, i) => ({ ...v, diff: diffDocuments(versions[i + 1]?.document, v.document) }));
  }

  /** Restores an earlier version's document as a new version (every node follows). */
  async rollbackConfig(version: number, options?: ChangeOptions): Promise<void> {
    const sync = this.configSync;
    if (!sync) {
      throw this.logged(
        'rollbackConfig',
        new SchedulerStateError('rollbackConfig', "there is no shared configuration with configLoadStrategy 'local-only'"),
      );
    }
    await this.loggedAsync('rollbackConfig', sync.rollback(version, options));
  }

  /** One job's fields changed in the configuration: shared (a new version) or, with 'local-only', this node's own. */
  private async changeJob(api: string, name: string, fields: Partial<TaskCfg>, options?: ChangeOptions): Promise<void> {
    const editJob = (doc: ConfigDocument): ConfigDocument => {
      const job: TaskCfg = { ...(doc.jobs[name] ?? {}), ...fields };
      for (const [k, v] of Object.entries(fields)) if (v === undefined) delete (job as Record<string, unknown>)[k];
      doc.jobs[name] = job;
      return doc;
    };
    const sync = this.configSync;
    if (!sync) {
      this.guard(api, () => this.applyLayers(editJob(structuredClone(this.localDoc ?? { jobs: {} })), this.sharedDoc, api));
      return;
    }
    await this.loggedAsync(api, sync.change(api, editJob, options));
  }

  /** Awaits `work`, logging a typed error it rejects with before rethrowing it. */
  private async loggedAsync<T>(api: string, work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (error) {
      throw this.logged(api, toError(api, error));
    }
  }

  /**
   * Runs a job once now, as a fire with a fresh id (whatever its schedule,
   * paused or disabled), through the dispatcher. Resolves with the outcome
   * of its last attempt (`skipped` with a reason when overlap or the breaker
   * stopped it). Rejects with `UnknownJobError` or `SchedulerStateError`.
   */
  trigger(name: string, params?: Record<string, unknown>): Promise<ExecutionOutcome> {
    if (params !== undefined && (typeof params !== 'object' || params === null || Array.isArray(params))) {
      return Promise.reject(this.logged('trigger', new InvalidArgumentError('trigger', 'params must be a plain object')));
    }
    return this.runFire('trigger', { jobName: name, kind: 'manual', ...(params ? { params } : {}) });
  }

  /** Runs a job through the `RemoteExecutor` (on this node by default) and reports each node's outcome. */
  execute(request: ExecuteRequest): Promise<ExecuteResult> {
    return this.remoteExecutor.execute(request);
  }

  /** Aborts a running execution (`ctx.signal`); it is recorded `cancelled`. False when none has that id. */
  cancel(executionId: string): Promise<boolean> {
    return this.remoteExecutor.cancel(executionId);
  }

  // ─── queries ─────────────────────────────────────────────────────────────

  getJobs(): JobInfo[] {
    return [...this.jobs.values()].map((e) => this.jobInfo(e));
  }

  getJob(name: string): JobInfo {
    return this.jobInfo(this.entry('getJob', name));
  }

  /**
   * The next `count` instants of a job's spec from now, each with its wall
   * time and a DST mark where a transition moved it. Empty for a job without
   * a cron spec.
   */
  nextFireTimes(name: string, count = 5): FireTime[] {
    const entry = this.entry('nextFireTimes', name);
    if (!Number.isInteger(count) || count < 1 || count > 10_000) {
      throw this.logged(
        'nextFireTimes',
        new InvalidArgumentError('nextFireTimes', `count must be an integer from 1 to 10000, got ${String(count)}`),
      );
    }
    const spec = entry.spec;
    if (!spec) return [];
    return spec.take(this.clock.now(), count).map((t) => describeInstant(spec, t));
  }

  /**
   * A dry run of misfire compensation: for each job (or the one named) that
   * fires on a cron spec, the instants missed since its high-water mark, the
   * policy, the runs it would make and what it would only record, plus any
   * stored catch-up list a start resumes. Nothing is claimed or recorded; call
   * it before `start()` to see what a start would replay.
   */
  async previewMisfires(name?: string): Promise<MisfirePreview[]> {
    const entries = name === undefined ? [...this.jobs.values()] : [this.entry('previewMisfires', name)];
    const firing = entries.filter((e) => this.fires(e) && e.spec);
    if (firing.length === 0) return [];
    const names = firing.map((e) => e.name);
    const { stateStore } = this.schedulerCache;
    const [marks, lists] = await Promise.all([stateStore.getMarks(names), stateStore.getCatchups(names)]);
    const now = this.clock.now();
    const out: MisfirePreview[] = [];
    for (const entry of firing) {
      const preview = previewMisfire({
        jobName: entry.name,
        spec: entry.spec as CronSpec,
        policy: entry.cfg.misfirePolicy,
        mark: marks.get(entry.name),
        stored: lists.get(entry.name),
        now,
        thresholdMs: this.tuning.misfireThresholdMs,
        maxCatchup: this.tuning.misfireMaxCatchup,
        recordLimit: Defaults.misfireRecordLimit,
      });
      if (preview) out.push(preview);
    }
    return out;
  }

  /**
   * One DAG run (SPEC.md §2): every job of the root's graph with its state in
   * the run (pending, running, completed, failed, skipped) and the node that
   * ran it. A cron run is named by the root and its instant; a manual or remote
   * run by the root fire's id. Null when no such run is known (any more).
   */
  async getDagRun(rootJob: string, instantOrFireId: Date | number | string): Promise<DagRunReport | null> {
    const coordinator = this.dependencyCoordinator;
    if (!coordinator?.getRun) {
      throw this.logged('getDagRun', new MissingPackageError('getDagRun', 'DAG runs', '@sched/dag', 'dependencyCoordinator'));
    }
    return coordinator.getRun(rootJob, instantOrFireId instanceof Date ? instantOrFireId.getTime() : instantOrFireId);
  }

  /**
   * Counts of this node's runs for every job, or for the jobs named (core's
   * counters; SPEC.md's counting rules). `totals` sum the same jobs.
   */
  getMetrics(options: { jobNames?: readonly string[] } = {}): SchedulerMetrics {
    const names = options.jobNames ? options.jobNames.filter((n) => this.jobs.has(n)) : [...this.jobs.keys()];
    const { totals, jobs } = this.counters.all(names);
    return { nodeId: this.nodeId, running: this.executor.runningCount, queued: this.dispatcher.queued, totals, jobs };
  }

  getJobMetrics(name: string): JobMetrics {
    this.entry('getJobMetrics', name);
    return this.counters.forJob(name);
  }

  /**
   * Every live node's counters and their sums, gathered by an attached
   * metrics sink that can ask the other nodes (`MetricsCollector` of
   * `@sched/metrics`, over the PubSub port). Nodes that do not answer within
   * the timeout are listed in `missing`.
   */
  async getClusterMetrics(options?: ClusterMetricsOptions): Promise<ClusterMetrics> {
    const sink = this.reporter.metricsSinks.find((s) => s.getClusterMetrics !== undefined);
    if (!sink?.getClusterMetrics) {
      throw this.logged(
        'getClusterMetrics',
        new MissingPackageError('getClusterMetrics', 'the cluster aggregate', '@sched/metrics', 'metricsSink'),
      );
    }
    if (this.stateValue !== 'running') {
      throw this.logged('getClusterMetrics', new SchedulerStateError('getClusterMetrics', `the scheduler is ${this.stateValue}`));
    }
    return sink.getClusterMetrics(this.metricsHost, options);
  }

  /** The live nodes of the cluster (this node alone without a shared registry). */
  getNodes(): Promise<NodeInfo[]> {
    return this.registry.getAllNodes();
  }

  /** The configuration document in effect (after `loadFromConfig` and `updateCronSpec`), if any. */
  getConfigDocument(): ConfigDocument | undefined {
    return this.document ? structuredClone(this.document) : undefined;
  }

  // ─── scheduling ──────────────────────────────────────────────────────────

  /** Whether the schedule timer should fire this job by its own cron spec. */
  private fires(entry: JobEntry): boolean {
    // Dependents fire when the DependencyCoordinator releases them, not on their own.
    return entry.spec !== undefined && entry.cfg.enabled && entry.cfg.dependencies.length === 0;
  }

  /** Puts a job on the timer from `now` (registration, resume, a new spec): nothing before now is owed. */
  private reschedule(entry: JobEntry, now: number): void {
    if (this.fires(entry) && entry.spec) {
      entry.next = entry.spec.next(now) ?? Number.NaN;
      entry.activeSince = now;
    } else {
      entry.next = Number.NaN;
    }
    this.timer.schedule(entry);
  }

  /**
   * At start: a job whose mark lags behind its latest instant missed fires
   * while no node ran it; it starts from the first missed instant so the
   * first wake claims the latest and the claim reports the gap.
   */
  private scheduleFromMark(entry: JobEntry, mark: number | undefined, now: number): void {
    const spec = entry.spec;
    if (!this.fires(entry) || !spec) {
      entry.next = Number.NaN;
      this.timer.schedule(entry);
      return;
    }
    const latest = mark === undefined ? undefined : spec.prev(now + 1);
    if (mark !== undefined && latest !== undefined && mark < latest) {
      entry.next = spec.next(mark) ?? Number.NaN;
      entry.activeSince = Number.NEGATIVE_INFINITY;
      this.timer.schedule(entry);
      return;
    }
    this.reschedule(entry, now);
    if (mark !== undefined) entry.activeSince = Number.NEGATIVE_INFINITY;
  }

  private async readMarks(): Promise<Map<string, number>> {
    const names = [...this.jobs.values()].filter((e) => this.fires(e)).map((e) => e.name);
    if (names.length === 0) return new Map();
    try {
      return await this.schedulerCache.stateStore.getMarks(names);
    } catch (error) {
      this.reporter.error('getMarks', toError('start', error));
      this.logger.warn('started without the high-water marks: missed instants are found by the first claims instead');
      return new Map();
    }
  }

  /**
   * The timer woke with `due` jobs. For each, the instants to claim now are
   * those not older than the misfire threshold; if every instant since the
   * last is older, the latest alone is claimed (late), so the claim reports
   * the gap and the policy decides. Paused jobs claim nothing.
   */
  private onDue(due: JobEntry[], now: number): void {
    const cutoff = now - this.tuning.misfireThresholdMs;
    const pending: PendingFire[] = [];
    for (const entry of due) {
      const spec = entry.spec;
      if (!spec || !this.fires(entry)) continue;
      // This job's fires go straight into `pending` (no array a job): they are pending[from..].
      const from = pending.length;
      let t: number | undefined = entry.next;
      if (t < cutoff) t = spec.next(cutoff - 1);
      // An instant this node holds claimed (a reschedule put it on the timer again) is handled at the instant.
      if (t !== undefined && t <= entry.heldUntil) t = spec.next(entry.heldUntil);
      let prev = this.prevInstant(entry, t);
      // The job's owner wakes `claimAheadMs` before its instant and claims it then (held until it);
      // a paused job's instant is judged at the instant (it may be resumed before).
      const horizon = entry.paused ? now : now + Math.max(0, -entry.wakeDelay);
      while (t !== undefined && t <= horizon && pending.length - from < MAX_FIRES_PER_WAKE) {
        pending.push({ jobName: entry.name, instant: t, prevInstant: prev, entry, priority: entry.cfg.priority });
        prev = t;
        t = spec.next(t);
      }
      if (pending.length === from) {
        const latest = spec.prev(now + 1);
        if (latest !== undefined && latest >= entry.next) {
          pending.push({
            jobName: entry.name,
            instant: latest,
            prevInstant: this.prevInstant(entry, latest),
            entry,
            priority: entry.cfg.priority,
          });
        }
        t = spec.next(Math.max(horizon, entry.heldUntil));
      }
      entry.next = t ?? Number.NaN;
      // A node that is not the job's preferred owner wakes for it at T + grace: the instant itself
      // is left to the owners (fewer processes busy at T), and its sweep claims what is left.
      const owner = this.isOwner(entry);
      entry.wakeDelay = !owner ? this.tuning.takeoverGraceMs : entry.paused ? 0 : -this.tuning.claimAheadMs;
      this.timer.schedule(entry);
      if (entry.paused) {
        for (let k = from; k < pending.length; k++) this.skipPaused(entry, (pending[k] as PendingFire).instant);
        pending.length = from;
        continue;
      }
      // Not the preferred node: sweep at T + grace for what the owner left unclaimed.
      if (!owner) {
        for (let k = from; k < pending.length; k++) {
          const f = pending[k] as PendingFire;
          f.notBefore = f.instant + this.tuning.takeoverGraceMs;
        }
      }
    }
    this.claims.add(pending);
  }

  /** A paused job's instant: a `skip` event (`paused`), nothing recorded (its instants are not owed). */
  private skipPaused(entry: JobEntry, instant: number): void {
    this.reporter.skip(
      {
        jobName: entry.name,
        fireId: cronFireId(entry.name, instant),
        scheduledAt: instant,
        kind: 'cron',
        nodeId: this.nodeId,
        executionId: '',
      },
      'paused',
      false,
    );
  }

  /** Whether this node is the job's preferred node in the current view (cached per view). */
  private isOwner(entry: JobEntry): boolean {
    if (this.membership.size <= 1) return true;
    if (entry.ownerVersion !== this.membership.version) {
      entry.ownerVersion = this.membership.version;
      entry.owner = this.membership.ownerOf(entry.name) === this.nodeId;
    }
    return entry.owner;
  }

  private listenToRegistry(): void {
    const refresh = () => void this.membership.refresh();
    this.registryListeners.push(
      this.registry.on('join', refresh),
      this.registry.on('leave', (node) => {
        refresh();
        if (this.stateValue === 'running') {
          // It may have left a catch-up list halfway, and (stopped gracefully) released its queued
          // claims: take them now, not at the next sweep.
          this.background(this.resumeCatchups('leave'), 'resume catch-up lists', node.nodeId);
          this.background(this.sweeper.sweep(), 'takeover sweep', node.nodeId);
        }
      }),
      this.registry.on('replaced', () => {
        this.logger.error('another process took over this node id; stopping this scheduler', { nodeId: this.nodeId });
        if (this.stateValue === 'running') this.background(this.stop({ timeoutMs: 0 }), 'stop', this.nodeId);
      }),
    );
  }

  /**
   * A per-fire record whose lease lapsed. Claimed by id, so one node acts:
   * a fire that never started runs now (late); a run whose node died is
   * `abandoned`, or run again as the next attempt with `recoverAbandoned`.
   */
  private async takeOver(record: FireRecord): Promise<void> {
    const entry = this.jobs.get(record.jobName);
    if (!entry) {
      await this.endOrphan(record);
      return;
    }
    if (this.stateValue !== 'running') return;
    // A dependent of a DAG run, or a shard: its coordinator or planner re-runs or settles it.
    if (this.settledElsewhere(record.fireId)) return;
    // Our own record while the fire is still in our hands: the lease keeper decides on it.
    if (record.nodeId === this.nodeId && entry.inFlight > 0) return;
    const instant = cronInstantOf(record.fireId, record.jobName);
    const running = record.state === 'running';
    const { lockManager } = this.schedulerCache;
    // A sharded fire's parent only waits for its shards: running it again picks them up where they are
    // (handed over: the fire goes on as the next attempt, the dead parent's run is abandoned).
    const handedOver = running && this.parentOfShards(entry);
    const recover = running && (entry.cfg.recoverAbandoned || handedOver);
    const lease = await this.claimLapsed(record);
    if (!lease) return;
    const retention = { retentionMs: this.tuning.fireRecordRetentionMs };
    if (running) {
      // The run its node left is counted here, once (its node, if it wakes, leaves the count to us),
      // and its snapshot closed: abandoned, whether or not it is recovered as the next attempt.
      if (!recover) await lockManager.finishFire(lease, 'abandoned', retention);
      await this.countLeftRun(record, instant);
    }
    if (running && !recover) {
      this.logger.warn('fire abandoned: its node stopped renewing the lease mid-run', {
        jobName: entry.name,
        fireId: record.fireId,
        node: record.nodeId,
      });
      return;
    }
    if (instant === undefined && !running) {
      // A manual or remote fire whose node died before starting it: its caller is gone with it.
      await lockManager.finishFire(lease, 'cancelled', retention);
      this.logger.warn('fire given up: its node died before starting it and its caller is gone', { fireId: record.fireId });
      return;
    }
    if (entry.paused) {
      await lockManager.finishFire(lease, 'skipped', retention);
      return;
    }
    const task = this.cronTask(entry, { ...lease, instant: instant as number }, instant === undefined ? 'manual' : 'cron');
    if (instant === undefined) task.scheduledAt = undefined;
    if (recover) task.attempt = 2;
    this.logger.warn(
      recover ? 'running an abandoned fire again (recoverAbandoned)' : 'taking over a fire its node claimed but never started',
      {
        jobName: entry.name,
        fireId: record.fireId,
        from: record.nodeId,
        attempt: task.attempt,
      },
    );
    // A fire claimed ahead of its instant and given back (its node stopped) still starts at its instant
    // (by this clock: a cluster clock's timer can wake a little early when its correction moved back).
    while (instant !== undefined && instant > this.clock.now()) {
      await new Promise<void>((resolve) => this.clock.setTimer(instant, resolve));
    }
    await this.accept(task, this.clock.now());
  }

  /**
   * A lapsed record of a job no live node serves (removed from the cluster while a node that
   * held one of its fires died): no one would ever take it over, and the sweep lists the oldest
   * lapsed records first, so enough of them would hide every later one. Ended here — `abandoned`
   * if it had started, `cancelled` if not — once it has been lapsed for two leases (time enough
   * for a node that serves the job, unseen in this node's view, to take it).
   */
  private async endOrphan(record: FireRecord): Promise<void> {
    if (this.stateValue !== 'running') return;
    if (record.expiresAt > this.clock.now() - 2 * this.tuning.leaseTtlMs) return;
    if (this.membership.nodesServing(record.jobName).some((id) => id !== this.nodeId)) return;
    const running = record.state === 'running';
    const lease = await this.claimLapsed(record);
    if (!lease) return;
    await this.schedulerCache.lockManager.finishFire(lease, running ? 'abandoned' : 'cancelled', {
      retentionMs: this.tuning.fireRecordRetentionMs,
    });
    this.logger.warn('fire record of a job no live node serves ended', {
      jobName: record.jobName,
      fireId: record.fireId,
      node: record.nodeId,
      status: running ? 'abandoned' : 'cancelled',
    });
  }

  /** Claims a record whose lease lapsed, by id (one node wins it); a running one only as its taker. */
  private claimLapsed(record: FireRecord): Promise<ClaimedFire | null> {
    return this.schedulerCache.lockManager.claimFire(
      { fireId: record.fireId, jobName: record.jobName, recoverAbandoned: record.state === 'running', takeover: true },
      { nodeId: this.nodeId, leaseTtlMs: this.tuning.leaseTtlMs },
    );
  }

  /**
   * The run a dead node left on a record this node just claimed: counted abandoned here, once in
   * the cluster, and its snapshot closed (see `snapshotsOfLeftRun`).
   */
  private async countLeftRun(record: FireRecord, scheduledAt: number | undefined, shard?: ShardContext): Promise<void> {
    this.reporter.abandoned({
      jobName: record.jobName,
      fireId: record.fireId,
      scheduledAt,
      nodeId: record.nodeId,
      executionId: newExecutionId(),
      runs: await this.snapshotsOfLeftRun(record),
      ...(shard ? { shard: { shardIndex: shard.shardIndex, shardTotal: shard.shardTotal } } : {}),
    });
  }

  /** `SchedulerHost.abandonLeftRun`: a DAG dependent whose node died mid-run, ended without a re-run. */
  private async abandonLeftRun(record: FireRecord, scheduledAt: number | undefined): Promise<boolean> {
    const entry = this.jobs.get(record.jobName);
    if (!entry || this.stateValue !== 'running') return false;
    const lease = await this.claimLapsed(record);
    if (!lease) return false;
    await this.schedulerCache.lockManager.finishFire(lease, 'abandoned', { retentionMs: this.tuning.fireRecordRetentionMs });
    await this.countLeftRun(record, scheduledAt);
    return true;
  }

  /** A job whose fires run as shards: its parent execution only waits for them, and a takeover picks it up. */
  private parentOfShards(entry: JobEntry): boolean {
    return entry.cfg.shardingEnabled && this.shardPlanner !== undefined;
  }

  /** A fire whose records a DAG coordinator or a shard planner settles (the takeover sweep leaves it alone). */
  private settledElsewhere(fireId: string): boolean {
    return this.dependencyCoordinator?.ownsFire?.(fireId) === true || this.shardPlanner?.ownsFire(fireId) === true;
  }

  /**
   * The snapshots of the run a record's node left: `running` (it died before closing them) for
   * the node that took the record over to close, or `abandoned` already (it woke fenced off and
   * closed its own). None when the history is per node (the default memory one) or could not be
   * read: the taker then writes one born finished.
   */
  private async snapshotsOfLeftRun(record: FireRecord): Promise<ExecutionSnapshot[]> {
    try {
      const page = await this.snapshotRepository.list({
        jobName: record.jobName,
        status: ['running', 'abandoned'],
        nodeId: record.nodeId,
        limit: 1_000,
      });
      return page.items.filter((s) => s.fireId === record.fireId);
    } catch (error) {
      this.reporter.error('snapshots.list', toError(record.jobName, error), record.jobName);
      return [];
    }
  }

  /**
   * For a run fenced off by a lost lease: whether the node that takes its record over counts it
   * (see `takeOver`). The record is still there (ours and lapsed, or already taken): yes. Gone
   * (the store lost its data): no, the fenced node counts it.
   * A node frozen so long that the taker's finished record passed `fireRecordRetentionMs` too
   * finds it gone and counts the run a second time: the store keeps nothing older to tell.
   */
  private async abandonCountedByTaker(task: FireTask): Promise<boolean> {
    // Shards and DAG dependents too: their planner or coordinator takes them over through the host
    // (`runFire({ takesOverFrom })`, `abandonLeftRun`), which counts them.
    return (await this.schedulerCache.stateStore.getFireRecord(task.fireId)) !== null;
  }

  /**
   * The store lost its data after these fires were due: they may have run
   * before, so they are recorded as misfired (never run), with the instants
   * this node could not claim while the store was down.
   */
  private onDataLoss(fires: PendingFire[], now: number): void {
    for (const fire of fires) {
      const entry = this.jobs.get(fire.jobName);
      if (!entry) continue;
      const earlier = (this.unclaimedWhileDown.get(entry.name) ?? []).filter((t) => t < fire.instant);
      this.unclaimedWhileDown.delete(entry.name);
      const instants = [...earlier, fire.instant];
      this.reportMisfire(entry, instants, instants, 'recorded', 'data-loss');
    }
    this.logger.warn(
      'the store lost its data (restart without persistence, FLUSHALL?): instants that may have run are recorded as misfired',
      {
        count: fires.length,
        now,
      },
    );
  }

  /**
   * The spec's instant before `instant`, if the job was active on this spec
   * at it (owed instants are those after `activeSince`); else no gap can be owed.
   */
  private prevInstant(entry: JobEntry, instant: number | undefined): number | undefined {
    if (instant === undefined || !entry.spec || instant <= entry.activeSince) return undefined;
    const p = entry.spec.prev(instant);
    return p !== undefined && p > entry.activeSince ? p : undefined;
  }

  /**
   * Fires this node won: those claimed ahead of their instant are held until it;
   * the others' gaps are sorted into late runs and misses, then everything is accepted.
   */
  private onWon(won: HeldFire[], now: number): void {
    const threshold = this.tuning.misfireThresholdMs;
    let early: HeldFire[] | undefined;
    for (const { fire, claim, startRequest } of won) {
      if (claim.instant > now) {
        (early ??= []).push({ fire, claim });
        if (claim.instant > fire.entry.heldUntil) fire.entry.heldUntil = claim.instant;
        continue;
      }
      // The store kept its data: the claim's gap accounts for what was missed.
      if (this.unclaimedWhileDown.size > 0) this.unclaimedWhileDown.delete(claim.jobName);
      const entry = this.jobs.get(claim.jobName);
      if (!entry || entry !== fire.entry || !entry.spec) {
        // Unregistered while the claim was in flight: give it back.
        this.schedulerCache.lockManager
          .releaseFire(claim)
          .catch((e: unknown) => this.reporter.error('releaseFire', toError(claim.jobName, e)));
        continue;
      }
      // Made only for a claim with a gap (not an array a fire).
      let missed: number[] | undefined;
      let moreMissed = false;
      if (claim.gapAfter !== undefined) {
        const gap = instantsBetween(entry.spec, claim.gapAfter, claim.instant, Defaults.misfireRecordLimit);
        moreMissed = gap.more;
        for (const t of gap.instants) {
          if (t <= entry.activeSince) continue; // paused, disabled or on another spec then: not owed
          if (now - t <= threshold) this.background(this.runLate(entry, t), 'late fire', entry.name);
          else (missed ??= []).push(t);
        }
      }
      const late = now - claim.instant > threshold;
      const task = this.cronTask(entry, claim, 'cron');
      task.markGuarded = true;
      if (startRequest) task.startRequest = startRequest;
      if (missed === undefined && !late) {
        this.acceptInBackground(task, now);
        continue;
      }
      this.applyMisfirePolicy(entry, task, missed ?? [], moreMissed, late, missed ? 'claim-gap' : 'late-wake', now);
    }
    if (early) this.held.hold(early);
  }

  /**
   * The instant of fires claimed ahead came: each is handed on as if won now, unless its
   * job changed meanwhile — paused (recorded skipped, as at the instant), or no longer due
   * at this instant (disabled, another spec, unregistered): its claim is closed unrun.
   */
  private onHeldInstant(fires: HeldFire[], now: number): void {
    const due: HeldFire[] = [];
    for (const held of fires) {
      const { fire, claim } = held;
      const entry = this.jobs.get(claim.jobName);
      if (entry === fire.entry && entry.spec && this.fires(entry) && entry.spec.prev(claim.instant + 1) === claim.instant) {
        if (!entry.paused) {
          due.push(held);
          continue;
        }
        this.skipPaused(entry, claim.instant);
      } else {
        this.logger.info('fire claimed ahead not run: its job changed before the instant', {
          jobName: claim.jobName,
          fireId: claim.fireId,
        });
      }
      this.schedulerCache.lockManager
        .finishFire(claim, 'skipped', { retentionMs: 0 })
        .catch((e: unknown) => this.reporter.error('finishFire', toError(claim.jobName, e), claim.jobName));
    }
    if (due.length === 0) return;
    // Their starts go out first, up to the free slots (a fire left waiting for a slot is not written
    // running), and the store works on them while this node accepts the fires (next turn of the loop).
    let slots = this.dispatcher.freeSlots() - this.startsPromised;
    for (const held of due) {
      const cfg = held.fire.entry.cfg;
      if (slots <= 0 || cfg.overlapPrevent || cfg.shardingEnabled || cfg.circuitBreaker) continue;
      held.startRequest = this.schedulerCache.lockManager.startFire(held.claim);
      held.startRequest.catch(() => undefined);
      slots -= 1;
    }
    // Not earlier than the `now` HeldFires checked: a clock correction before the next turn must not make
    // onWon hold them again, their starts sent (a second start would find them running and drop them unrun).
    setImmediate(() => this.onWon(due, Math.max(this.clock.now(), now)));
  }

  /**
   * Missed instants (and the claimed fire itself when it is past the
   * threshold) under the job's policy: `'immediate'` runs once for all of
   * them, `'delayed'` replays the newest `misfireMaxCatchup` one by one,
   * `'skip'` runs none. Every missed instant gets a `misfired` record unless a
   * run of its own stands for it (up to 1,000 records; the event carries the count).
   */
  private applyMisfirePolicy(
    entry: JobEntry,
    task: FireTask,
    missed: number[],
    moreMissed: boolean,
    late: boolean,
    detectedBy: 'claim-gap' | 'late-wake' | 'saturated',
    now: number,
  ): void {
    const policy = entry.cfg.misfirePolicy;
    const claimed = task.scheduledAt as number;
    const all = late ? [...missed, claimed] : missed;
    const missedCount = all.length;
    let action: 'run-once' | 'run-each' | 'recorded' = 'recorded';
    let recordOnly: number[];
    if (policy === 'immediate') {
      action = 'run-once';
      task.missedCount = missedCount;
      task.missedFrom = all[0];
      recordOnly = missed;
      this.acceptInBackground(task, now);
    } else if (policy === 'delayed') {
      action = 'run-each';
      const keep = this.tuning.misfireMaxCatchup;
      const replay = keep === 0 ? [] : all.slice(-keep);
      recordOnly = all.slice(0, all.length - replay.length).filter((t) => t !== claimed);
      if (!late) this.acceptInBackground(task, now);
      else if (replay.includes(claimed)) {
        task.kind = 'catch-up';
        this.acceptInBackground(task, now);
      } else this.finishUnrun(task, 'misfired');
      const later = replay.filter((t) => t !== claimed);
      if (later.length > 0) this.background(this.storeCatchup(entry, later, recordOnly.length), 'catch-up list', entry.name);
    } else {
      recordOnly = missed;
      if (late) {
        this.finishUnrun(task, 'misfired');
        recordOnly = all;
      } else this.acceptInBackground(task, now);
    }
    this.reportMisfire(entry, all, recordOnly, action, detectedBy);
    this.logger.warn('missed instants', {
      jobName: entry.name,
      missedCount,
      countIsLowerBound: moreMissed,
      policy,
      action,
      from: all[0] === undefined ? undefined : new Date(all[0]).toISOString(),
    });
  }

  /**
   * One misfire, reported once: a `misfired` record for each of `recorded`
   * (the instants no run of their own stands for), and the metric and event
   * for all the missed instants.
   */
  private reportMisfire(
    entry: JobEntry,
    all: number[],
    recorded: number[],
    action: 'run-once' | 'run-each' | 'recorded',
    detectedBy: 'claim-gap' | 'late-wake' | 'saturated' | 'data-loss',
  ): void {
    const policy = entry.cfg.misfirePolicy;
    for (const t of recorded) {
      this.reporter.misfired({
        jobName: entry.name,
        fireId: cronFireId(entry.name, t),
        instant: t,
        nodeId: this.nodeId,
        executionId: newExecutionId(),
        policy,
      });
    }
    this.reporter.metric({ type: 'misfire', jobName: entry.name, count: all.length, policy });
    this.reporter.events.emit('misfire', {
      jobName: entry.name,
      instants: all.map((t) => new Date(t)),
      missedCount: all.length,
      policy,
      action,
      detectedBy,
      nodeId: this.nodeId,
    });
  }

  /** Claims a missed instant by id and runs it with its original `scheduledAt` (a catch-up). */
  private async runCatchup(entry: JobEntry, instant: number): Promise<void> {
    await this.runById(entry, instant, 'catch-up');
  }

  /**
   * Stores a `'delayed'` catch-up list before pacing it, so if this node stops
   * halfway the others finish it (each instant is claimed by id, and leaves
   * the list in that same claim).
   */
  private async storeCatchup(entry: JobEntry, instants: number[], droppedCount: number): Promise<void> {
    const { stateStore } = this.schedulerCache;
    let merged = instants;
    try {
      // An older list not finished yet (an earlier outage) keeps its instants: the two are merged.
      const older = await stateStore.getCatchup(entry.name);
      if (older) merged = [...new Set([...older.instants, ...instants])].sort((a, b) => a - b);
      await stateStore.saveCatchup({
        jobName: entry.name,
        policy: 'delayed',
        instants: merged,
        droppedCount: droppedCount + (older?.droppedCount ?? 0),
        createdBy: this.nodeId,
        createdAt: this.clock.now(),
      });
    } catch (error) {
      // Paced here all the same; only a takeover by the others is lost.
      this.reporter.error('saveCatchup', toError(entry.name, error), entry.name);
    }
    if (this.jobs.get(entry.name) === entry) this.catchup.add(entry, merged);
  }

  /**
   * Paces the stored catch-up lists of this node's jobs: at start, and when a
   * node leaves (it may have stopped halfway). Several nodes may pace one list;
   * the claims by id run each instant once.
   */
  private async resumeCatchups(reason: 'start' | 'leave'): Promise<void> {
    const firing = [...this.jobs.values()].filter((e) => this.fires(e));
    if (firing.length === 0) return;
    const lists = await this.schedulerCache.stateStore.getCatchups(firing.map((e) => e.name));
    let instants = 0;
    for (const [name, list] of lists) {
      const entry = this.jobs.get(name);
      if (!entry || list.instants.length === 0) continue;
      this.catchup.add(entry, list.instants);
      instants += list.instants.length;
    }
    if (instants > 0) this.logger.info('resuming stored catch-up lists', { reason, jobs: lists.size, instants });
  }

  /** An instant inside a claim's gap that is still within the threshold runs late, as a normal fire. */
  private async runLate(entry: JobEntry, instant: number): Promise<void> {
    await this.runById(entry, instant, 'cron');
  }

  private async runById(entry: JobEntry, instant: number, kind: FireKind): Promise<void> {
    if (this.stateValue !== 'running' || this.jobs.get(entry.name) !== entry) return;
    const fireId = cronFireId(entry.name, instant);
    let lease: FireLease | null;
    try {
      lease = await this.schedulerCache.lockManager.claimFire(
        kind === 'catch-up' ? { fireId, jobName: entry.name, catchupInstant: instant } : { fireId, jobName: entry.name },
        { nodeId: this.nodeId, leaseTtlMs: this.tuning.leaseTtlMs },
      );
    } catch (error) {
      this.reporter.error('claimFire', toError(entry.name, error), entry.name);
      return;
    }
    if (!lease) return;
    const task = this.cronTask(entry, { ...lease, instant }, kind);
    await this.accept(task, this.clock.now());
  }

  private cronTask(entry: JobEntry, claim: FireLease & { instant: number }, kind: FireKind): FireTask {
    return {
      heapIndex: -1,
      priority: entry.cfg.priority,
      seq: 0,
      entry,
      jobName: entry.name,
      fireId: claim.fireId,
      kind,
      scheduledAt: claim.instant,
      lease: claim,
      attempt: 1,
      started: (claim as WonFire).started === true,
      fenced: false,
    };
  }

  /** Fires left unclaimed past the threshold: saturation records them as misfires (after claiming them, so once). */
  private onUnclaimedExpired(fires: PendingFire[], reason: 'saturated' | 'store-unavailable', now: number): void {
    if (reason === 'store-unavailable') {
      // Without the store no one can own these; the next claim's gap reports them, once, to its winner
      // (or, if the store comes back empty, the claim that finds the data lost).
      for (const f of fires) {
        let list = this.unclaimedWhileDown.get(f.jobName);
        if (!list) this.unclaimedWhileDown.set(f.jobName, (list = []));
        if (list.length < Defaults.misfireRecordLimit) list.push(f.instant);
      }
      this.logger.warn('fires not claimed before the misfire threshold: the store is unreachable', {
        count: fires.length,
        jobs: [...new Set(fires.map((f) => f.jobName))].slice(0, 20),
      });
      return;
    }
    for (const f of fires) f.startNow = false; // claimed only to be recorded, never run
    void this.schedulerCache.lockManager
      .claimDue(fires, { nodeId: this.nodeId, leaseTtlMs: this.tuning.leaseTtlMs })
      .then(({ won }) => {
        for (const claim of won) {
          const entry = this.jobs.get(claim.jobName);
          if (!entry) continue;
          const task = this.cronTask(entry, claim, 'cron');
          task.markGuarded = true;
          this.finishUnrun(task, 'misfired');
          this.reportMisfire(entry, [claim.instant], [claim.instant], 'recorded', 'saturated');
        }
        if (won.length > 0)
          this.logger.warn('fires not started before the misfire threshold: node saturated', { count: won.length, now });
      })
      .catch((error: unknown) => this.reporter.error('claim', toError('claim', error)));
  }

  /** Marks a claimed fire finished without running it. */
  private finishUnrun(task: FireTask, status: 'misfired' | 'skipped'): void {
    this.schedulerCache.lockManager
      .finishFire(task.lease, status, { retentionMs: this.recordRetentionOf(task) })
      .catch((e: unknown) => this.reporter.error('finishFire', toError(task.jobName, e), task.jobName));
  }

  /**
   * How long a finished fire's record stays. A cron fire won by `claimDue` needs
   * none: its job's mark already makes any later claim of the instant lose, and
   * takeovers claim only records that still exist. So it is deleted at finish
   * (Redis keeps what is in flight, and a fire costs two fewer writes and no
   * purge) — unless something reads it after the end: a DAG coordinator opening
   * or repairing a run from its roots' records, or a sharded fire's takeover.
   */
  private recordRetentionOf(task: FireTask): number {
    if (task.markGuarded === true && !task.entry.cfg.shardingEnabled) {
      const coordinator = this.dependencyCoordinator;
      if (!coordinator || coordinator.readsFireRecordsOf?.(task.jobName) === false) return 0;
    }
    return this.tuning.fireRecordRetentionMs;
  }

  // ─── running fires ───────────────────────────────────────────────────────

  /**
   * A fire this node owns enters the dispatcher, unless overlap prevention
   * or the circuit breaker skips it (recorded `skipped` with the reason).
   */
  private accept(task: FireTask, now: number): Promise<void> | undefined {
    const entry = task.entry;
    if (this.stateValue !== 'running') {
      this.schedulerCache.lockManager.releaseFire(task.lease).catch(() => undefined);
      task.reject?.(new SchedulerStateError('stop', `the scheduler stopped before fire ${task.fireId} started`));
      return undefined;
    }
    // A shard is part of its parent's fire: the parent counted the fire and holds its overlap lease and breaker.
    const shardPart = task.shardOf !== undefined;
    if (shardPart) {
      entry.inFlight += 1;
      this.keepFireLease(task);
      this.dispatcher.submit(task);
      return undefined;
    }
    const lateMs = task.scheduledAt === undefined || task.kind !== 'cron' ? 0 : Math.max(0, now - task.scheduledAt);
    this.reporter.metric({ type: 'fire', jobName: task.jobName, kind: task.kind, lateMs });
    if (this.events.hasListeners('fire')) {
      this.events.emit('fire', {
        jobName: task.jobName,
        fireId: task.fireId,
        kind: task.kind,
        scheduledAt: task.scheduledAt === undefined ? undefined : new Date(task.scheduledAt),
        lateMs,
        nodeId: this.nodeId,
        priority: task.priority,
      });
    }
    entry.inFlight += 1;
    if (entry.cfg.overlapPrevent) {
      if (entry.inFlight > 1) {
        this.skipTask(task, 'overlap');
        return undefined;
      }
      return this.acceptUnderOverlapLease(task);
    }
    this.admit(task);
    return undefined;
  }

  /** `overlapPrevent`: the fire runs only under the job's cluster-wide overlap lease. */
  private async acceptUnderOverlapLease(task: FireTask): Promise<void> {
    const entry = task.entry;
    try {
      const lease = await this.schedulerCache.lockManager.acquireLease(`overlap:${entry.name}`, {
        ttlMs: this.tuning.leaseTtlMs,
        nodeId: this.nodeId,
      });
      if (!lease) {
        this.skipTask(task, 'overlap');
        return;
      }
      task.overlapLease = lease;
      this.leaseKeeper.keep(lease, {
        renew: (held) => held.renew(),
        lost: () => this.logger.warn('overlap lease lost', { jobName: entry.name }),
      });
    } catch (error) {
      // Without the overlap lease the fire may not run: give its claim back for a later sweep.
      this.reporter.error('acquireLease', toError(entry.name, error), entry.name);
      entry.inFlight -= 1;
      this.schedulerCache.lockManager.releaseFire(task.lease).catch(() => undefined);
      task.reject?.(toError(entry.name, error));
      return;
    }
    this.admit(task);
  }

  /** Accepts a fire no caller waits for: a bug in accepting it is reported, and the other fires go on. */
  private acceptInBackground(task: FireTask, now: number): void {
    try {
      this.background(this.accept(task, now), 'accept', task.jobName);
    } catch (error) {
      this.reporter.error('accept', toError(task.jobName, error), task.jobName);
    }
  }

  /** The last gate before the dispatcher: the circuit breaker, then the fire's lease keeper. */
  private admit(task: FireTask): void {
    const entry = task.entry;
    if (entry.breaker && !entry.breaker.admit(this.clock.now())) {
      if (task.overlapLease) {
        this.leaseKeeper.release(task.overlapLease);
        void task.overlapLease.release().catch(() => undefined);
      }
      this.skipTask(task, 'circuit-open');
      return;
    }
    this.keepFireLease(task);
    const planner = this.shardPlanner;
    if (planner && entry.cfg.shardingEnabled && entry.cfg.shardingTotal !== undefined && !task.shard) {
      this.runShardedFire(task, planner, entry.cfg.shardingTotal);
      return;
    }
    this.dispatcher.submit(task);
  }

  /** Renews the fire's record while this node holds it; a lost lease fences the run. */
  private keepFireLease(task: FireTask): void {
    this.leaseKeeper.keep(task, this.fireLeases);
  }

  private readonly fireLeases: LeaseHolder<FireTask> = {
    renew: (task) => this.schedulerCache.lockManager.renewFire(task.lease, { leaseTtlMs: this.tuning.leaseTtlMs }),
    lost: (task) => {
      this.logger.warn('fire lease lost: another node may take the fire over', { jobName: task.jobName, fireId: task.fireId });
      this.executor.fence(task, new LeaseLostError(task.jobName, task.fireId));
    },
  };

  /**
   * A fire of a `shardingEnabled` job: its parent execution runs the shard
   * planner instead of the job, outside the dispatcher (it only waits for its
   * shards, which take the slots), and records the fire's outcome.
   */
  private runShardedFire(task: FireTask, planner: ShardPlanner, shardingTotal: number): void {
    task.coordinator = async (ctx) => {
      // Started while the node stops (its start was in flight at the hand-over): handed over too.
      if (this.stateValue !== 'running') {
        throw new JobAbortedError(task.jobName, 'the node is stopping; its sharded fire is handed over');
      }
      return planner.runShardedFire(
        {
          jobName: task.jobName,
          fireId: task.fireId,
          shardingTotal,
          kind: task.kind,
          scheduledAt: task.scheduledAt,
          params: task.params,
        },
        ctx,
      );
    };
    const run = this.executor.runParent(task).finally(() => this.shardedFires.delete(run));
    this.shardedFires.add(run);
  }

  private skipTask(task: FireTask, reason: 'overlap' | 'circuit-open'): void {
    task.entry.inFlight -= 1;
    this.finishUnrun(task, 'skipped');
    const outcome = this.reporter.skip(
      {
        jobName: task.jobName,
        fireId: task.fireId,
        scheduledAt: task.scheduledAt,
        kind: task.kind,
        nodeId: this.nodeId,
        executionId: newExecutionId(),
      },
      reason,
      true,
    );
    task.settle?.(outcome);
    // A skipped fire is a fire's end too: its dependents are told (they do not run for it).
    this.tellDependents(task, outcome);
  }

  private onFireDone(task: FireTask, outcome: ExecutionOutcome | undefined): void {
    if (!this.gaugeDue) {
      this.gaugeDue = true;
      queueMicrotask(this.reportGauge);
    }
    // A shard's end is not its fire's: the parent's outcome tells the dependents.
    if (outcome && task.shardOf === undefined) this.tellDependents(task, outcome);
    this.wakeIfIdle();
  }

  /**
   * The load gauge once for the fires that end together, a microtask after them (one event a
   * fire was an object and a call into every sink, thousands a burst, for a value read once).
   */
  private gaugeDue = false;
  private readonly reportGauge = (): void => {
    this.gaugeDue = false;
    this.reporter.metric({ type: 'gauge', running: this.executor.runningCount, queued: this.dispatcher.queued });
  };

  private tellDependents(task: FireTask, outcome: ExecutionOutcome): void {
    let pending: Promise<void> | void;
    try {
      pending = this.dependencyCoordinator?.onFireComplete(outcome);
    } catch (e) {
      pending = Promise.reject(toError(task.jobName, e));
    }
    // Most fires concern no DAG run: the coordinator answers them without a promise.
    if (!pending) return;
    const release = pending.catch((e: unknown) =>
      this.reporter.error('dependency release', toError(task.jobName, e), task.jobName),
    );
    // stop() waits for these before detaching the coordinator: a run that ends while stopping still releases.
    this.releasing.add(release);
    void release.finally(() => this.releasing.delete(release));
  }

  /** A slot freed: fires left unclaimed for lack of room may be claimed now. */
  private onSlotFree(): void {
    this.claims.poke();
    this.wakeIfIdle();
  }

  private wakeIfIdle(): void {
    if (this.idleWaiters.length > 0 && this.isIdle()) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  private isIdle(): boolean {
    return this.executor.runningCount === 0 && this.dispatcher.queued === 0 && this.executor.waitingRetryCount === 0;
  }

  private async runFire(api: string, request: RunFireRequest): Promise<ExecutionOutcome> {
    if (this.stateValue !== 'running') {
      throw this.logged(api, new SchedulerStateError(api, `the scheduler is ${this.stateValue}; call start() first`));
    }
    const entry = this.jobs.get(request.jobName);
    if (!entry) throw this.logged(api, new UnknownJobError(api, String(request.jobName)));
    const schema = entry.job.paramsSchema;
    if (schema && (request.kind === 'manual' || request.kind === 'remote')) {
      const checked = schema.safeParse(request.params ?? {});
      if (!checked.success) {
        throw this.logged(
          api,
          new InvalidArgumentError(
            api,
            `params of job "${entry.name}" do not match its paramsSchema: ${checked.error?.message ?? 'invalid'}`,
          ),
        );
      }
    }
    const fireId = request.fireId ?? `${entry.name}@${request.kind}-${newExecutionId()}`;
    // With a slot free (not promised to another claim in flight) the claim writes the record running:
    // no start round trip. An overlapPrevent job may still be skipped after its claim, so it starts as usual.
    const startNow = !entry.cfg.overlapPrevent && this.dispatcher.freeSlots() > this.startsPromised;
    if (startNow) this.startsPromised += 1;
    let lease: ClaimedFire | null;
    try {
      lease = await this.schedulerCache.lockManager.claimFire(
        {
          fireId,
          jobName: entry.name,
          ...(request.recoverAbandoned ? { recoverAbandoned: true } : {}),
          ...(startNow ? { startNow: true } : {}),
        },
        { nodeId: this.nodeId, leaseTtlMs: this.tuning.leaseTtlMs },
      );
    } finally {
      if (startNow) this.startsPromised -= 1;
    }
    if (!lease) {
      return this.reporter.skip(
        {
          jobName: entry.name,
          fireId,
          scheduledAt: request.scheduledAt,
          kind: request.kind,
          nodeId: this.nodeId,
          executionId: newExecutionId(),
        },
        'not-owner',
        false,
      );
    }
    if (request.takesOverFrom?.state === 'running')
      await this.countLeftRun(request.takesOverFrom, request.scheduledAt, request.shard);
    const task: FireTask = {
      heapIndex: -1,
      priority: entry.cfg.priority,
      seq: 0,
      entry,
      jobName: entry.name,
      fireId,
      kind: request.kind,
      scheduledAt: request.scheduledAt,
      lease,
      params: request.params,
      shard: request.shard,
      shardOf: request.shardOf,
      itemProgress: request.itemProgress,
      timeoutMs: request.timeoutMs,
      attempt: request.attempt ?? 1,
      started: lease.started === true,
      fenced: false,
    };
    return new Promise<ExecutionOutcome>((resolve, reject) => {
      task.settle = resolve;
      task.reject = reject;
      this.accept(task, this.clock.now())?.catch(reject);
    });
  }

  private createHost(): SchedulerHost {
    return {
      nodeId: this.nodeId,
      clock: this.clock,
      logger: this.logger,
      hasJob: (name) => this.jobs.has(name),
      jobNames: () => [...this.jobs.keys()],
      runFire: (request) => this.runFire('runFire', request),
      abandonLeftRun: (record, scheduledAt) => this.abandonLeftRun(record, scheduledAt),
      stateStore: this.schedulerCache.stateStore,
      pubsub: this.pubsub,
      preferredNode: (jobName, options) => this.membership.ownerOf(jobName, options),
      liveNodes: (jobName) => this.membership.nodesServing(jobName),
      isBusy: (jobName) => {
        const entry = this.jobs.get(jobName);
        return this.dispatcher.freeSlots() === 0 || (entry !== undefined && entry.cfg.overlapPrevent && entry.inFlight > 0);
      },
      recordSkip: (skip) =>
        void this.reporter.skip(
          {
            jobName: skip.jobName,
            fireId: skip.fireId,
            scheduledAt: skip.scheduledAt,
            kind: skip.kind,
            nodeId: this.nodeId,
            executionId: newExecutionId(),
          },
          skip.reason,
          true,
        ),
      cancelLocal: (executionId) => {
        const found = this.executor.cancel(executionId);
        if (found) this.logger.info('execution cancelled', { executionId });
        return found;
      },
    };
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    this.stateValue = 'stopping';
    this.timer.stop();
    this.claims.stop();
    this.catchup.stop();
    this.sweeper.stop();
    this.configSync?.stop();
    for (const off of this.registryListeners.splice(0)) off();
    // Sharded fires' parents are handed over before leaving (released, not ended), so the others'
    // sweep on our leave finds them.
    if (this.shardedFires.size > 0) {
      this.executor.abortAll(
        (task) => new JobAbortedError(task.jobName, 'the node is stopping; its sharded fire is handed over'),
        (task) => task.coordinator !== undefined,
      );
      await Promise.all(this.shardedFires);
    }
    // Leave the cluster at once, so the others take this node's jobs from the next instant.
    await this.registry.deregister().catch((e: unknown) => this.reporter.error('registry.deregister', toError('stop', e)));
    // Fires claimed ahead and not yet due go back, as claimed, for the others to run at their instant.
    for (const { claim } of this.held.drain()) {
      this.schedulerCache.lockManager
        .releaseFire(claim)
        .catch((e: unknown) => this.reporter.error('releaseFire', toError(claim.jobName, e)));
    }
    const queued = this.dispatcher.drainQueued();
    for (const task of queued) {
      task.entry.inFlight -= 1;
      this.leaseKeeper.release(task);
      if (task.overlapLease) {
        this.leaseKeeper.release(task.overlapLease);
        void task.overlapLease.release().catch(() => undefined);
      }
      this.schedulerCache.lockManager
        .releaseFire(task.lease)
        .catch((e: unknown) => this.reporter.error('releaseFire', toError(task.jobName, e)));
      task.reject?.(new SchedulerStateError('stop', `the scheduler stopped before fire ${task.fireId} started`));
    }
    if (queued.length > 0) this.logger.info('queued fires given back at stop', { count: queued.length });
    await this.executor.settleWaitingRetries();
    if (!this.isIdle()) {
      const drained = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      const deadline =
        timeoutMs === 0
          ? Promise.resolve('deadline' as const)
          : new Promise<'deadline'>((resolve) => {
              const handle = this.clock.setTimer(this.clock.now() + timeoutMs, () => resolve('deadline'));
              void drained.then(() => this.clock.clearTimer(handle));
            });
      if ((await Promise.race([drained, deadline])) === 'deadline') {
        this.logger.warn('stop deadline reached: aborting running jobs', { running: this.executor.runningCount, timeoutMs });
        this.executor.abortAll((task) => new JobAbortedError(task.jobName, `stop() waited ${timeoutMs} ms`));
        await drained;
      }
    }
    this.leaseKeeper.stop();
    await Promise.allSettled([...this.releasing]);
    await this.detachAll();
    await this.snapshotWriter.drain();
    this.snapshotWriter.stop();
    if (this.snapshotWriter.buffered > 0) {
      this.logger.warn('snapshot writes not stored at stop: the store is unreachable', { count: this.snapshotWriter.buffered });
    }
    this.closeFileStore();
    this.stateValue = 'stopped';
    this.logger.info('scheduler stopped');
  }

  /** Writes the `dataDir` snapshot and frees the directory; a disk error is reported, the stop goes on. */
  private closeFileStore(): void {
    try {
      this.fileStore?.close();
    } catch (error) {
      this.reporter.error('dataDir', toError('stop', error));
    }
  }

  /** The adapters a start attaches, in order (a stop, or a failed start, detaches them). */
  private adapters(): Array<{ name: string; attach: () => unknown; detach: () => unknown }> {
    const { remoteExecutor, dependencyCoordinator, shardPlanner } = this;
    return [
      { name: 'claimAnnouncer', attach: () => this.announcer.attach(), detach: () => this.announcer.detach() },
      { name: 'remoteExecutor', attach: () => remoteExecutor.attach(this.host), detach: () => remoteExecutor.detach?.() },
      ...(dependencyCoordinator
        ? [
            {
              name: 'dependencyCoordinator',
              attach: () => dependencyCoordinator.attach(this.host),
              detach: () => dependencyCoordinator.detach?.(),
            },
          ]
        : []),
      ...(shardPlanner
        ? [{ name: 'shardPlanner', attach: () => shardPlanner.attach(this.host), detach: () => shardPlanner.detach?.() }]
        : []),
      ...this.reporter.metricsSinks.map((sink) => ({
        name: 'metricsSink',
        attach: () => sink.attach?.(this.metricsHost),
        detach: () => sink.detach?.(this.metricsHost),
      })),
    ];
  }

  /** Detaches the first `count` adapters (all by default); a throw is logged and the rest still detach. */
  private async detachAll(count = Number.POSITIVE_INFINITY): Promise<void> {
    for (const adapter of this.adapters().slice(0, count)) {
      const operation = `${adapter.name}.detach`;
      try {
        await adapter.detach();
      } catch (error) {
        this.reporter.error(operation, toError(operation, error));
      }
    }
  }

  // ─── configuration ───────────────────────────────────────────────────────

  private capabilities() {
    return { dependencies: this.dependencyCoordinator !== undefined, sharding: this.shardPlanner !== undefined };
  }

  private defaultTimezone(doc: ConfigDocument | undefined = this.document): string {
    return doc?.timezone ?? this.tuning.timezone;
  }

  /**
   * Checks a whole document against the registered jobs (every job it names
   * must be registered here; each resulting cfg must compile; the dependency
   * graph must hold) and returns each job's new cfg. Throws the typed error
   * naming the place; changes nothing.
   */
  private planDocument(doc: ConfigDocument, api: string): Map<JobEntry, EffectiveCfg> {
    const issues: ConfigIssue[] = [];
    const planned = new Map<JobEntry, EffectiveCfg>();
    for (const [name, cfg] of Object.entries(doc.jobs)) {
      if (!this.jobs.has(name))
        throw new UnknownJobError(api, name, 'is in the configuration document but has no registered code on this node');
      validateTaskCfg(api, name, cfg, this.capabilities(), `jobs.${name}`);
    }
    for (const entry of this.jobs.values()) {
      const eff = effectiveCfg(entry.codeCfg, doc.jobs[entry.name], this.defaultTimezone(doc));
      const problem = (field: string, check: () => void): boolean => {
        try {
          check();
          return false;
        } catch (error) {
          if (!isSchedError(error)) throw error;
          issues.push({ path: `jobs.${entry.name}.${field}`, message: error.message });
          return true;
        }
      };
      if (
        problem('cronSpec', () => compileFor(api, eff)) ||
        problem('shardingEnabled', () => checkShardingJob(api, entry.job, eff))
      )
        continue;
      planned.set(entry, eff);
    }
    if (issues.length > 0) throw new InvalidConfigError(api, issues);
    const graph = new Map<string, EffectiveCfg>();
    for (const [entry, eff] of planned) graph.set(entry.name, eff);
    if (this.stateValue === 'running' || this.stateValue === 'starting') this.validateGraph(graph, true);
    return planned;
  }

  /** The merged document of the two layers by the strategy (either layer replaced for a trial). */
  private layers(local = this.localDoc, shared = this.sharedDoc): MergedLayers {
    return mergeLayers(this.tuning.configLoadStrategy, local, shared);
  }

  /** Applies the merged layers (all or nothing), then keeps them as this node's layers. */
  private applyLayers(local: ConfigDocument | undefined, shared: ConfigDocument | undefined, api: string, since?: number): void {
    const merged = this.layers(local, shared);
    this.applyDocument(this.localPart(merged.document), api, since);
    this.localDoc = local;
    this.sharedDoc = shared;
  }

  /** The part of a shared document about the jobs registered here (the others are other nodes' business). */
  private localPart(doc: ConfigDocument): ConfigDocument {
    const jobs = Object.fromEntries(Object.entries(doc.jobs).filter(([name]) => this.jobs.has(name)));
    return doc.timezone === undefined ? { jobs } : { timezone: doc.timezone, jobs };
  }

  /**
   * Validates a whole document against the registered jobs, then applies it
   * at once. A changed schedule takes effect for instants after `since` (the
   * change's time; now by default), so every node switches at one boundary.
   */
  private applyDocument(doc: ConfigDocument, api: string, since?: number): void {
    const planned = this.planDocument(doc, api);
    this.document = doc;
    const now = this.clock.now();
    for (const [entry, eff] of planned) {
      const rescheduleNeeded = !sameSchedule(entry.cfg, eff);
      const breakerChanged = JSON.stringify(entry.cfg.circuitBreaker) !== JSON.stringify(eff.circuitBreaker);
      const priorityChanged = entry.cfg.priority !== eff.priority;
      entry.cfg = eff;
      if (priorityChanged) {
        // Fires already waiting (for a claim or a slot) take the new priority too, not only later ones.
        this.claims.reprioritize(entry, eff.priority);
        this.dispatcher.reprioritize((task) => task.entry === entry, eff.priority);
      }
      entry.spec = compileFor(api, eff);
      if (breakerChanged) {
        entry.breaker = eff.circuitBreaker
          ? new CircuitBreaker(eff.circuitBreaker.maxFailures, eff.circuitBreaker.resetTimeoutMs)
          : undefined;
      }
      if (rescheduleNeeded && this.stateValue === 'running') this.reschedule(entry, since ?? now);
    }
    if (this.stateValue === 'running') this.scheduleRegistryUpdate();
    this.logger.info('configuration applied', { api, jobs: Object.keys(doc.jobs).length });
  }

  /**
   * Checks the dependency graph, with each job's schedule, with the
   * coordinator: the registered jobs' configs with `changes` laid over them
   * (`replace`: `changes` holds every registered job's new config).
   */
  private validateGraph(changes?: ReadonlyMap<string, GraphCfg>, replace = false): void {
    // Without a coordinator no job can carry dependencies (registration refuses them).
    if (!this.dependencyCoordinator) return;
    const cfgs = new Map<string, GraphCfg>();
    if (!replace) for (const e of this.jobs.values()) cfgs.set(e.name, e.cfg);
    if (changes) for (const [name, cfg] of changes) cfgs.set(name, cfg);
    if (![...cfgs.values()].some((c) => c.dependencies.length > 0)) return;
    const graph = new Map<string, readonly string[]>();
    const schedules = new Map<string, string | undefined>();
    for (const [name, c] of cfgs) {
      graph.set(name, c.dependencies);
      schedules.set(name, c.cronSpec === undefined ? undefined : `${c.cronSpec} ${c.timezone}`);
    }
    this.dependencyCoordinator.validate(graph, schedules);
  }

  // ─── helpers ─────────────────────────────────────────────────────────────

  /** Runs work nobody awaits; an unexpected failure is reported, never an unhandled rejection. */
  private background(work: Promise<unknown> | undefined, operation: string, jobName?: string): void {
    work?.catch((e: unknown) => this.reporter.error(operation, toError(jobName ?? operation, e), jobName));
  }

  private entry(api: string, name: string): JobEntry {
    const entry = typeof name === 'string' ? this.jobs.get(name) : undefined;
    if (!entry) throw this.logged(api, new UnknownJobError(api, String(name)));
    return entry;
  }

  /** Runs `fn`, logging a typed error it throws before rethrowing it (the scheduler keeps running). */
  private guard(api: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      throw this.logged(api, toError(api, error));
    }
  }

  private logged(api: string, error: Error): Error {
    if (!(error as { schedLogged?: boolean }).schedLogged) {
      Object.defineProperty(error, 'schedLogged', { value: true, enumerable: false });
      this.logger.warn(error.message, { api, code: (error as { code?: string }).code });
    }
    return error;
  }

  private jobInfo(e: JobEntry): JobInfo {
    const c = e.cfg;
    return {
      jobName: e.name,
      cronSpec: c.cronSpec,
      timezone: c.timezone,
      priority: c.priority,
      enabled: c.enabled,
      paused: e.paused,
      overlapPrevent: c.overlapPrevent,
      timeoutMs: c.timeoutMs,
      dependencies: c.dependencies,
      shardingEnabled: c.shardingEnabled,
      shardingTotal: c.shardingTotal,
      misfirePolicy: c.misfirePolicy,
      nextFireAt: e.scheduled ? new Date(e.next) : undefined,
      inFlight: e.inFlight,
      breaker: e.breaker?.state,
      source:
        this.document?.jobs[e.name]?.cronSpec !== undefined ? 'config' : e.codeCfg?.cronSpec !== undefined ? 'code' : 'none',
    };
  }

  private localNodeInfo(): LocalNodeInfo {
    const jobs = [...this.jobs.keys()].sort();
    const hash = createHash('sha1');
    const jobSummaries: Record<string, JobSummary> = {};
    for (const name of jobs) {
      const summary = summarize(this.jobs.get(name) as JobEntry);
      jobSummaries[name] = summary;
      hash.update(`${name}\u0000${JSON.stringify(summary)}\u0001`);
    }
    return { jobs, jobsHash: hash.digest('hex'), version: VERSION, clockOffsetMs: 0, jobSummaries };
  }

  /** Coalesces registry updates: one per burst of registrations or changes. */
  private scheduleRegistryUpdate(): void {
    if (this.registryUpdatePending) return;
    this.registryUpdatePending = true;
    queueMicrotask(() => {
      this.registryUpdatePending = false;
      if (this.stateValue !== 'running') return;
      this.registry
        .update(this.localNodeInfo())
        .catch((e: unknown) => this.reporter.error('registry.update', toError('registry', e)));
    });
  }
}

/** A job's schedule and state as this node runs it (defaults left out), for the registry. */
function summarize(e: JobEntry): JobSummary {
  const c = e.cfg;
  const out: JobSummary = { timezone: c.timezone, priority: c.priority };
  if (c.cronSpec !== undefined) out.cronSpec = c.cronSpec;
  if (c.paused || e.localPaused) out.paused = true;
  if (!c.enabled) out.enabled = false;
  if (c.dependencies.length > 0) out.dependencies = [...c.dependencies];
  if (c.shardingEnabled && c.shardingTotal !== undefined) out.shardingTotal = c.shardingTotal;
  return out;
}

/** Reads that first wait for the writes queued before them (read-your-writes over the write-behind). */
function readYourWrites(repo: SnapshotRepository, writer: SnapshotWriter): SnapshotRepository {
  return {
    record: (snapshot) => repo.record(snapshot),
    update: (executionId, patch) => repo.update(executionId, patch),
    get: async (executionId) => {
      await writer.drain();
      return repo.get(executionId);
    },
    list: async (filter) => {
      await writer.drain();
      return repo.list(filter);
    },
    getStatistics: async (jobName, start, end) => {
      await writer.drain();
      return repo.getStatistics(jobName, start, end);
    },
  };
}

function validateJob(job: AnyJob): string {
  if (typeof job !== 'object' || job === null)
    throw new InvalidArgumentError('registerJob', 'a job must be an object { name, execute(ctx) }');
  const parsed = jobNameSchema.safeParse((job as { name?: unknown }).name);
  if (!parsed.success) {
    throw new InvalidArgumentError(
      'registerJob',
      `invalid job name ${JSON.stringify((job as { name?: unknown }).name)}: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
    );
  }
  const hasExecute = typeof (job as { execute?: unknown }).execute === 'function';
  if (!hasExecute && !isShardingJob(job)) {
    throw new InvalidArgumentError(
      'registerJob',
      `job "${parsed.data}" needs an execute(ctx) method, or fetchShardingItems and processShardingItem (a ShardingJob)`,
    );
  }
  return parsed.data;
}

function checkShardingJob(api: string, job: AnyJob, cfg: EffectiveCfg): void {
  if (cfg.shardingEnabled && !isShardingJob(job)) {
    throw new InvalidConfigError(api, [
      {
        path: 'shardingEnabled',
        message: `job "${job.name}" is not a ShardingJob (it needs fetchShardingItems and processShardingItem)`,
      },
    ]);
  }
}

function sameSchedule(a: EffectiveCfg, b: EffectiveCfg): boolean {
  return (
    a.cronSpec === b.cronSpec &&
    a.timezone === b.timezone &&
    a.enabled === b.enabled &&
    a.paused === b.paused &&
    a.dependencies.length === b.dependencies.length &&
    a.dependencies.every((d, i) => d === b.dependencies[i])
  );
}

/** The instant of a cron fire id (`<job>@<ms>`); undefined for manual, remote and other ids. */
function cronInstantOf(fireId: string, jobName: string): number | undefined {
  if (!fireId.startsWith(`${jobName}@`)) return undefined;
  const rest = fireId.slice(jobName.length + 1);
  return /^\d{1,16}$/.test(rest) ? Number(rest) : undefined;
}
