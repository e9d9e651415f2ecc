/**
 * StateStore port: what the cluster remembers between fires (DESIGN.md).
 *
 * - High-water marks: the last claimed cron instant per job (written by
 *   `LockManager.claimDue`, read here at start to find missed instants, and
 *   reseeded after the store lost its data).
 * - Per-fire records (`claimed` → `running` → `done`), read by sweeps that
 *   take over fires whose owner's lease lapsed.
 * - DAG run state: a small hash per run, with set-if-absent so exactly one node
 *   releases a dependent.
 * - Catch-up lists: the missed instants a winner must compensate, stored so
 *   another node can finish them if the winner dies halfway.
 *
 * Failure: methods reject with `StoreUnavailableError` when the store cannot be
 * reached. Memory use must scale with what is in flight, not with history:
 * finished records expire after their retention.
 */
export interface StateStore {
  getMarks(jobNames: readonly string[]): Promise<Map<string, number>>;
  /** Moves a job's mark forward to `instant` if it is behind; never backwards. Returns the mark after. */
  advanceMark(jobName: string, instant: number): Promise<number>;

  getFireRecord(fireId: string): Promise<FireRecord | null>;
  /** Records not `done` whose lease expired before `now` (candidates for takeover), oldest first. */
  listExpiredFires(now: number, limit: number): Promise<FireRecord[]>;

  getRunState(runId: string): Promise<Record<string, string> | null>;
  /** Only these fields of a run (those it has; none when the run is gone): a big run is not read whole to look at a few jobs. */
  getRunFields(runId: string, fields: readonly string[]): Promise<Record<string, string>>;
  /** Sets `field` only if absent; true when this call set it. The run expires `ttlMs` after its last write. */
  setRunFieldIfAbsent(runId: string, field: string, value: string, ttlMs: number): Promise<boolean>;
  setRunFields(runId: string, fields: Record<string, string>, ttlMs: number): Promise<void>;

  saveCatchup(list: CatchupList): Promise<void>;
  getCatchup(jobName: string): Promise<CatchupList | null>;
  /** The stored lists of these jobs (those that have one), in one round trip per bucket. */
  getCatchups(jobNames: readonly string[]): Promise<Map<string, CatchupList>>;
  /** Removes one instant once its compensation was claimed; deletes the list when empty. */
  ackCatchup(jobName: string, instant: number): Promise<void>;
}

export type FireState = 'claimed' | 'running' | 'done';

export interface FireRecord {
  fireId: string;
  jobName: string;
  state: FireState;
  nodeId: string;
  token: string;
  fencingToken: number;
  /** When the lease (claimed/running) or the retention (done) ends, epoch ms. */
  expiresAt: number;
  /** Final status once `done`. */
  status?: string;
}

export interface CatchupList {
  jobName: string;
  policy: 'immediate' | 'delayed' | 'skip';
  /** Missed instants still to handle, ascending. */
  instants: number[];
  /** How many further missed instants were beyond `misfireMaxCatchup` (recorded as misfired). */
  droppedCount: number;
  createdBy: string;
  createdAt: number;
}
