import type { JobContext, ShardContext } from '../job.js';
import type { Logger } from '../ports/logger.js';

/** Where a context keeps what its `signal` comes from (not enumerable: a spread leaves it out). */
const SIGNAL_SOURCE = Symbol('sched.signalSource');

interface SignalSource {
  readonly signal: AbortSignal;
}

/**
 * `signal` as an own, enumerable accessor (so `{ ...ctx }` still carries it),
 * with one getter shared by every context. An object literal with a getter
 * would be made in V8's slow dictionary mode with a closure of its own: about
 * 1 KB more a fire, and twice the time to build.
 */
const SIGNAL: PropertyDescriptor = {
  get(this: { [SIGNAL_SOURCE]: SignalSource }): AbortSignal {
    return this[SIGNAL_SOURCE].signal;
  },
  enumerable: true,
  configurable: false,
};

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
 * order they always had, and `signal` read from `signalSource` on first use
 * (its `AbortController` is made only then).
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

  constructor(
    fire: ContextSource,
    executionId: string,
    scheduledAt: Date | undefined,
    nodeId: string,
    logger: Logger,
    signalSource: SignalSource,
  ) {
    Object.defineProperty(this, SIGNAL_SOURCE, { value: signalSource });
    this.jobName = fire.jobName;
    this.fireId = fire.fireId;
    this.executionId = executionId;
    this.scheduledAt = scheduledAt;
    this.nodeId = nodeId;
    this.attempt = fire.attempt;
    Object.defineProperty(this, 'signal', SIGNAL);
    this.logger = logger;
    this.fencingToken = fire.lease.fencingToken;
    this.params = fire.params;
    this.missedCount = fire.missedCount;
    this.missedFrom = fire.missedFrom === undefined ? undefined : new Date(fire.missedFrom);
    this.shard = fire.shard;
  }
}
