import { InvalidArgumentError, type JobContext, type JobWrapper, type ShardContext } from '@sched/core';

/**
 * The seed's static sharding (SPEC.md §3): a chain decorator that gives every
 * run of a job a fixed shard, for example one per deployment
 * (`withSharding(() => ({ shardIndex: Number(process.env.SHARD), shardTotal: 4 }))`).
 * `getShardContext` returning `undefined` leaves the run unsharded. A run the
 * cluster already sharded (`shardingEnabled`) keeps its allocated shard.
 * An invalid context fails the run with an `InvalidArgumentError`.
 */
export function withSharding(getShardContext: (ctx: JobContext) => ShardContext | undefined): JobWrapper {
  if (typeof getShardContext !== 'function') {
    throw new InvalidArgumentError(
      'withSharding',
      'getShardContext must be a function (ctx) => ({ shardIndex, shardTotal }) | undefined',
    );
  }
  return (job) => ({
    name: job.name,
    execute(ctx) {
      if (ctx.shard) return job.execute(ctx);
      const shard = getShardContext(ctx);
      if (shard === undefined) return job.execute(ctx);
      checkShard(shard);
      // The same context with `shard` set: its other fields (the lazy `signal` too) are inherited.
      const sharded = Object.create(ctx, { shard: { value: Object.freeze({ ...shard }), enumerable: true } }) as JobContext;
      return job.execute(sharded);
    },
  });
}

function checkShard(shard: ShardContext): void {
  const { shardIndex, shardTotal } = shard;
  if (!Number.isInteger(shardTotal) || shardTotal < 1 || shardTotal > 10_000) {
    throw new InvalidArgumentError('withSharding', `shardTotal must be an integer from 1 to 10000, got ${String(shardTotal)}`);
  }
  if (!Number.isInteger(shardIndex) || shardIndex < 0 || shardIndex >= shardTotal) {
    throw new InvalidArgumentError(
      'withSharding',
      `shardIndex must be an integer from 0 to ${shardTotal - 1}, got ${String(shardIndex)}`,
    );
  }
}
