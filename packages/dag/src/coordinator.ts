import {
  ErrorCode,
  InvalidArgumentError,
  isSchedError,
  parseCron,
  type CronSpec,
  type DagRunReport,
  type DependencyCoordinator,
  type DependencyGraph,
  type ExecutionOutcome,
  type FireKind,
  type SchedulerHost,
  type TimerHandle,
  type Unsubscribe,
} from '@sched/core';
import { DagGraph } from './graph.js';
import { readDagRun } from './read-run.js';
import {
  cronRunId,
  dependentFireId,
  doneStateOf,
  doneValue,
  Fields,
  parseDependentFire,
  parseDone,
  rootFireId,
  rootRunId,
  type DoneState,
  type RunMeta,
} from './run.js';

export interface DagCoordinatorOptions {
  /** A run's state is kept this long after its last write (`getDagRun` sees it that long; history is in the snapshots). @default 600000 */
  runTtlMs?: number;
  /** How often each node looks for runs that a node which died left halfway. @default 1000 */
  sweepIntervalMs?: number;
  /** How far back that sweep looks. @default 30000 */
  sweepLookbackMs?: number;
  /** A released dependent with no fire record after this is released again (its releaser died). @default 2000 */
  releaseGraceMs?: number;
}

/** The channel releases are pushed on (one message per released dependent). */
export const DAG_CHANNEL = 'scheduler:dag';
const MINUTE = 60_000;
const KINDS = new Set<FireKind>(['cron', 'manual', 'remote', 'catch-up']);
const indexRunId = (minute: number) => `dag-index@${minute}`;

interface ReleaseMessage {
  type: 'release';
  runId: string;
  jobName: string;
  target: string;
  /** The run's instant and kind, so the target starts without reading the run first. */
  scheduledAt?: number;
  kind: FireKind;
}

/**
 * The `DependencyCoordinator` of sched (SPEC.md §2). Attach one per scheduler
 * (`dependencyCoordinator: new DagCoordinator()`); every node of a cluster runs
 * its own, and they agree through the StateStore:
 *
 * - When a root of a DAG finishes, its run is opened (`<dag>@<instant>` for a
 *   cron fire, the fire id for a manual or remote one) and its result written.
 * - Each finished job writes its result and releases every dependent whose
 *   dependencies in the run are now all complete: set-once in the run's state,
 *   then pushed over pub/sub to the dependent's preferred node (another node
 *   than this one when one serves it), which claims the fire `<job>@dag(<run>)`
 *   by id and runs it. A dependency that failed, timed out or was skipped skips
 *   its dependents for that run (`dependency-failed`); other branches go on.
 * - Every `sweepIntervalMs` each node looks at the recent runs and finishes
 *   what a dead node left: a root that ended without its result written, a
 *   release never pushed or never claimed, a dependent claimed and never
 *   started. A run a node's death stranded goes on within about
 *   `sweepIntervalMs` + `releaseGraceMs` (+ the fire's lease when its dependent
 *   was claimed and not started).
 */
export class DagCoordinator implements DependencyCoordinator {
  readonly packageName = '@sched/dag';
  private graph: DagGraph = DagGraph.build(new Map());
  private schedules = new Map<string, CronSpec>();
  private host: SchedulerHost | undefined;
  private unsubscribe: Unsubscribe | undefined;
  private sweepTimer: TimerHandle | undefined;
  private sweeping = false;
  /** The sweep running now: detach waits for it (it reads the host to the end). */
  private sweepRun: Promise<void> | undefined;
  private detaching = false;
  /** Runs known to be finished (bounded, oldest forgotten first). */
  private readonly closed = new Set<string>();
  /** Parsed descriptions of the runs in progress: a run's description never changes, and a big DAG's is large to parse on every finish. */
  private readonly metas = new Map<string, { json: string; meta: RunMeta; scope: Set<string> }>();
  private readonly runTtlMs: number;
  private readonly sweepIntervalMs: number;
  private readonly sweepLookbackMs: number;
  private readonly releaseGraceMs: number;

  constructor(options: DagCoordinatorOptions = {}) {
    const positive = (name: keyof DagCoordinatorOptions, fallback: number): number => {
      const v = options[name] ?? fallback;
      if (!Number.isInteger(v) || v < 1)
        throw new InvalidArgumentError('DagCoordinator', `${name} must be a positive integer, got ${String(v)}`);
      return v;
    };
    this.runTtlMs = positive('runTtlMs', 600_000);
    this.sweepIntervalMs = positive('sweepIntervalMs', 1_000);
    this.sweepLookbackMs = positive('sweepLookbackMs', 30_000);
    this.releaseGraceMs = positive('releaseGraceMs', 2_000);
  }

  validate(graph: DependencyGraph, schedules: ReadonlyMap<string, string | undefined> = new Map()): void {
    const built = DagGraph.build(graph, schedules);
    const specs = new Map<string, CronSpec>();
    for (const [dag, jobs] of built.components()) {
      const root = jobs.find((j) => built.dependencies(j).length === 0);
      const key = root === undefined ? undefined : schedules.get(root);
      if (key === undefined) continue;
      const cut = key.lastIndexOf(' ');
      specs.set(dag, parseCron(key.slice(0, cut), key.slice(cut + 1)));
    }
    // Only a graph that passed every check replaces the running one.
    this.graph = built;
    this.schedules = specs;
  }

  async attach(host: SchedulerHost): Promise<void> {
    this.host = host;
    this.unsubscribe = await host.pubsub.subscribe(DAG_CHANNEL, (message) => this.onMessage(message));
    this.armSweep();
  }

  async detach(): Promise<void> {
    if (this.sweepTimer && this.host) this.host.clock.clearTimer(this.sweepTimer);
    this.sweepTimer = undefined;
    this.detaching = true;
    await this.sweepRun;
    this.detaching = false;
    await this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.host = undefined;
  }

  ownsFire(fireId: string): boolean {
    return parseDependentFire(fireId) !== undefined;
  }

  /** A job of a DAG: its roots' records open or repair a run whose node died (see sweep). */
  readsFireRecordsOf(jobName: string): boolean {
    return this.graph.component(jobName) !== undefined;
  }

  /**
   * Records a finished fire in its DAG run and releases what became ready.
   * Returns nothing (synchronously) for a fire no run concerns, which is most
   * of them: the scheduler calls this for every fire it ends.
   */
  onFireComplete(outcome: ExecutionOutcome): Promise<void> | undefined {
    const host = this.host;
    if (!host) return undefined;
    const job = outcome.jobName;
    const dependent = parseDependentFire(outcome.fireId);
    if (dependent) return this.complete(host, dependent.runId, job, outcome);
    const dag = this.graph.component(job);
    // Only a root opens a run; a dependent triggered on its own is no run.
    if (dag === undefined || this.graph.dependencies(job).length > 0) return undefined;
    const kind = outcome.kind ?? (outcome.scheduledAt ? 'cron' : 'manual');
    const { runId, byInstant } = rootRunId(dag, { ...outcome, kind });
    const meta: RunMeta = {
      dag,
      root: byInstant ? undefined : job,
      scheduledAt: outcome.scheduledAt?.getTime(),
      kind,
      scope: byInstant ? [...this.graph.jobsOf(dag)] : this.graph.downstream(job),
    };
    return this.open(runId, meta).then(() => this.complete(host, runId, job, outcome));
  }

  private async complete(host: SchedulerHost, runId: string, job: string, outcome: ExecutionOutcome): Promise<void> {
    await host.stateStore.setRunFields(
      runId,
      { [Fields.done(job)]: doneValue(doneStateOf(outcome.status), host.nodeId) },
      this.runTtlMs,
    );
    await this.advance(runId, false, job);
  }

  async getRun(rootJob: string, instantOrFireId: number | string): Promise<DagRunReport | null> {
    const host = this.host;
    if (!host) return null;
    const dag = this.graph.component(rootJob);
    if (dag === undefined) return null;
    const runId = typeof instantOrFireId === 'number' ? cronRunId(dag, instantOrFireId) : instantOrFireId;
    // Runs opened before their description carried the edges take them from this node's graph.
    return readDagRun(host.stateStore, runId, (job) => this.graph.dependencies(job));
  }

  /** Writes the run's description once (the first finisher of one of its roots). Manual runs go in a per-minute index for the sweep. */
  private async open(runId: string, meta: RunMeta): Promise<void> {
    const host = this.host as SchedulerHost;
    // The edges inside the run go with it, so a reader without the graph (the console) can draw it.
    const scope = new Set(meta.scope);
    meta.deps = Object.fromEntries(meta.scope.map((j) => [j, this.graph.dependencies(j).filter((d) => scope.has(d))]));
    await host.stateStore.setRunFieldIfAbsent(runId, Fields.meta, JSON.stringify(meta), this.runTtlMs);
    if (meta.root !== undefined) {
      const minute = Math.floor(host.clock.now() / MINUTE) * MINUTE;
      await host.stateStore.setRunFields(indexRunId(minute), { [runId]: '1' }, this.runTtlMs);
    }
  }

  /**
   * Moves a run on from its state: skips the dependents of what failed, and
   * releases each dependent whose dependencies all completed. `from`: the job
   * that just finished (only its dependents are looked at); `thorough` (the
   * sweep) looks at every job and also repairs what a dead node left.
   */
  private async advance(runId: string, thorough: boolean, from?: string, cron?: { dag: string; instant: number }): Promise<void> {
    const host = this.host;
    if (!host || this.closed.has(runId)) return;
    const { stateStore } = host;
    // A finish reads only what it can unblock; the sweep (and a skip that cascades) reads the whole run.
    const partial = from !== undefined && !thorough;
    if (partial && this.graph.dependents(from).length === 0) return; // a leaf unblocks nothing
    let state = partial ? await this.readAround(runId, from) : await stateStore.getRunState(runId);
    // The sweep's cron run that no node opened: its roots may have finished on a node that died before opening it.
    if (!state?.[Fields.meta] && cron && (await this.openFromRecords(runId, cron.dag, cron.instant))) {
      state = await stateStore.getRunState(runId);
    }
    const metaJson = state?.[Fields.meta];
    if (!state || !metaJson) return;
    const { meta, scope } = this.parsedMeta(runId, metaJson);
    // Results read as needed: a finished job looks at its dependents' dependencies only, not the whole run.
    const done = new Map<string, DoneState | undefined>();
    const doneOf = (job: string): DoneState | undefined => {
      if (!done.has(job)) done.set(job, parseDone(state[Fields.done(job)])?.state);
      return done.get(job);
    };
    if (thorough) await this.repair(runId, meta, state, doneOf, done);
    // Only what the finished job can unblock (or, in the sweep, every job), and what a skip cascades to.
    const queue = from === undefined ? [...meta.scope] : [...this.graph.dependents(from)];
    const release = new Set<string>();
    const skipped: string[] = [];
    for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
      if (!scope.has(job) || doneOf(job) !== undefined || release.has(job)) continue;
      const deps = this.graph.dependencies(job).filter((d) => scope.has(d));
      if (deps.length === 0) continue; // a root fires on its own
      const states = deps.map(doneOf);
      if (states.some((st) => st === 'failed' || st === 'skipped')) {
        // A skip cascades past what was read around the finished job: decide again on the whole run.
        if (partial) return this.advance(runId, false);
        done.set(job, 'skipped');
        skipped.push(job);
        queue.push(...this.graph.dependents(job));
      } else if (states.every((st) => st === 'completed') && state[Fields.released(job)] === undefined) {
        release.add(job);
      }
    }
    // Skips and releases written together: one round trip for all of them, not one after another.
    // Each is set once in the run, so one node records a skip and one dispatches a release.
    await Promise.all([
      ...skipped.map(async (job) => {
        if (!(await stateStore.setRunFieldIfAbsent(runId, Fields.released(job), `skip|${host.nodeId}`, this.runTtlMs))) return;
        await stateStore.setRunFields(runId, { [Fields.done(job)]: doneValue('skipped', host.nodeId) }, this.runTtlMs);
        host.recordSkip({
          jobName: job,
          fireId: dependentFireId(job, runId),
          scheduledAt: meta.scheduledAt,
          kind: meta.kind,
          reason: 'dependency-failed',
        });
      }),
      ...[...release].map(async (job) => {
        const value = `${host.nodeId}|${host.clock.now()}`;
        if (await stateStore.setRunFieldIfAbsent(runId, Fields.released(job), value, this.runTtlMs)) {
          await this.dispatch(runId, meta, job);
        }
      }),
    ]);
    // The sweep forgets a finished run (a finish on its own does not read every result to know).
    if (thorough && meta.scope.every((j) => doneOf(j) !== undefined)) this.remember(runId);
  }

  /** What a finished job can change: its dependents' results and releases, their dependencies' results, and the run's description unless known. */
  private async readAround(runId: string, from: string): Promise<Record<string, string>> {
    const host = this.host as SchedulerHost;
    const known = this.metas.get(runId);
    const fields = new Set<string>(known ? [] : [Fields.meta]);
    for (const job of this.graph.dependents(from)) {
      fields.add(Fields.done(job));
      fields.add(Fields.released(job));
      for (const dep of this.graph.dependencies(job)) fields.add(Fields.done(dep));
    }
    const state = await host.stateStore.getRunFields(runId, [...fields]);
    if (known && Object.keys(state).length > 0) state[Fields.meta] = known.json;
    return state;
  }

  /** Sends a released dependent to its preferred node (another one when another serves it). */
  private async dispatch(runId: string, meta: RunMeta, job: string): Promise<void> {
    const host = this.host as SchedulerHost;
    const target = host.preferredNode(job, { excludeSelf: true });
    if (target === host.nodeId) {
      this.runHere(runId, meta, job);
      return;
    }
    const message: ReleaseMessage = {
      type: 'release',
      runId,
      jobName: job,
      target,
      kind: meta.kind,
      ...(meta.scheduledAt === undefined ? {} : { scheduledAt: meta.scheduledAt }),
    };
    await host.pubsub.publish(DAG_CHANNEL, message);
  }

  private onMessage(message: unknown): void {
    const host = this.host;
    const m = message as Partial<ReleaseMessage> | null;
    if (!host || typeof m !== 'object' || m === null || m.type !== 'release') return;
    if (typeof m.runId !== 'string' || typeof m.jobName !== 'string' || m.target !== host.nodeId) return;
    if (!KINDS.has(m.kind as FireKind) || (m.scheduledAt !== undefined && typeof m.scheduledAt !== 'number')) {
      host.logger.warn('malformed DAG release ignored', { runId: m.runId, jobName: m.jobName });
      return;
    }
    this.runHere(m.runId, { kind: m.kind as FireKind, scheduledAt: m.scheduledAt }, m.jobName);
  }

  /** Claims the dependent's fire by id and runs it (a node that loses the claim does nothing). */
  private runHere(runId: string, meta: Pick<RunMeta, 'kind' | 'scheduledAt'>, job: string): void {
    const host = this.host;
    if (!host?.hasJob(job)) return;
    const kind: FireKind = meta.kind === 'catch-up' ? 'catch-up' : meta.kind;
    host
      .runFire({
        jobName: job,
        fireId: dependentFireId(job, runId),
        kind,
        ...(meta.scheduledAt === undefined ? {} : { scheduledAt: meta.scheduledAt }),
      })
      .catch((e: unknown) => {
        // A node stopping does not start new fires: another node's sweep releases the dependent again.
        const fields = { runId, jobName: job, error: String(e) };
        if (isSchedError(e, ErrorCode.InvalidState))
          host.logger.debug('DAG dependent not started: this node is stopping', fields);
        else host.logger.warn('DAG dependent could not start here', fields);
      });
  }

  /**
   * The sweep's part: results a dead node never wrote (read from the fire
   * records), releases never claimed, dependents claimed and never started.
   */
  private async repair(
    runId: string,
    meta: RunMeta,
    state: Record<string, string>,
    doneOf: (job: string) => DoneState | undefined,
    done: Map<string, DoneState | undefined>,
  ): Promise<void> {
    const host = this.host as SchedulerHost;
    const now = host.clock.now();
    // Only the frontier has anything to repair: roots without a result, and dependents released
    // without one. A dependent still waiting for its dependencies has no fire yet.
    const frontier = meta.scope.filter((job) => {
      if (doneOf(job) !== undefined) return false;
      if (this.graph.dependencies(job).length === 0) return true;
      const released = state[Fields.released(job)];
      return released !== undefined && !released.startsWith('skip|');
    });
    const records = await Promise.all(
      frontier.map((job) =>
        host.stateStore.getFireRecord(
          this.graph.dependencies(job).length === 0 ? rootFireId(job, runId, meta) : dependentFireId(job, runId),
        ),
      ),
    );
    for (const [i, job] of frontier.entries()) {
      const isRoot = this.graph.dependencies(job).length === 0;
      const record = records[i] ?? null;
      if (record?.state === 'done' && record.status) {
        // It ran to the end; its node died before writing the result here.
        const result = doneStateOf(record.status as ExecutionOutcome['status']);
        await host.stateStore.setRunFields(runId, { [Fields.done(job)]: doneValue(result, record.nodeId) }, this.runTtlMs);
        done.set(job, result);
        continue;
      }
      if (isRoot) continue;
      const released = state[Fields.released(job)];
      if (released === undefined || released.startsWith('skip|')) continue;
      const at = Number(released.slice(released.indexOf('|') + 1));
      if (record === null && now - at >= this.releaseGraceMs) this.runHere(runId, meta, job);
      else if (record && record.state === 'claimed' && record.expiresAt <= now) this.runHere(runId, meta, job);
      else if (record && record.state === 'running' && record.expiresAt <= now) {
        // Its node died mid-run: abandoned, which stops its dependents like a failure. The record is
        // ended (one node wins it: the run counted and its snapshot closed), so it does not linger.
        await host
          .abandonLeftRun(record, meta.scheduledAt)
          .catch((e: unknown) =>
            host.logger.warn('DAG dependent left running: could not end its record', { runId, jobName: job, error: String(e) }),
          );
        await host.stateStore.setRunFields(runId, { [Fields.done(job)]: doneValue('failed', record.nodeId) }, this.runTtlMs);
        done.set(job, 'failed');
        host.logger.warn('DAG dependent abandoned: its node stopped mid-run; its dependents are skipped', {
          runId,
          jobName: job,
        });
      }
    }
  }

  private armSweep(): void {
    const host = this.host;
    if (!host) return;
    this.sweepTimer = host.clock.setTimer(host.clock.now() + this.sweepIntervalMs, () => {
      this.sweepTimer = undefined;
      const run = this.sweep().finally(() => {
        this.sweepRun = undefined;
        if (!this.detaching) this.armSweep();
      });
      this.sweepRun = run;
    });
  }

  private async sweep(): Promise<void> {
    const host = this.host;
    // No job of this node has dependencies or dependents: there is no run to look after (no idle reads).
    if (!host || this.sweeping || this.graph.components().size === 0) return;
    this.sweeping = true;
    try {
      const now = host.clock.now();
      const swept = new Set<string>();
      // Manual and remote runs from the per-minute index; cron runs follow from each DAG's spec.
      for (let m = Math.floor((now - this.sweepLookbackMs) / MINUTE) * MINUTE; m <= now; m += MINUTE) {
        const index = await host.stateStore.getRunState(indexRunId(m));
        for (const runId of Object.keys(index ?? {})) {
          swept.add(runId);
          await this.advance(runId, true);
        }
      }
      for (const [dag, spec] of this.schedules) {
        if (!this.graph.jobsOf(dag).some((j) => host.hasJob(j))) continue;
        for (let t = spec.prev(now - this.releaseGraceMs); t !== undefined && t > now - this.sweepLookbackMs; t = spec.prev(t)) {
          swept.add(cronRunId(dag, t));
          await this.advance(cronRunId(dag, t), true, undefined, { dag, instant: t });
        }
      }
      // Runs this node saw in progress that are older than the look-back (a long chain, or a
      // dependent whose lease outlives it): followed until they finish, so a dependent whose node
      // died mid-run is still settled once its lease lapses.
      for (const runId of [...this.metas.keys()]) if (!swept.has(runId)) await this.advance(runId, true);
    } catch (error) {
      host.logger.warn('DAG sweep failed; it runs again shortly', { error: String(error) });
    } finally {
      this.sweeping = false;
    }
  }

  /** A cron run whose roots finished but whose node died before opening it: opened from the roots' fire records. True when opened. */
  private async openFromRecords(runId: string, dag: string, instant: number): Promise<boolean> {
    const host = this.host as SchedulerHost;
    const roots = this.graph.jobsOf(dag).filter((j) => this.graph.dependencies(j).length === 0);
    const records = await Promise.all(roots.map((r) => host.stateStore.getFireRecord(`${r}@${instant}`)));
    if (!records.some((r) => r?.state === 'done')) {
      // Nothing of this instant ran (yet, or at all): look again next time only while it is recent.
      if (host.clock.now() - instant > this.sweepLookbackMs / 2) this.remember(runId);
      return false;
    }
    await this.open(runId, { dag, root: undefined, scheduledAt: instant, kind: 'cron', scope: [...this.graph.jobsOf(dag)] });
    return true;
  }

  private parsedMeta(runId: string, json: string): { meta: RunMeta; scope: Set<string> } {
    const cached = this.metas.get(runId);
    if (cached?.json === json) return cached;
    const meta = JSON.parse(json) as RunMeta;
    const parsed = { json, meta, scope: new Set(meta.scope) };
    // Bounded: runs in progress are few; a finished run leaves through remember().
    if (this.metas.size >= 1_000) this.metas.delete(this.metas.keys().next().value as string);
    this.metas.set(runId, parsed);
    return parsed;
  }

  private remember(runId: string): void {
    this.metas.delete(runId);
    this.closed.add(runId);
    if (this.closed.size > 10_000) {
      for (const id of this.closed) {
        this.closed.delete(id);
        if (this.closed.size <= 5_000) break;
      }
    }
  }
}
