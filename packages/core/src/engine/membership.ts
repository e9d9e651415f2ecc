import type { Logger } from '../ports/logger.js';
import type { NodeInfo, NodeRegistry } from '../ports/node-registry.js';
import { fnv1a } from './hash.js';

/**
 * This node's view of the live cluster, for load spread (DESIGN.md): each job's
 * preferred node is chosen by rendezvous hashing of its name over the live
 * nodes that serve it, so every node computes the same owner from the same
 * view, and a node joining or leaving moves only its share of jobs.
 *
 * Views may differ for a moment (a join not yet heard): then two nodes may
 * both claim at the instant or both wait for the grace. Claims stay exactly
 * once either way; only the round trips change.
 */
export class Membership {
  private nodes: Array<{ id: string; seed: number; jobs: Set<string> }> = [];
  /** Bumped when the view changes; owners cached on job entries are stale after it. */
  version = 0;
  private refreshing: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly registry: NodeRegistry,
    private readonly selfId: string,
    private readonly logger: Logger,
  ) {}

  get size(): number {
    return this.nodes.length;
  }

  /** Reads the live nodes again (coalesced: one read in flight, one more queued). */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      try {
        do {
          this.again = false;
          this.apply(await this.registry.getAllNodes());
        } while (this.again);
      } catch (error) {
        this.logger.warn('could not read the live nodes; keeping the last view', { error: String(error) });
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  /** The job's preferred node among the live nodes serving it (this node when none is known). */
  ownerOf(jobName: string, options: { excludeSelf?: boolean } = {}): string {
    // The view always holds this node: alone, it owns everything.
    if (this.nodes.length <= 1) return this.selfId;
    if (options.excludeSelf) {
      const other = this.rendezvous(jobName, false);
      if (other !== undefined) return other;
    }
    return this.rendezvous(jobName, true) ?? this.selfId;
  }

  /** The live nodes serving the job (this node always among them), sorted by id. */
  nodesServing(jobName: string): string[] {
    if (this.nodes.length <= 1) return [this.selfId];
    return this.nodes.filter((n) => n.id === this.selfId || n.jobs.has(jobName)).map((n) => n.id);
  }

  /** Rendezvous hashing over the live nodes serving the job (this node counted as serving when `self`). */
  private rendezvous(jobName: string, self: boolean): string | undefined {
    let best: string | undefined;
    let bestScore = -1;
    const jobHash = fnv1a(jobName);
    for (const n of this.nodes) {
      if (n.id === this.selfId ? !self : !n.jobs.has(jobName)) continue;
      const score = mix(n.seed ^ jobHash);
      if (score > bestScore || (score === bestScore && best !== undefined && n.id < best)) {
        bestScore = score;
        best = n.id;
      }
    }
    return best;
  }

  private apply(nodes: NodeInfo[]): void {
    const online = nodes.filter((n) => n.status === 'online');
    if (!online.some((n) => n.nodeId === this.selfId)) {
      // Not yet (or no longer) listed: this node still serves its jobs.
      online.push({ nodeId: this.selfId, jobs: [] } as unknown as NodeInfo);
    }
    const next = online.map((n) => ({ id: n.nodeId, seed: fnv1a(n.nodeId), jobs: new Set(n.jobs) }));
    next.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (sameView(this.nodes, next)) return;
    this.nodes = next;
    this.version += 1;
  }
}

/** A 32-bit finaliser (murmur3's), so scores of similar inputs spread evenly. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function sameView(a: Array<{ id: string; jobs: Set<string> }>, b: Array<{ id: string; jobs: Set<string> }>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as { id: string; jobs: Set<string> };
    const y = b[i] as { id: string; jobs: Set<string> };
    if (x.id !== y.id || x.jobs.size !== y.jobs.size) return false;
    for (const j of x.jobs) if (!y.jobs.has(j)) return false;
  }
  return true;
}
