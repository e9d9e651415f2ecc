import type { AnyJob, Job, JobContext, ShardingJob } from '../job.js';
import { isShardingJob } from '../job.js';

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

/**
 * Runs a `ShardingJob` as a plain job for the shard in `ctx.shard` (set by
 * `withSharding`, a remote 'sharding' route, or the planner), or as the only
 * shard (0 of 1) when there is none. Items run one after another; a failing
 * item does not stop the others, and the run fails if any item failed.
 * (`@sched/sharding` runs cluster-allocated shards with item concurrency.)
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
      const shard = ctx.shard ?? { shardIndex: 0, shardTotal: 1 };
      const items = await sharding.fetchShardingItems(ctx, shard);
      let failed = 0;
      let firstError: unknown;
      for (const item of items) {
        if (ctx.signal.aborted) break;
        try {
          await sharding.processShardingItem(ctx, item, shard);
        } catch (error) {
          failed += 1;
          firstError ??= error;
          ctx.logger.warn('shard item failed', { error, shardIndex: shard.shardIndex });
        }
      }
      if (failed > 0) throw new ShardItemsFailedError(sharding.name, failed, items.length, { cause: firstError });
    },
  };
}
