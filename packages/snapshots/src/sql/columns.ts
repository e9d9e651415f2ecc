import type { ExecutionSnapshot } from '@sched/core';

/** One column of the snapshots table and the snapshot field it holds. */
interface Column {
  name: string;
  field: keyof ExecutionSnapshot;
  type: 'text' | 'bigint' | 'integer' | 'jsonb';
}

/** Every column, in insert order. Times are epoch ms in `bigint`. */
export const COLUMNS: readonly Column[] = [
  { name: 'execution_id', field: 'executionId', type: 'text' },
  { name: 'job_name', field: 'jobName', type: 'text' },
  { name: 'fire_id', field: 'fireId', type: 'text' },
  { name: 'scheduled_at', field: 'scheduledAt', type: 'bigint' },
  { name: 'started_at', field: 'startedAt', type: 'bigint' },
  { name: 'finished_at', field: 'finishedAt', type: 'bigint' },
  { name: 'duration_ms', field: 'durationMs', type: 'bigint' },
  { name: 'status', field: 'status', type: 'text' },
  { name: 'node_id', field: 'nodeId', type: 'text' },
  { name: 'attempt', field: 'attempt', type: 'integer' },
  { name: 'kind', field: 'kind', type: 'text' },
  { name: 'shard_index', field: 'shardIndex', type: 'integer' },
  { name: 'shard_total', field: 'shardTotal', type: 'integer' },
  { name: 'error_message', field: 'errorMessage', type: 'text' },
  { name: 'error_stack', field: 'errorStack', type: 'text' },
  { name: 'skip_reason', field: 'skipReason', type: 'text' },
  { name: 'misfire_policy', field: 'misfirePolicy', type: 'text' },
  { name: 'missed_count', field: 'missedCount', type: 'integer' },
  // Migration 2: sharding.
  { name: 'items_total', field: 'itemsTotal', type: 'integer' },
  { name: 'items_done', field: 'itemsDone', type: 'integer' },
  { name: 'items_failed', field: 'itemsFailed', type: 'integer' },
  { name: 'shards', field: 'shards', type: 'jsonb' },
];

const BY_FIELD = new Map(COLUMNS.map((c) => [c.field as string, c]));

export function columnOf(field: string): Column | undefined {
  return BY_FIELD.get(field);
}

/** A database value for a snapshot field (numbers stay numbers, JSON columns get JSON text; `undefined` is NULL). */
export function toDb(value: unknown, type?: Column['type']): unknown {
  if (value === undefined) return null;
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  if (type === 'jsonb') return JSON.stringify(value);
  return value;
}

/** A snapshot from a row (`bigint` arrives as a string from `pg`); NULL columns are left out. */
export function fromRow(row: Record<string, unknown>): ExecutionSnapshot {
  const out: Record<string, unknown> = {};
  for (const c of COLUMNS) {
    const v = row[c.name];
    if (v === null || v === undefined) {
      // Fields the type declares as present-but-undefined stay present.
      if (c.field === 'scheduledAt' || c.field === 'finishedAt' || c.field === 'durationMs') out[c.field] = undefined;
      continue;
    }
    out[c.field] = c.type === 'text' ? v : c.type === 'jsonb' ? (typeof v === 'string' ? JSON.parse(v) : v) : Number(v);
  }
  return out as unknown as ExecutionSnapshot;
}
