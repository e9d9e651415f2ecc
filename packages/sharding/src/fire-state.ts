import { z } from 'zod';
import type { FireKind, ShardResult } from '@sched/core';

/**
 * The state of one sharded fire in the StateStore: a run hash `shard:<fireId>`
 * holding the fire's description (`meta`, written once, so a parent that is
 * taken over keeps the first plan), each shard's result (`done:<i>`) and the
 * item progress of each run of a shard (`p:<i>:<writer>`, see progress.ts).
 */
export const runIdOf = (fireId: string): string => `shard:${fireId}`;

export const Fields = {
  meta: 'meta',
  done: (shardIndex: number) => `done:${shardIndex}`,
  progressPrefix: (shardIndex: number) => `p:${shardIndex}:`,
} as const;

/** `<fireId>#<shardIndex>`: the per-fire record of one shard. */
export const shardFireId = (fireId: string, shardIndex: number): string => `${fireId}#${shardIndex}`;

const SHARD_FIRE = /^(.+)#(\d{1,5})$/;

/** The parent fire and index of a shard's fire id; undefined for any other fire id. */
export function parseShardFireId(fireId: string): { fireId: string; shardIndex: number } | undefined {
  const m = SHARD_FIRE.exec(fireId);
  return m ? { fireId: m[1] as string, shardIndex: Number(m[2]) } : undefined;
}

const kindSchema = z.enum(['cron', 'manual', 'remote', 'catch-up']);

export const fireMetaSchema = z.object({
  jobName: z.string().min(1),
  total: z.number().int().min(1).max(10_000),
  /** The node allocated to each shard when the fire opened. */
  plan: z.array(z.string()),
  openedAt: z.number(),
  scheduledAt: z.number().optional(),
  kind: kindSchema,
  params: z.record(z.string(), z.unknown()).optional(),
});
export type FireMeta = z.infer<typeof fireMetaSchema> & { kind: FireKind };

export const shardResultSchema = z.object({
  shardIndex: z.number().int().min(0),
  status: z.enum(['completed', 'failed', 'timeout', 'skipped', 'misfired', 'abandoned', 'cancelled']),
  nodeId: z.string().optional(),
  executionId: z.string().optional(),
  attempt: z.number().int().optional(),
  durationMs: z.number().optional(),
  itemsTotal: z.number().int().optional(),
  itemsDone: z.number().int().optional(),
  itemsFailed: z.number().int().optional(),
});

/** Messages on `SHARDING_CHANNEL`: a fire opened (every node claims its shards), a shard ended (its parent counts it). */
export const shardMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('open'), fireId: z.string().min(1), from: z.string(), meta: fireMetaSchema }),
  z.object({ type: z.literal('done'), fireId: z.string().min(1), from: z.string(), result: shardResultSchema }),
]);
export type ShardMessage = z.infer<typeof shardMessageSchema>;

export function parseMeta(json: string | undefined): FireMeta | undefined {
  if (json === undefined) return undefined;
  const parsed = fireMetaSchema.safeParse(safeJson(json));
  return parsed.success ? parsed.data : undefined;
}

export function parseResult(json: string | undefined): ShardResult | undefined {
  if (json === undefined) return undefined;
  const parsed = shardResultSchema.safeParse(safeJson(json));
  return parsed.success ? parsed.data : undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
