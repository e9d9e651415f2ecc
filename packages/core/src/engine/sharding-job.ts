import type { AnyJob, Job, JobContext, ShardingJob } from '../job.js';
import { isShardingJob } from '../job.js';
import type { ShardItemCounts } from '../model.js';
import type { ShardItemProgress } from '../ports/shard-item-progress.js';

/** Items of one shard that failed, with the first error. */
export class ShardItemsFailedError extends Error {
  constructor(
    readonly jobName: string,
    readonly failed: number,
    readonly total: number,
    options: { cause: unknown },
  ) {
    super(`sched: execute: job "${jobName}": ${failed} of ${total} shard items failed`, options);
    this.name = 'ShardItemsFailedError';
  }
}

/** What the executor hands one run of a `ShardingJob` (by execution id, past any chain wrapper). */
export interface ShardRunHooks {
  /** Items processed at once. */
  concurrency: number;
  progress?: ShardItemProgress | undefined;
  /** Filled by the run: how its items went. */
  counts?: ShardItemCounts;
}

const runs = new Map<string, ShardRunHooks>();

/** The executor registers a run's hooks before invoking the job and takes them (with the counts) after. */
export const shardRuns = {
  open(executionId: string, hooks: ShardRunHooks): void {
    runs.set(executionId, hooks);
  },
  close(executionId: string): ShardItemCounts | undefined {
    const hooks = runs.get(executionId);
    runs.delete(executionId);
    return hooks?.counts;
  },
};

/**
 * Runs a `ShardingJob` as a plain job for the shard in `ctx.shard` (set by
 * `withSharding`, a remote 'sharding' route, or the planner), or as the only
 * shard (0 of 1) when there is none. Items run `shardingItemConcurrency` at
 * a time; a failing item does not stop the others, and the run fails if any
 * item failed. A shard re-run after its node died skips the items its
 * earlier attempt finished (when the planner keeps their progress).
 */
export function asRunnableJob(job: AnyJob): Job {
  if (!isShardingJob(job)) return job;
  const sharding: ShardingJob = job;
  return {
    name: sharding.name,
    async execute(ctx: JobContext) {
      if (!ctx.shard && typeof sharding.execute === 'function') {
        await sharding.execute(ctx);
        return;
      }
      const hooks = runs.get(ctx.executionId) ?? { concurrency: 1 };
      const shard = ctx.shard ?? { shardIndex: 0, shardTotal: 1 };
      const items = await sharding.fetchShardingItems(ctx, shard);
      const skip = hooks.progress ? await hooks.progress.completed() : new Set<number>();
      const counts: ShardItemCounts = { itemsTotal: items.length, itemsDone: 0, itemsFailed: 0 };
      hooks.counts = counts;
      let firstError: unknown;
      await forEachItem(items, hooks.concurrency, ctx, async (item, index) => {
        if (skip.has(index)) {
          counts.itemsDone += 1;
          return;
        }
        try {
          await sharding.processShardingItem(ctx, item, shard);
          counts.itemsDone += 1;
          hooks.progress?.itemDone(index);
        } catch (error) {
          counts.itemsFailed += 1;
          firstError ??= error;
          ctx.logger.warn('shard item failed', { error, shardIndex: shard.shardIndex, item: index });
        }
      });
      await hooks.progress?.close();
      if (counts.itemsFailed > 0) {
        throw new ShardItemsFailedError(sharding.name, counts.itemsFailed, items.length, { cause: firstError });
      }
    },
  };
}

/** Longest stretch of items run without letting timers and I/O in (lease renewals, heartbeats). */
const YIELD_EVERY_MS = 10;

/**
 * Calls `fn` for every item, `concurrency` at a time, in index order; stops
 * taking items once `ctx.signal` aborts. Items that never wait (CPU-bound, or
 * synchronous) would chain as microtasks and starve the event loop — the
 * node's lease renewals would stop and its shard would be taken away — so the
 * loop yields to the event loop every `YIELD_EVERY_MS`.
 */
async function forEachItem<T>(
  items: readonly T[],
  concurrency: number,
  ctx: JobContext,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let lastYield = performance.now();
  const worker = async (): Promise<void> => {
    while (next < items.length && !ctx.signal.aborted) {
      const index = next++;
      await fn(items[index] as T, index);
      if (performance.now() - lastYield > YIELD_EVERY_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        lastYield = performance.now();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
}
