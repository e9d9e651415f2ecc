import type { Clock, Logger, ShardItemProgress, StateStore, TimerHandle } from '@sched/core';
import { Fields } from './fire-state.js';

/**
 * A shard's item progress in its fire's run hash: each run of a shard keeps
 * one field (`p:<i>:<writer>`) holding every index it knows finished, as
 * ranges (`0-99,120,130-140`), rewritten at most every `flushMs` and at the
 * end. Items are taken in index order, so the finished ones are a contiguous
 * prefix plus a few stragglers and the field stays short. A shard re-run after
 * its node died reads every writer's field and skips those items; what
 * finished after the last flush runs again (so items should be idempotent;
 * `ctx.fencingToken` grows with each attempt).
 */
export class StoredItemProgress implements ShardItemProgress {
  /** Every index below `low` is finished; `above` holds the finished ones from `low` up. */
  private low = 0;
  private readonly above = new Set<number>();
  private dirty = false;
  private timer: TimerHandle | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: StateStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly runId: string,
    private readonly shardIndex: number,
    /** Unique per run of the shard, so two attempts never write the same field. */
    private readonly writer: string,
    private readonly flushMs: number,
    private readonly ttlMs: number,
  ) {}

  async completed(): Promise<ReadonlySet<number>> {
    const state = await this.store.getRunState(this.runId);
    const done = new Set<number>();
    const prefix = Fields.progressPrefix(this.shardIndex);
    for (const [field, value] of Object.entries(state ?? {})) {
      if (field.startsWith(prefix)) decodeRanges(value, done);
    }
    // This run's field carries them on, so a later run reads one field, not a growing list.
    for (const i of done) this.add(i);
    return done;
  }

  itemDone(index: number): void {
    this.add(index);
    this.dirty = true;
    this.timer ??= this.clock.setTimer(this.clock.now() + this.flushMs, () => {
      this.timer = undefined;
      this.flush();
    });
  }

  async close(): Promise<void> {
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.flush();
    await this.writing;
  }

  private add(index: number): void {
    if (index < this.low) return;
    this.above.add(index);
    while (this.above.delete(this.low)) this.low += 1;
  }

  private flush(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const prefix = this.low === 0 ? '' : this.low === 1 ? '0' : `0-${this.low - 1}`;
    const rest = encodeRanges([...this.above]);
    const value = prefix && rest ? `${prefix},${rest}` : prefix || rest;
    const field = `${Fields.progressPrefix(this.shardIndex)}${this.writer}`;
    // In order, one at a time; a failed write only means those items run again after a takeover.
    this.writing = this.writing
      .then(() => this.store.setRunFields(this.runId, { [field]: value }, this.ttlMs))
      .catch((error: unknown) => this.logger.warn('shard progress not saved', { runId: this.runId, error: String(error) }));
  }
}

/** Sorted, de-duplicated indexes as ranges: `[0,1,2,5,7,8]` → `0-2,5,7-8`. */
export function encodeRanges(indexes: readonly number[]): string {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    const start = sorted[i] as number;
    let end = start;
    while (i + 1 < sorted.length && sorted[i + 1] === end + 1) end = sorted[++i] as number;
    parts.push(start === end ? String(start) : `${start}-${end}`);
    i += 1;
  }
  return parts.join(',');
}

/** Adds the indexes of `encodeRanges` output to `into` (malformed parts are ignored). */
export function decodeRanges(text: string, into: Set<number>): void {
  for (const part of text.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) continue;
    const start = Number(m[1]);
    const end = m[2] === undefined ? start : Number(m[2]);
    for (let i = start; i <= end; i++) into.add(i);
  }
}
