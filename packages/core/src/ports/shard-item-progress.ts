/**
 * Progress of one shard's items kept across attempts: a shard re-run after
 * its node died skips the items an earlier attempt finished. Items are known
 * by their index in what `fetchShardingItems` returned, so that must return
 * the same items in the same order for one fire and shard.
 */
export interface ShardItemProgress {
  /** Indexes of items an earlier attempt processed without an error. */
  completed(): Promise<ReadonlySet<number>>;
  /** Item `index` was processed without an error (may be batched before it is written). */
  itemDone(index: number): void;
  /** The shard's items are all handled: writes what is pending. */
  close(): Promise<void>;
}
