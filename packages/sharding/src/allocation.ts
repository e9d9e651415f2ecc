/**
 * How the shards of one fire are spread over the live nodes. A strategy is a
 * pure function of its input: every node computes the same allocation from
 * the same view. (Each shard is still claimed by id, so two views that differ
 * for a moment can never run a shard twice; they only move who runs it.)
 */
export interface ShardAllocationStrategy {
  readonly name: string;
  /** The node for each shard index (`result[i]` runs shard `i`), chosen among `nodeIds`. */
  allocate(input: AllocationInput): readonly string[];
}

export interface AllocationInput {
  jobName: string;
  /** The sharded fire (`jobName@<instant>` for a cron fire). */
  fireId: string;
  shardTotal: number;
  /** The live nodes serving the job, sorted by id; never empty. */
  nodeIds: readonly string[];
}

/**
 * ElasticJob's average allocation: each node gets `⌊total/nodes⌋` consecutive
 * shards and the remainder goes one each to the first nodes, so no node has
 * more than `⌈total/nodes⌉`. The node order is rotated per fire (by a hash of
 * the fire id), so the extra shards of successive fires fall on different nodes.
 */
export const averageAllocation: ShardAllocationStrategy = {
  name: 'average',
  allocate({ fireId, shardTotal, nodeIds }) {
    const n = nodeIds.length;
    const rotate = hash32(fireId) % n;
    const order = nodeIds.map((_, i) => nodeIds[(i + rotate) % n] as string);
    const base = Math.floor(shardTotal / n);
    const extra = shardTotal % n;
    const out: string[] = [];
    order.forEach((node, i) => {
      for (let k = 0; k < base + (i < extra ? 1 : 0); k++) out.push(node);
    });
    return out;
  },
};

/**
 * Consistent hashing with bounded loads: shard `i` of a job goes to the node
 * ranking highest for `(job, i)` by rendezvous hashing that still has room
 * (`⌊total/nodes⌋`, one more for the first `total % nodes` nodes to fill up). The same shard lands on the same node fire after fire
 * (warm caches, local data), and a node joining or leaving moves mostly its
 * own share.
 */
export const consistentHashAllocation: ShardAllocationStrategy = {
  name: 'consistent-hash',
  allocate({ jobName, shardTotal, nodeIds }) {
    // Each node takes ⌊total/nodes⌋, and the first `total % nodes` to ask one more: nobody idles.
    const base = Math.floor(shardTotal / nodeIds.length);
    let extra = shardTotal % nodeIds.length;
    const load = new Map<string, number>();
    const hasRoom = (id: string): boolean => {
      const l = load.get(id) ?? 0;
      return l < base || (l === base && extra > 0);
    };
    const seeds = nodeIds.map((id) => ({ id, seed: hash32(id) }));
    const out: string[] = [];
    for (let i = 0; i < shardTotal; i++) {
      const key = hash32(`${jobName}#${i}`);
      const ranked = seeds
        .map((s) => ({ id: s.id, score: mix(s.seed ^ key) }))
        .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
      const pick = ranked.find((r) => hasRoom(r.id)) as { id: string };
      const l = load.get(pick.id) ?? 0;
      if (l === base) extra -= 1;
      load.set(pick.id, l + 1);
      out.push(pick.id);
    }
    return out;
  },
};

/** FNV-1a over UTF-16 code units, finished with murmur3's mixer. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix(h);
}

function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
