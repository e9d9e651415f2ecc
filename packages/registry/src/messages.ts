import { z } from 'zod';

const NodeInfoSchema = z.object({
  nodeId: z.string().min(1).max(200),
  host: z.string().max(255),
  pid: z.number().int(),
  version: z.string().max(64),
  startedAt: z.number(),
  lastHeartbeat: z.number(),
  status: z.enum(['online', 'leaving']),
  jobs: z.array(z.string()),
  clockOffsetMs: z.number(),
});

/** Membership messages on the `scheduler:nodes` channel. */
export const MembershipMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('join'), node: NodeInfoSchema }),
  z.object({ type: z.literal('leave'), node: NodeInfoSchema }),
  /** "Is the instance holding this id alive?" — asked by a process registering the same id. */
  z.object({ type: z.literal('ping'), nodeId: z.string(), instance: z.string(), asker: z.string() }),
  z.object({ type: z.literal('pong'), nodeId: z.string(), instance: z.string(), asker: z.string() }),
]);
export type MembershipMessage = z.infer<typeof MembershipMessage>;

/** What the nodes hash stores per node. */
export const StoredNode = NodeInfoSchema.omit({ lastHeartbeat: true, jobs: true }).extend({
  instance: z.string(),
  jobsHash: z.string(),
  /** The node's own TTL: a reader judges it live by this, not by its own setting (a console has none of the cluster's). */
  ttlMs: z.number().int().positive().optional(),
});
export type StoredNode = z.infer<typeof StoredNode>;
