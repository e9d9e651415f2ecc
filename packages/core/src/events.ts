import type { ExecutionOutcome, FireKind, MisfirePolicy, SkipReason } from './model.js';

/** A fire this node claimed and accepted (it will start, or be skipped with a reason). */
export interface FireEvent {
  jobName: string;
  fireId: string;
  kind: FireKind;
  scheduledAt: Date | undefined;
  /** How late the fire was handed to the dispatcher, ms after `scheduledAt` (0 for manual fires). */
  lateMs: number;
  nodeId: string;
  priority: number;
}

export interface StartEvent {
  jobName: string;
  fireId: string;
  executionId: string;
  kind: FireKind;
  attempt: number;
  scheduledAt: Date | undefined;
  startedAt: Date;
  nodeId: string;
  fencingToken: number | undefined;
}

export interface RetryEvent {
  jobName: string;
  fireId: string;
  executionId: string;
  /** The attempt that failed. */
  attempt: number;
  delayMs: number;
  error: Error;
}

export interface SkipEvent {
  jobName: string;
  fireId: string;
  scheduledAt: Date | undefined;
  reason: SkipReason;
  nodeId: string;
}

export interface MisfireEvent {
  jobName: string;
  /** The missed instants this event stands for (at most `misfireMaxCatchup` listed). */
  instants: Date[];
  /** How many instants were missed in all (may exceed `instants.length`). */
  missedCount: number;
  policy: MisfirePolicy;
  /** What was done: ran once, queued each instant, or recorded only. */
  action: 'run-once' | 'run-each' | 'recorded';
  /** How the misses were found. */
  /** `data-loss`: the store lost its data after these instants were due; they may have run, so they are not compensated. */
  detectedBy: 'late-wake' | 'claim-gap' | 'saturated' | 'data-loss';
  nodeId: string;
}

export interface AbandonEvent {
  jobName: string;
  fireId: string;
  executionId: string;
  nodeId: string;
  reason: string;
}

export interface ErrorEvent {
  /** What sched was doing: `claim`, `snapshot`, `listener`, `timer`… */
  operation: string;
  error: Error;
  jobName?: string;
}

export interface SchedulerEvents {
  fire: FireEvent;
  start: StartEvent;
  complete: ExecutionOutcome;
  fail: ExecutionOutcome;
  retry: RetryEvent;
  timeout: ExecutionOutcome;
  skip: SkipEvent;
  misfire: MisfireEvent;
  abandon: AbandonEvent;
  cancel: ExecutionOutcome;
  error: ErrorEvent;
}

export type SchedulerEventName = keyof SchedulerEvents;
type Listener<T> = (payload: T) => void;

/**
 * A small typed emitter. Unlike Node's EventEmitter, an `error` event without a
 * listener never throws, and a listener that throws is reported to
 * `onListenerError` instead of breaking the scheduler.
 */
export class TypedEmitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();
  private readonly onListenerError: (event: keyof Events, error: unknown) => void;

  constructor(onListenerError: (event: keyof Events, error: unknown) => void = () => {}) {
    this.onListenerError = onListenerError;
  }

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener);
    return () => this.off(event, listener);
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    this.listeners.get(event)?.delete(listener);
  }

  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    const off = this.on(event, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  /** True when someone listens (lets hot paths skip building payloads). */
  hasListeners(event: keyof Events): boolean {
    const set = this.listeners.get(event);
    return set !== undefined && set.size > 0;
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.listeners.get(event);
    if (!set || set.size === 0) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<Events[K]>)(payload);
      } catch (error) {
        if (event === 'error') continue; // never recurse on a failing error listener
        this.onListenerError(event, error);
      }
    }
  }

  /**
   * Resolves with the next `event` whose payload passes `predicate`; rejects
   * after `timeoutMs` of real time (default 10 s) or when `signal` aborts.
   * A test seam: wait for what happens instead of sleeping.
   */
  waitFor<K extends keyof Events>(
    event: K,
    predicate: (payload: Events[K]) => boolean = () => true,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<Events[K]> {
    return new Promise((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? 10_000;
      const timer = setTimeout(() => {
        off();
        reject(new Error(`waitFor(${String(event)}): nothing matched within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.on(event, (payload) => {
        if (!predicate(payload)) return;
        clearTimeout(timer);
        off();
        resolve(payload);
      });
      options.signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          off();
          reject(options.signal?.reason);
        },
        { once: true },
      );
    });
  }
}
