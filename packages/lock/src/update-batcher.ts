import type { RedisConnection } from '@sched/redis';
import type { BucketKeys } from './keys.js';
import { groupBy, keyPerRun } from './group-by.js';
import { scripts } from './scripts.js';

interface Pending {
  op: string;
  fireId: string;
  owner: string;
  ms: number;
  status: string;
  resolve: (changed: boolean) => void;
  reject: (error: unknown) => void;
}

/**
 * Per-fire record updates (start, renew, finish, release) gathered for one
 * turn of the event loop and sent as one `update-fires` call per bucket: a
 * burst of fires due at one instant costs a round trip per bucket, not per
 * fire. Each caller still gets its own answer.
 */
export class UpdateBatcher {
  private readonly pending = new Map<BucketKeys, Pending[]>();
  private scheduled = false;

  constructor(private readonly connection: RedisConnection) {}

  /** `owner` is the record's `node SEP fencing` (see `recordOwner`). */
  update(keys: BucketKeys, op: string, fireId: string, owner: string, ms: number, status: string): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      let list = this.pending.get(keys);
      if (!list) this.pending.set(keys, (list = []));
      list.push({ op, fireId, owner, ms, status, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batches = [...this.pending];
    this.pending.clear();
    for (const [keys, pending] of batches) {
      // Updates that share an operation, ms and status go as one group: its header once, then two args an update.
      const groups = groupBy(pending, updateGroupKey());
      const args: Array<string | number> = [];
      const list: Pending[] = [];
      for (const group of groups.values()) {
        const first = group[0] as Pending;
        args.push(first.op, first.ms, first.status, group.length);
        for (const p of group) {
          args.push(p.fireId, p.owner);
          list.push(p);
        }
      }
      this.connection.run('updateFires', scripts.updateFires, [keys.fires, keys.live, keys.done, keys.batches], args).then(
        (out) => {
          const results = String(out);
          list.forEach((p, i) => p.resolve(results.charCodeAt(i) === 49));
        },
        (error: unknown) => {
          for (const p of list) p.reject(error);
        },
      );
    }
  }
}

/** An update's group key (operation, ms, status), built once per run of updates that share it. */
const updateGroupKey = (): ((p: Pending) => string) =>
  keyPerRun(
    (a, b) => a.op === b.op && a.ms === b.ms && a.status === b.status,
    (p) => `${p.op}|${p.ms}|${p.status}`,
  );
