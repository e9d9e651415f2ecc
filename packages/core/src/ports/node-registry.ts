/**
 * NodeRegistry port: which nodes are alive and what they serve.
 *
 * A node `register`s at start (announced to the others at once), heartbeats on
 * its own timer, and `deregister`s on a graceful stop (announced at once, so
 * its jobs move without waiting for a TTL). A node that dies silently drops
 * out of `getAllNodes()` after its TTL.
 * Failure: `register` rejects when the store cannot be reached or the node id
 * is held by a live instance; heartbeat failures are logged and retried.
 */
export interface NodeRegistry {
  readonly nodeId: string;
  register(info: LocalNodeInfo): Promise<void>;
  /** Updates what this node advertises (its jobs) without waiting for the next heartbeat. */
  update(info: Partial<LocalNodeInfo>): Promise<void>;
  getAllNodes(): Promise<NodeInfo[]>;
  deregister(): Promise<void>;
  /**
   * `join`/`leave`: another node came or went. `replaced`: another instance
   * took this node id over (this process was frozen or cut off past its TTL);
   * the scheduler must stop.
   */
  on(event: RegistryEvent, listener: (node: NodeInfo) => void): () => void;
}

export type RegistryEvent = 'join' | 'leave' | 'replaced';

export interface NodeInfo {
  nodeId: string;
  host: string;
  pid: number;
  version: string;
  /** Epoch ms. */
  startedAt: number;
  /** Epoch ms of the last heartbeat. */
  lastHeartbeat: number;
  status: 'online' | 'leaving';
  /** Names of the jobs this node serves. */
  jobs: string[];
  /** This node's clock minus the cluster clock, ms. */
  clockOffsetMs: number;
  /** What the node says of each job it serves (schedule, state), for consoles and CLIs; absent from join/leave events. */
  jobSummaries?: Record<string, JobSummary>;
}

/**
 * One job as the node serving it runs it: its effective schedule and state.
 * For operators' tools (the console, the CLI); the engine never reads it.
 * Fields at their default are left out to keep the advertisement small.
 */
export interface JobSummary {
  cronSpec?: string;
  timezone?: string;
  priority?: number;
  /** Present (true) only when paused. */
  paused?: boolean;
  /** Present (false) only when disabled. */
  enabled?: boolean;
  dependencies?: string[];
  shardingTotal?: number;
}

/** What the scheduler tells its registry about itself. */
export interface LocalNodeInfo {
  jobs: string[];
  /** A hash of the node's job set and schedules; peers re-read `jobs` only when it changes. */
  jobsHash: string;
  version: string;
  clockOffsetMs: number;
  /** Each job's schedule and state (part of what `jobsHash` covers). */
  jobSummaries?: Record<string, JobSummary>;
}
