import type { RedisConnection } from '@sched/redis';
import type { BucketKeys } from './keys.js';
import { scripts } from './scripts.js';

interface Pending {
  args: Array<string | number>;
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

  update(keys: BucketKeys, op: string, fireId: string, token: string, ms: number, status: string): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      let list = this.pending.get(keys);
      if (!list) this.pending.set(keys, (list = []));
      list.push({ args: [op, fireId, token, ms, status], resolve, reject });
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
    for (const [keys, list] of batches) {
      const args = list.flatMap((p) => p.args);
      this.connection.run('updateFires', scripts.updateFires, [keys.fires, keys.live, keys.done], args).then(
        (out) => {
          const results = out as number[];
          list.forEach((p, i) => p.resolve(results[i] === 1));
        },
        (error: unknown) => {
          for (const p of list) p.reject(error);
        },
      );
    }
  }
}
