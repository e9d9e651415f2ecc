import { hostname } from 'node:os';
import { SchedulerStateError } from '../errors.js';
import type { Clock, TimerHandle } from '../ports/clock.js';
import { SystemClock } from '../ports/clock.js';
import type { JobSummary, LocalNodeInfo, NodeInfo, NodeRegistry, RegistryEvent } from '../ports/node-registry.js';
import { Defaults } from '../engine/defaults.js';

type MembershipListener = (type: 'join' | 'leave', node: NodeInfo) => void;

/** The shared membership table behind several `MemoryNodeRegistry`s (a simulated cluster). */
export class MemoryRegistryHub {
  readonly nodes = new Map<string, NodeInfo & { instance: string }>();
  readonly listeners = new Set<MembershipListener>();

  announce(type: 'join' | 'leave', node: NodeInfo): void {
    for (const listener of [...this.listeners]) queueMicrotask(() => listener(type, node));
  }
}

export interface MemoryNodeRegistryOptions {
  nodeId: string;
  host?: string;
  clock?: Clock;
  hub?: MemoryRegistryHub;
  /** @default 10_000 */
  heartbeatIntervalMs?: number;
  /** @default 30_000 */
  nodeTtlMs?: number;
}

/**
 * NodeRegistry in memory: one node alone by default, or several sharing a
 * `MemoryRegistryHub`. Join and leave are announced at once; a node that stops
 * heartbeating (a simulated crash: `crash()`) drops out after its TTL, which
 * the other nodes notice on their own heartbeats. Job summaries are copied
 * when written and handed to readers frozen.
 */
export class MemoryNodeRegistry implements NodeRegistry {
  readonly nodeId: string;
  readonly host: string;
  readonly hub: MemoryRegistryHub;
  private readonly clock: Clock;
  private readonly heartbeatIntervalMs: number;
  private readonly nodeTtlMs: number;
  private readonly listeners = {
    join: new Set<(n: NodeInfo) => void>(),
    leave: new Set<(n: NodeInfo) => void>(),
    replaced: new Set<(n: NodeInfo) => void>(),
  };
  private readonly instance = `${Math.random().toString(36).slice(2)}`;
  private timer: TimerHandle | undefined;
  private registered = false;
  private known = new Set<string>();
  private readonly onHub: MembershipListener;

  constructor(options: MemoryNodeRegistryOptions) {
    this.nodeId = options.nodeId;
    this.host = options.host ?? hostname();
    this.clock = options.clock ?? new SystemClock();
    this.hub = options.hub ?? new MemoryRegistryHub();
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? Defaults.heartbeatIntervalMs;
    this.nodeTtlMs = options.nodeTtlMs ?? Defaults.nodeTtlMs;
    this.onHub = (type, node) => {
      if (!this.registered || node.nodeId === this.nodeId) return;
      if (type === 'join') this.known.add(node.nodeId);
      else this.known.delete(node.nodeId);
      for (const l of this.listeners[type]) l(node);
    };
  }

  async register(info: LocalNodeInfo): Promise<void> {
    const now = this.clock.now();
    const held = this.hub.nodes.get(this.nodeId);
    if (held && held.instance !== this.instance && held.status === 'online' && now - held.lastHeartbeat < this.nodeTtlMs) {
      throw new SchedulerStateError('register', `node id "${this.nodeId}" is held by a live instance (pid ${held.pid})`);
    }
    const node = {
      nodeId: this.nodeId,
      host: this.host,
      pid: process.pid,
      version: info.version,
      startedAt: now,
      lastHeartbeat: now,
      status: 'online' as const,
      jobs: [...info.jobs],
      clockOffsetMs: info.clockOffsetMs,
      jobSummaries: frozenCopy(info.jobSummaries),
      instance: this.instance,
    };
    this.hub.nodes.set(this.nodeId, node);
    this.registered = true;
    this.hub.listeners.add(this.onHub);
    this.known = new Set((await this.getAllNodes()).map((n) => n.nodeId).filter((id) => id !== this.nodeId));
    this.hub.announce('join', publicInfo(node));
    this.arm();
  }

  async update(info: Partial<LocalNodeInfo>): Promise<void> {
    const node = this.own();
    if (!node) return;
    if (info.jobs) node.jobs = [...info.jobs];
    if (info.jobSummaries) node.jobSummaries = frozenCopy(info.jobSummaries);
    if (info.version) node.version = info.version;
    if (info.clockOffsetMs !== undefined) node.clockOffsetMs = info.clockOffsetMs;
  }

  async getAllNodes(): Promise<NodeInfo[]> {
    const now = this.clock.now();
    return [...this.hub.nodes.values()]
      .filter((n) => now - n.lastHeartbeat < this.nodeTtlMs)
      .map(publicInfo)
      .sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  }

  async deregister(): Promise<void> {
    if (!this.registered) return;
    this.stopTimer();
    const node = this.own();
    this.registered = false;
    this.hub.listeners.delete(this.onHub);
    if (!node) return;
    this.hub.nodes.delete(this.nodeId);
    this.hub.announce('leave', { ...publicInfo(node), status: 'leaving' });
  }

  /** Stops heartbeating without leaving: the others see this node vanish after its TTL. */
  crash(): void {
    this.stopTimer();
    this.registered = false;
    this.hub.listeners.delete(this.onHub);
  }

  on(event: RegistryEvent, listener: (node: NodeInfo) => void): () => void {
    this.listeners[event].add(listener);
    return () => this.listeners[event].delete(listener);
  }

  private own() {
    const node = this.hub.nodes.get(this.nodeId);
    return node && node.instance === this.instance ? node : undefined;
  }

  private arm(): void {
    this.timer = this.clock.setTimer(this.clock.now() + this.heartbeatIntervalMs, () => {
      this.timer = undefined;
      if (!this.registered) return;
      void this.beat();
    });
  }

  private async beat(): Promise<void> {
    const node = this.own();
    if (!node) {
      // Another instance took this node id over: stop, as an old instance that wakes must.
      const by = this.hub.nodes.get(this.nodeId);
      this.crash();
      for (const l of this.listeners.replaced) l(by ? publicInfo(by) : placeholder(this.nodeId));
      return;
    }
    node.lastHeartbeat = this.clock.now();
    // Nodes whose TTL passed since we last looked have left silently.
    const live = new Set((await this.getAllNodes()).map((n) => n.nodeId));
    for (const id of this.known) {
      if (live.has(id)) continue;
      this.known.delete(id);
      const gone = this.hub.nodes.get(id);
      const info: NodeInfo = gone ? publicInfo(gone) : { ...placeholder(id), lastHeartbeat: 0 };
      for (const l of this.listeners.leave) l(info);
    }
    for (const id of live) if (id !== this.nodeId) this.known.add(id);
    if (this.registered) this.arm();
  }

  private stopTimer(): void {
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = undefined;
  }
}

function publicInfo(node: NodeInfo & { instance?: string }): NodeInfo {
  return {
    nodeId: node.nodeId,
    host: node.host,
    pid: node.pid,
    version: node.version,
    startedAt: node.startedAt,
    lastHeartbeat: node.lastHeartbeat,
    status: node.status,
    jobs: [...node.jobs],
    clockOffsetMs: node.clockOffsetMs,
    // Frozen when stored (see frozenCopy): shared, not cloned on every read (every heartbeat of every node).
    ...(node.jobSummaries ? { jobSummaries: node.jobSummaries } : {}),
  };
}

/** A deep copy of a node's job summaries, frozen: readers share it and none can change the hub's. */
function frozenCopy(summaries: Record<string, JobSummary> | undefined): Record<string, JobSummary> | undefined {
  if (!summaries) return undefined;
  const copy = structuredClone(summaries);
  deepFreeze(copy);
  return copy;
}

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  for (const inner of Object.values(value)) deepFreeze(inner);
  Object.freeze(value);
}

function placeholder(nodeId: string): NodeInfo {
  return { nodeId, host: '', pid: 0, version: '', startedAt: 0, lastHeartbeat: 0, status: 'leaving', jobs: [], clockOffsetMs: 0 };
}
