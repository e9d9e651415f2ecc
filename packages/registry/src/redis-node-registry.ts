import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { hostname } from 'node:os';
import {
  Channels,
  SchedulerStateError,
  type JobSummary,
  type LocalNodeInfo,
  type Logger,
  type NodeInfo,
  type NodeRegistry,
  type RegistryEvent,
} from '@sched/core';
import { connectionOf, type ClusterClock, type RedisConnection } from '@sched/redis';
import { MembershipMessage, StoredNode } from './messages.js';
import { scripts } from './scripts.js';

export interface RedisNodeRegistryOptions {
  nodeId: string;
  /** @default os.hostname() */
  host?: string;
  /** @default 10_000 */
  heartbeatIntervalMs?: number;
  /** A node silent this long has left. @default 30_000 */
  nodeTtlMs?: number;
  /** How long a live-looking holder of this node id has to answer a ping. @default min(2_000, nodeTtlMs) */
  pingTimeoutMs?: number;
  /** When given, re-synced with each heartbeat; its offset is advertised in `NodeInfo`. */
  clock?: ClusterClock;
  logger?: Logger;
}

type Listener = (node: NodeInfo) => void;

/** How far back `getAllNodes` reads heartbeats: all of them (entries are deleted at ten TTLs by the live nodes). */
const LIST_WINDOW_MS = 365 * 86_400_000;

/**
 * NodeRegistry on Redis. Nodes live under the cluster-wide tag
 * (`{sched:v1}:nodes`, `:beats`, `:jobs:<id>`); each heartbeat is one Lua call
 * (and a clock sync when a `ClusterClock` is given). Join and leave are
 * published on `scheduler:nodes` at once; a node that dies silently drops out
 * of `getAllNodes()` after `nodeTtlMs`, noticed by the others' heartbeats.
 * Each node advertises a hash of its jobs; the full list is read again only
 * when the hash changes.
 *
 * The same node id twice: when the holder's heartbeat is fresh and it answers
 * a ping, `register` refuses with `SchedulerStateError`; otherwise (a process
 * killed -9 and restarted at once) the new instance takes over, and the old
 * one, if it ever wakes, finds its instance replaced, emits `replaced` and
 * stops heartbeating.
 */
export class RedisNodeRegistry implements NodeRegistry {
  readonly nodeId: string;
  readonly host: string;
  readonly connection: RedisConnection;
  readonly instance = randomUUID();
  private readonly heartbeatIntervalMs: number;
  private readonly nodeTtlMs: number;
  private readonly pingTimeoutMs: number;
  private readonly clock: ClusterClock | undefined;
  private readonly logger: Logger;
  private readonly listeners: Record<RegistryEvent, Set<Listener>> = { join: new Set(), leave: new Set(), replaced: new Set() };
  private readonly keys: { nodes: string; beats: string; jobs: string };
  private readonly channel: string;
  private info: (LocalNodeInfo & { startedAt: number }) | undefined;
  private jobsDirty = false;
  private registered = false;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => Promise<void>) | undefined;
  private known = new Map<string, NodeInfo>();
  /** nodeId → jobs (and what it says of each) last read, by the hash they were read under. */
  private readonly jobsCache = new Map<string, { hash: string; jobs: string[]; summaries?: Record<string, JobSummary> }>();
  private readonly pongWaiters = new Map<string, () => void>();

  constructor(source: RedisConnection | { connection: RedisConnection }, options: RedisNodeRegistryOptions) {
    this.connection = connectionOf(source);
    if (typeof options?.nodeId !== 'string' || !/^[A-Za-z0-9_.:@-]{1,200}$/.test(options.nodeId)) {
      throw new TypeError(
        `sched: NodeRegistry: nodeId must be 1-200 of letters, digits and _ . : @ -, got ${JSON.stringify(options?.nodeId)}`,
      );
    }
    this.nodeId = options.nodeId;
    this.host = options.host ?? hostname();
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 10_000;
    this.nodeTtlMs = options.nodeTtlMs ?? 30_000;
    if (!(this.heartbeatIntervalMs > 0) || !(this.nodeTtlMs > this.heartbeatIntervalMs)) {
      throw new TypeError(
        `sched: NodeRegistry: nodeTtlMs (${this.nodeTtlMs}) must exceed heartbeatIntervalMs (${this.heartbeatIntervalMs}) > 0`,
      );
    }
    this.pingTimeoutMs = options.pingTimeoutMs ?? Math.min(2_000, this.nodeTtlMs);
    this.clock = options.clock;
    this.logger = options.logger ?? this.connection.logger;
    this.keys = {
      nodes: this.connection.globalKey('nodes'),
      beats: this.connection.globalKey('beats'),
      jobs: this.connection.globalKey('jobs', this.nodeId),
    };
    this.channel = this.connection.key(Channels.nodeEvents);
  }

  async register(info: LocalNodeInfo): Promise<void> {
    if (this.registered) throw new SchedulerStateError('register', `node "${this.nodeId}" is already registered`);
    this.info = { ...info, jobs: [...info.jobs], startedAt: Date.now() };
    if (this.clock) await this.clock.sync();
    this.unsubscribe = await this.connection.subscribe(this.channel, (raw) => this.onMessage(raw));
    try {
      const [status, holder] = await this.write('register', false);
      if (status === 'held') {
        if (await this.pingHolder(holder as string)) {
          throw new SchedulerStateError(
            'register',
            `node id "${this.nodeId}" is held by a live instance that answered a ping; give this process another nodeId or stop the other one`,
          );
        }
        this.logger.warn('taking over a node id whose holder did not answer a ping (it died and was restarted?)', {
          nodeId: this.nodeId,
        });
        await this.write('register', true);
      }
      this.registered = true;
      this.known = new Map((await this.getAllNodes()).filter((n) => n.nodeId !== this.nodeId).map((n) => [n.nodeId, n]));
      await this.announce('join');
      this.arm();
    } catch (error) {
      await this.unsubscribe?.();
      this.unsubscribe = undefined;
      throw error;
    }
  }

  async update(info: Partial<LocalNodeInfo>): Promise<void> {
    if (!this.info) return;
    if (info.jobs) {
      this.info.jobs = [...info.jobs];
      this.jobsDirty = true;
    }
    if (info.jobSummaries) {
      this.info.jobSummaries = info.jobSummaries;
      this.jobsDirty = true;
    }
    if (info.jobsHash !== undefined) this.info.jobsHash = info.jobsHash;
    if (info.version !== undefined) this.info.version = info.version;
    if (info.clockOffsetMs !== undefined) this.info.clockOffsetMs = info.clockOffsetMs;
    if (this.registered) await this.beat();
  }

  async getAllNodes(): Promise<NodeInfo[]> {
    // Every entry not yet deleted; each is judged live by its own node's TTL (readers may differ: a console, a CLI).
    const flat = (await this.connection.run(
      'getAllNodes',
      scripts.list,
      [this.keys.nodes, this.keys.beats],
      [LIST_WINDOW_MS],
    )) as string[];
    return this.nodesOf(flat, 1, Number(flat[0]));
  }

  /** The live nodes of a `list` answer (id, beat, JSON triples from `from`), with their job lists. */
  private async nodesOf(flat: string[], from: number, now: number): Promise<NodeInfo[]> {
    const nodes: Array<{ stored: StoredNode; beat: number }> = [];
    for (let i = from; i < flat.length; i += 3) {
      const parsed = StoredNode.safeParse(safeJson(flat[i + 2] as string));
      if (!parsed.success) {
        this.logger.warn('registry entry is malformed; ignored', { nodeId: flat[i] });
        continue;
      }
      const beat = Number(flat[i + 1]);
      if (beat < now - (parsed.data.ttlMs ?? this.nodeTtlMs)) continue;
      nodes.push({ stored: parsed.data, beat });
    }
    const stale = nodes.filter((n) => this.jobsCache.get(n.stored.nodeId)?.hash !== n.stored.jobsHash);
    if (stale.length > 0) {
      const lists = await this.connection.call('getAllNodes', () =>
        Promise.all(stale.map((n) => this.connection.client.get(this.connection.globalKey('jobs', n.stored.nodeId)))),
      );
      stale.forEach((n, i) => this.jobsCache.set(n.stored.nodeId, { hash: n.stored.jobsHash, ...parseJobs(lists[i]) }));
    }
    return nodes
      .map(({ stored, beat }) => ({
        nodeId: stored.nodeId,
        host: stored.host,
        pid: stored.pid,
        version: stored.version,
        startedAt: stored.startedAt,
        lastHeartbeat: beat,
        status: stored.status,
        jobs: [...(this.jobsCache.get(stored.nodeId)?.jobs ?? [])],
        clockOffsetMs: stored.clockOffsetMs,
        ...withSummaries(this.jobsCache.get(stored.nodeId)?.summaries),
      }))
      .sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  }

  async deregister(): Promise<void> {
    if (!this.registered) return;
    this.registered = false;
    this.stopTimer();
    try {
      const removed = await this.connection.run(
        'deregister',
        scripts.deregister,
        [this.keys.nodes, this.keys.beats, this.keys.jobs],
        [this.nodeId, this.instance],
      );
      if (removed === 1) await this.announce('leave');
    } finally {
      await this.unsubscribe?.();
      this.unsubscribe = undefined;
    }
  }

  on(event: RegistryEvent, listener: Listener): () => void {
    this.listeners[event].add(listener);
    return () => this.listeners[event].delete(listener);
  }

  /** Stops heartbeating without deregistering (what a crash looks like to the others); for tests and shutdown hooks. */
  async halt(): Promise<void> {
    this.registered = false;
    this.stopTimer();
    await this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  private async write(api: 'register', force: boolean): Promise<string[]> {
    return (await this.connection.run(
      api,
      scripts.register,
      [this.keys.nodes, this.keys.beats, this.keys.jobs],
      [this.nodeId, this.instance, this.storedJson(), this.nodeTtlMs, force ? '1' : '0', this.jobsJson()],
    )) as string[];
  }

  /** The jobs key: the names and what the node says of each (re-read by the others only when `jobsHash` changes). */
  private jobsJson(): string {
    return JSON.stringify({ jobs: this.info?.jobs ?? [], summaries: this.info?.jobSummaries ?? {} });
  }

  private storedJson(status: 'online' | 'leaving' = 'online'): string {
    const info = this.info as LocalNodeInfo & { startedAt: number };
    const stored: StoredNode = {
      nodeId: this.nodeId,
      host: this.host,
      pid: process.pid,
      version: info.version,
      startedAt: info.startedAt,
      status,
      clockOffsetMs: this.clock ? Math.round(this.clock.offsetMs) : info.clockOffsetMs,
      instance: this.instance,
      jobsHash: info.jobsHash,
      ttlMs: this.nodeTtlMs,
    };
    return JSON.stringify(stored);
  }

  private publicInfo(status: 'online' | 'leaving'): NodeInfo {
    const stored = JSON.parse(this.storedJson(status)) as StoredNode;
    return {
      nodeId: stored.nodeId,
      host: stored.host,
      pid: stored.pid,
      version: stored.version,
      startedAt: stored.startedAt,
      lastHeartbeat: Date.now(),
      status,
      jobs: [...(this.info?.jobs ?? [])],
      clockOffsetMs: stored.clockOffsetMs,
    };
  }

  private async announce(type: 'join' | 'leave'): Promise<void> {
    const message: MembershipMessage = { type, node: this.publicInfo(type === 'join' ? 'online' : 'leaving') };
    await this.publish(message).catch((error: unknown) =>
      this.logger.warn(`could not announce ${type}; the others notice by heartbeat`, { error: String(error) }),
    );
  }

  private publish(message: MembershipMessage): Promise<void> {
    return this.connection.publish(this.channel, JSON.stringify({ v: 1, from: this.nodeId, ts: Date.now(), msg: message }));
  }

  /** Asks the instance holding our node id whether it is alive. */
  private async pingHolder(instance: string): Promise<boolean> {
    const answered = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.pongWaiters.delete(instance);
        resolve(false);
      }, this.pingTimeoutMs);
      this.pongWaiters.set(instance, () => {
        clearTimeout(timer);
        this.pongWaiters.delete(instance);
        resolve(true);
      });
    });
    await this.publish({ type: 'ping', nodeId: this.nodeId, instance, asker: this.instance });
    return answered;
  }

  private onMessage(raw: string): void {
    const envelope = safeJson(raw) as { v?: unknown; msg?: unknown } | undefined;
    const parsed = MembershipMessage.safeParse(envelope?.msg);
    if (envelope?.v !== 1 || !parsed.success) {
      this.logger.warn('malformed membership message; dropped', { sample: raw.slice(0, 120) });
      return;
    }
    const m = parsed.data;
    if (m.type === 'ping') {
      if (m.nodeId === this.nodeId && m.instance === this.instance && this.registered) {
        void this.publish({ type: 'pong', nodeId: this.nodeId, instance: this.instance, asker: m.asker }).catch(() => undefined);
      }
      return;
    }
    if (m.type === 'pong') {
      if (m.asker === this.instance) this.pongWaiters.get(m.instance)?.();
      return;
    }
    if (m.node.nodeId === this.nodeId || !this.registered) return;
    if (m.type === 'join') this.known.set(m.node.nodeId, m.node);
    else this.known.delete(m.node.nodeId);
    this.jobsCache.delete(m.node.nodeId);
    this.emit(m.type, m.node);
  }

  private emit(event: RegistryEvent, node: NodeInfo): void {
    for (const listener of [...this.listeners[event]]) {
      try {
        listener(node);
      } catch (error) {
        this.logger.error(`registry ${event} listener threw`, { error });
      }
    }
  }

  private arm(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.beat()
        .catch((error: unknown) => this.logger.warn('heartbeat failed; retrying', { error: String(error) }))
        .finally(() => {
          if (this.registered && !this.timer) this.arm();
        });
    }, this.heartbeatIntervalMs);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    const jobs = this.jobsDirty ? this.jobsJson() : '';
    const sentAt = this.clock?.base.now();
    const reply = (await this.connection.run(
      'heartbeat',
      scripts.heartbeat,
      [this.keys.nodes, this.keys.beats, this.keys.jobs],
      [this.nodeId, this.instance, this.storedJson(), jobs, this.nodeTtlMs * 10, LIST_WINDOW_MS],
    )) as string[];
    const [status, detail] = reply as [string, string];
    if (status === 'replaced') {
      this.logger.error('another instance took over this node id; this instance stops', { nodeId: this.nodeId, by: detail });
      this.registered = false;
      this.stopTimer();
      this.emit('replaced', this.publicInfo('leaving'));
      return;
    }
    // The heartbeat's round trip is the clock's sample too (Redis TIME inside it): no TIME call of its own.
    if (this.clock && sentAt !== undefined) this.clock.observe(sentAt, Number(reply[2]) * 1000, this.clock.base.now());
    this.jobsDirty = false;
    if (status === 'registered') {
      this.logger.warn('registry entry was gone (Redis lost its data?); registered again', { nodeId: this.nodeId });
      await this.announce('join');
    }
    await this.noticeSilentLeaves(await this.nodesOf(reply, 3, Number(detail)));
  }

  /** Nodes whose TTL passed since the last look left without a word: tell the listeners. */
  private async noticeSilentLeaves(live: NodeInfo[]): Promise<void> {
    const liveIds = new Set(live.map((n) => n.nodeId));
    for (const [id, node] of this.known) {
      if (liveIds.has(id)) continue;
      this.known.delete(id);
      this.emit('leave', { ...node, status: 'leaving' });
    }
    for (const n of live) {
      if (n.nodeId === this.nodeId || this.known.has(n.nodeId)) continue;
      this.known.set(n.nodeId, n);
      this.emit('join', n);
    }
  }

  private stopTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

const summarySchema = z
  .object({
    cronSpec: z.string().max(500),
    timezone: z.string().max(100),
    priority: z.number(),
    paused: z.boolean(),
    enabled: z.boolean(),
    dependencies: z.array(z.string()).max(10_000),
    shardingTotal: z.number().int(),
  })
  .partial();
const jobsSchema = z.object({ jobs: z.array(z.string()), summaries: z.record(z.string(), summarySchema).optional() });

/** A node's jobs key: `{ jobs, summaries }`, or a bare list of names (nodes before 0.2); malformed parts are dropped. */
function parseJobs(raw: string | null | undefined): { jobs: string[]; summaries?: Record<string, JobSummary> } {
  const value = safeJson(raw ?? '[]');
  if (Array.isArray(value)) return { jobs: value.map(String) };
  const parsed = jobsSchema.safeParse(value);
  if (!parsed.success) return { jobs: [] };
  return parsed.data.summaries
    ? { jobs: parsed.data.jobs, summaries: Object.freeze(parsed.data.summaries) }
    : { jobs: parsed.data.jobs };
}

/** Shared by every `getAllNodes()` answer until the node's hash changes (read-only: copying 100k summaries per call would cost). */
function withSummaries(summaries: Record<string, JobSummary> | undefined): { jobSummaries?: Record<string, JobSummary> } {
  return summaries ? { jobSummaries: summaries } : {};
}
