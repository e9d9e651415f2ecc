/** Defaults of SPEC.md's table, in one place. */
export const Defaults = {
  maxConcurrency: 10,
  maxQueued: 1_000,
  priority: 50,
  timezone: 'UTC',
  misfirePolicy: 'immediate',
  misfireThresholdMs: 5_000,
  misfireMaxCatchup: 100,
  catchupIntervalMs: 100,
  stopTimeoutMs: 30_000,
  heartbeatIntervalMs: 10_000,
  nodeTtlMs: 30_000,
  leaseTtlMs: 30_000,
  leaseRenewMs: 10_000,
  takeoverGraceMs: 250,
  claimAheadMs: 0,
  fireRecordRetentionMs: 60_000,
  retryBackoffMs: 1_000,
  retryFactor: 2,
  retryMaxBackoffMs: 3_600_000,
  configLoadStrategy: 'local-first',
  /** Longest single sleep of the schedule timer; it re-checks the time when it wakes. */
  maxSleepMs: 60_000,
  /** Missed instants recorded one by one; beyond it one summary record carries the count. */
  misfireRecordLimit: 1_000,
} as const;
