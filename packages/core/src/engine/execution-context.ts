import type { JobContext, ShardContext } from '../job.js';
import type { Logger } from '../ports/logger.js';

/** Where a context keeps the execution its `signal` and `logger` come from (not enumerable: a spread leaves it out). */
const SOURCE = Symbol('sched.executionSource');

/** What a context's `signal` and `logger` are read from, each made on first use. */
interface ExecutionSource {
  readonly signal: AbortSignal;
  readonly logger: Logger;
}

/**
 * `signal` and `logger` as own, enumerable accessors (so `{ ...ctx }` still
 * carries them), each with one getter shared by every context. An object
 * literal with a getter would be made in V8's slow dictionary mode with a
 * closure of its own: about 1 KB more a fire, and twice the time to build.
 */
const accessor = (read: (source: ExecutionSource) => unknown): PropertyDescriptor => ({
  get(this: { [SOURCE]: ExecutionSource }): unknown {
    return read(this[SOURCE]);
  },
  enumerable: true,
  configurable: false,
});
const SIGNAL = accessor((source) => source.signal);
const LOGGER = accessor((source) => source.logger);

/** What a context takes from its fire (a `FireTask` fits). */
export interface ContextSource {
  readonly jobName: string;
  readonly fireId: string;
  readonly attempt: number;
  readonly lease: { readonly fencingToken?: number | undefined };
  readonly params?: Readonly<Record<string, unknown>> | undefined;
  readonly missedCount?: number | undefined;
  readonly missedFrom?: number | undefined;
  readonly shard?: ShardContext | undefined;
}

/**
 * The `ctx` a job runs with: SPEC.md's fields as plain own properties, in the
 * order they always had; `signal` and `logger` read from `source` on first use
 * (an `AbortController` and a bound logger are made only for a job that reads them).
 */
export class ExecutionContext implements JobContext {
  declare readonly jobName: string;
  declare readonly fireId: string;
  declare readonly executionId: string;
  declare readonly scheduledAt: Date | undefined;
  declare readonly nodeId: string;
  declare readonly attempt: number;
  declare readonly signal: AbortSignal;
  declare readonly logger: Logger;
  declare readonly fencingToken: number | undefined;
  declare readonly params: Readonly<Record<string, unknown>> | undefined;
  declare readonly missedCount: number | undefined;
  declare readonly missedFrom: Date | undefined;
  declare readonly shard: ShardContext | undefined;

  constructor(fire: ContextSource, executionId: string, scheduledAt: Date | undefined, nodeId: string, source: ExecutionSource) {
    Object.defineProperty(this, SOURCE, { value: source });
    this.jobName = fire.jobName;
    this.fireId = fire.fireId;
    this.executionId = executionId;
    this.scheduledAt = scheduledAt;
    this.nodeId = nodeId;
    this.attempt = fire.attempt;
    Object.defineProperty(this, 'signal', SIGNAL);
    Object.defineProperty(this, 'logger', LOGGER);
    this.fencingToken = fire.lease.fencingToken;
    this.params = fire.params;
    this.missedCount = fire.missedCount;
    this.missedFrom = fire.missedFrom === undefined ? undefined : new Date(fire.missedFrom);
    this.shard = fire.shard;
  }
}
