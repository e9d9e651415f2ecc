import type { FireWriteDone } from '@sched/core';
import type { RedisConnection } from '@sched/redis';
import type { BucketKeys } from './keys.js';
import { groupBy, keyPerRun } from './group-by.js';
import { SEP } from './redis-state-store.js';
import { scripts } from './scripts.js';

interface Pending {
  op: string;
  fireId: string;
  /** The record's owner as the scripts store it: `node SEP fencing`. */
  owner: string;
  /** The owner's node and fencing token (undefined / NaN for a token that is not `node:fencing`). */
  node: string | undefined;
  fencing: number;
  /** A cron fire's instant as text, read from its id when the update may go in a run. */
  instant: string;
  ms: number;
  status: string;
  /** The promise form's (`update`)... */
  resolve: ((changed: boolean) => void) | undefined;
  reject: ((error: unknown) => void) | undefined;
  /** ...or the callback form's (`updateThen`). */
  ref: unknown;
  done: FireWriteDone<unknown> | undefined;
}

/** One entry of an update group on the wire: a fire, or a run of fires with consecutive tokens. */
interface Entry {
  id: string;
  owner: string;
  updates: Pending[];
}

/**
 * Per-fire record updates (start, renew, finish, release) gathered for one
 * turn of the event loop and sent as one `update-fires` call per bucket: a
 * burst of fires due at one instant costs a round trip per bucket, not per
 * fire. Each caller still gets its own answer. Fires of one claim batch (one
 * node, one instant, consecutive fencing tokens) go as a run: their ids joined,
 * the first one's owner, which the script checks against the batch's text in
 * one comparison and updates as one span when it can.
 */
export class UpdateBatcher {
  private readonly pending = new Map<BucketKeys, Pending[]>();
  private scheduled = false;

  constructor(private readonly connection: RedisConnection) {}

  /** `token` is the lease's `node:fencing`; the record's owner is `node SEP fencing`. */
  update(keys: BucketKeys, op: string, fireId: string, token: string, ms: number, status: string): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.enqueue(keys, pendingOf(op, fireId, token, ms, status, resolve, reject, undefined, undefined));
    });
  }

  /** `update` telling `done(ref, …)` once it landed, with no promise made. */
  updateThen<R>(
    keys: BucketKeys,
    op: string,
    fireId: string,
    token: string,
    ms: number,
    status: string,
    ref: R,
    done: FireWriteDone<R>,
  ): void {
    this.enqueue(keys, pendingOf(op, fireId, token, ms, status, undefined, undefined, ref, done as FireWriteDone<unknown>));
  }

  private enqueue(keys: BucketKeys, pending: Pending): void {
    let list = this.pending.get(keys);
    if (!list) this.pending.set(keys, (list = []));
    list.push(pending);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  private readonly flush = (): void => {
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
        const entries = entriesOf(group);
        args.push(first.op, first.ms, first.status, entries.length);
        for (const entry of entries) {
          args.push(entry.id, entry.owner);
          for (const p of entry.updates) list.push(p);
        }
      }
      this.connection.run('updateFires', scripts.updateFires, [keys.fires, keys.live, keys.done, keys.batches], args).then(
        (out) => {
          const results = String(out);
          for (let i = 0; i < list.length; i++) answer(list[i] as Pending, results.charCodeAt(i) === 49);
        },
        (error: unknown) => {
          for (const p of list) fail(p, error);
        },
      );
    }
  };
}

function pendingOf(
  op: string,
  fireId: string,
  token: string,
  ms: number,
  status: string,
  resolve: Pending['resolve'],
  reject: Pending['reject'],
  ref: unknown,
  done: Pending['done'],
): Pending {
  // The token is read once here, for the owner sent and the place in a run (see entriesOf).
  const at = token.lastIndexOf(':');
  const node = at < 0 ? undefined : token.slice(0, at);
  const fencingText = at < 0 ? '' : token.slice(at + 1);
  const fencing = at < 0 ? Number.NaN : Number(fencingText);
  const owner = at < 0 ? token : `${node as string}${SEP}${fencingText}`;
  return { op, fireId, owner, node, fencing, instant: '', ms, status, resolve, reject, ref, done };
}

/** One update's answer to its caller. */
function answer(p: Pending, changed: boolean): void {
  if (p.done) tell(p, changed, undefined);
  else p.resolve?.(changed);
}

/** One update's failure (its batch's call failed) to its caller. */
function fail(p: Pending, error: unknown): void {
  if (p.done) tell(p, false, error ?? new Error('sched: fire record update failed'));
  else p.reject?.(error);
}

/**
 * A callback that throws is its caller's bug, not the batch's: the rest of the batch is still
 * answered, and the error surfaces as uncaught (as a throwing `then` handler's would).
 */
function tell(p: Pending, changed: boolean, error: unknown): void {
  try {
    (p.done as FireWriteDone<unknown>)(p.ref, changed, error);
  } catch (thrown) {
    queueMicrotask(() => {
      throw thrown;
    });
  }
}

/** An update's group key (operation, ms, status), built once per run of updates that share it. */
const updateGroupKey = (): ((p: Pending) => string) =>
  keyPerRun(
    (a, b) => a.op === b.op && a.ms === b.ms && a.status === b.status,
    (p) => `${p.op}|${p.ms}|${p.status}`,
  );

/** Operations the script can apply to a run as one: a start, a renewal, a finish with no retention. */
const takesRuns = (p: Pending): boolean => p.op === 'start' || p.op === 'renew' || (p.op === 'finish' && p.ms === 0);

const single = (p: Pending): Entry => ({ id: p.fireId, owner: p.owner, updates: [p] });

/**
 * Whether an update may go in a run: a cron fire (its id `job@instant`, the instant noted on
 * it) whose owner is `node:fencing`.
 */
function placeInBatch(p: Pending): boolean {
  if (p.node === undefined || !Number.isSafeInteger(p.fencing)) return false;
  const at = p.fireId.indexOf('@');
  if (at < 0) return false;
  p.instant = p.fireId.slice(at + 1);
  return true;
}

/**
 * A group's updates as wire entries: runs of cron fires of one node and instant with
 * consecutive tokens (in token order; a fire updated twice keeps its order), the rest one
 * by one. The answers come back one digit a fire, in the order of the entries' updates.
 */
function entriesOf(group: Pending[]): Entry[] {
  if (group.length === 1 || !takesRuns(group[0] as Pending)) return group.map(single);
  const entries: Entry[] = [];
  const placed: Pending[] = [];
  for (const p of group) {
    if (placeInBatch(p)) placed.push(p);
    else entries.push(single(p));
  }
  // Stable: two updates of one fire (one token) keep their order.
  placed.sort((a, b) => a.fencing - b.fencing);
  let run: Entry | undefined;
  let last: Pending | undefined;
  for (const p of placed) {
    if (run && last && p.fencing === last.fencing + 1 && p.node === last.node && p.instant === last.instant) {
      run.id += SEP + p.fireId;
      run.updates.push(p);
    } else {
      run = single(p);
      entries.push(run);
    }
    last = p;
  }
  return entries;
}
