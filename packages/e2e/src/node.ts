/**
 * One scheduler node process for the e2e scenarios. Configured by the
 * SCHED_E2E environment variable (JSON, see NodeConfig); appends one JSON line
 * per execution start and end to the ledger file, prints `ready` once started,
 * and stops gracefully on SIGTERM.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { createClusterScheduler } from '@sched/cluster';
import { readJsonLines } from '@sched/testkit';
import { Scheduler, SystemClock, type JobContext, type Logger, type MisfirePolicy } from '@sched/core';
import { EmbeddedSnapshotRepository } from '@sched/snapshots';
import { DagCoordinator } from '@sched/dag';
import { ClusterShardPlanner, type ShardingJob } from '@sched/sharding';
import { loadConfigFile } from '@sched/config';
import { ClusterRemoteExecutor } from '@sched/remote';
import { RedisConnection } from '@sched/redis';

export interface NodeConfig {
  nodeId: string;
  /** One redis-server, or the masters of a Redis Cluster; absent: the embedded default with `dataDir`. */
  redis?: { url: string } | { cluster: Array<{ host: string; port: number }> };
  /** Embedded mode: marks in this directory, history in `<dataDir>/history` (PGlite). */
  dataDir?: string;
  /** Cluster mode: keep the history in Redis. */
  snapshots?: 'redis';
  /** Job `job-i` gets `misfirePolicies[i % length]`. @default 'immediate' */
  misfirePolicies?: readonly MisfirePolicy[];
  catchupIntervalMs?: number;
  /**
   * Instead of \`jobs\` numbered jobs: a DAG, job name → its dependencies and run time;
   * jobs without dependencies fire on \`cronSpec\`.
   */
  dag?: Record<string, { dependencies?: string[]; durationMs: number }>;
  /**
   * Instead of \`jobs\` numbered jobs: one ShardingJob \`sharded\` on \`cronSpec\` with
   * \`items\` items per fire; each item takes \`itemMs\`, then counts itself in Redis
   * (\`rows:<fire>\` written once per item, set-if-absent; \`processed:<fire>\` counts every success).
   */
  sharding?: { total: number; items: number; itemMs: number; itemConcurrency?: number; progressFlushMs?: number };
  keyPrefix?: string;
  configLoadStrategy?: 'local-first' | 'remote-first' | 'local-only' | 'remote-only';
  /** Remote execution over the cluster (ClusterRemoteExecutor) instead of core's local one. */
  remote?: { executeSecret?: string; hopTimeoutMs?: number };
  /** This node's local configuration file (YAML or JSON), loaded before start. */
  localConfigFile?: string;
  ledger: string;
  jobs: number;
  cronSpec?: string;
  durationMs?: number;
  recoverAbandoned?: boolean;
  overlapPrevent?: boolean;
  /** This node's own clock skew (the cluster clock corrects it). */
  skewMs?: number;
  heartbeatIntervalMs?: number;
  nodeTtlMs?: number;
  leaseTtlMs?: number;
  leaseRenewMs?: number;
  takeoverGraceMs?: number;
  claimAheadMs?: number;
  misfireThresholdMs?: number;
  maxConcurrency?: number;
  /** These jobs fail every run (after writing a `fail` line). */
  failJobs?: string[];
}

const config = JSON.parse(process.env.SCHED_E2E ?? '{}') as NodeConfig;
const write = (line: Record<string, unknown>): void => appendFileSync(config.ledger, `${JSON.stringify(line)}\n`);

const logger: Logger = {
  debug() {},
  info() {},
  warn: (msg, fields) => console.error(JSON.stringify({ level: 'warn', node: config.nodeId, msg, ...fields })),
  error: (msg, fields) => {
    const error = fields?.error instanceof Error ? fields.error.message : undefined;
    console.error(JSON.stringify({ level: 'error', node: config.nodeId, msg, ...fields, error }));
  },
};

const tuning = {
  nodeId: config.nodeId,
  logger,
  leaseTtlMs: config.leaseTtlMs ?? 1_500,
  leaseRenewMs: config.leaseRenewMs ?? 300,
  takeoverGraceMs: config.takeoverGraceMs ?? 100,
  claimAheadMs: config.claimAheadMs ?? 0,
  misfireThresholdMs: config.misfireThresholdMs ?? 5_000,
  maxConcurrency: config.maxConcurrency ?? 200,
  stopTimeoutMs: 5_000,
  ...(config.configLoadStrategy ? { configLoadStrategy: config.configLoadStrategy } : {}),
  ...(config.catchupIntervalMs === undefined ? {} : { catchupIntervalMs: config.catchupIntervalMs }),
  ...(config.dag ? { dependencyCoordinator: new DagCoordinator({ sweepIntervalMs: 250, releaseGraceMs: 500 }) } : {}),
  ...(config.sharding
    ? {
        shardPlanner: new ClusterShardPlanner({
          // Long enough that a node slowed by a loaded CI machine still claims its own shards (the spread is checked).
          takeoverGraceMs: 1_500,
          sweepIntervalMs: 250,
          pollIntervalMs: 250,
          progressFlushMs: config.sharding.progressFlushMs ?? 50,
        }),
      }
    : {}),
};

let scheduler: Scheduler;
let close: () => Promise<void>;
if (config.redis) {
  const redis =
    'url' in config.redis
      ? new Redis(config.redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => 100 })
      : new Cluster(config.redis.cluster, { redisOptions: { maxRetriesPerRequest: 1 }, clusterRetryStrategy: () => 100 });
  redis.on('error', () => {});
  scheduler = createClusterScheduler({
    ...tuning,
    redis,
    keyPrefix: config.keyPrefix ?? 'e2e',
    baseClock: new SystemClock({ offsetMs: config.skewMs ?? 0 }),
    heartbeatIntervalMs: config.heartbeatIntervalMs ?? 200,
    nodeTtlMs: config.nodeTtlMs ?? 1_000,
    ...(config.snapshots ? { snapshotRepository: config.snapshots } : {}),
    ...(config.remote
      ? {
          // Created here only to shorten the failover hop; createClusterScheduler attaches one by default.
          remoteExecutor: new ClusterRemoteExecutor(
            new RedisConnection(redis, { keyPrefix: config.keyPrefix ?? 'e2e', logger }),
            {
              hopTimeoutMs: config.remote.hopTimeoutMs ?? 500,
              ...(config.remote.executeSecret === undefined ? {} : { executeSecret: config.remote.executeSecret }),
            },
          ),
        }
      : {}),
  });
  close = async () => redis.disconnect();
} else {
  if (!config.dataDir) throw new Error('e2e node: the embedded mode needs dataDir');
  const history = await EmbeddedSnapshotRepository.open({ dataDir: join(config.dataDir, 'history') });
  scheduler = new Scheduler({ ...tuning, dataDir: config.dataDir, snapshotRepository: history });
  close = () => history.close();
}

const jobs: Array<{ name: string; durationMs: number; dependencies: string[] }> = config.dag
  ? Object.entries(config.dag).map(([name, d]) => ({ name, durationMs: d.durationMs, dependencies: d.dependencies ?? [] }))
  : config.sharding
    ? []
    : Array.from({ length: config.jobs }, (_, i) => ({ name: `job-${i}`, durationMs: config.durationMs ?? 0, dependencies: [] }));

for (const [i, spec] of jobs.entries()) {
  scheduler.registerJob(
    {
      name: spec.name,
      execute: async (ctx: JobContext) => {
        const base = {
          fireId: ctx.fireId,
          attempt: ctx.attempt,
          node: config.nodeId,
          job: ctx.jobName,
          executionId: ctx.executionId,
        };
        write({
          ev: 'start',
          ...base,
          scheduledAt: ctx.scheduledAt?.getTime(),
          fencing: ctx.fencingToken,
          missedCount: ctx.missedCount,
          at: scheduler.clock.now(),
          wall: Date.now(),
        });
        try {
          if (spec.durationMs) {
            await new Promise<void>((resolve, reject) => {
              const t = setTimeout(resolve, spec.durationMs);
              ctx.signal.addEventListener('abort', () => {
                clearTimeout(t);
                reject(ctx.signal.reason as Error);
              });
            });
          }
        } catch (error) {
          write({ ev: 'abort', ...base, at: scheduler.clock.now(), reason: String(error) });
          throw error;
        }
        if (config.failJobs?.includes(ctx.jobName)) {
          write({ ev: 'fail', ...base, scheduledAt: ctx.scheduledAt?.getTime(), at: scheduler.clock.now(), wall: Date.now() });
          throw new Error('planned failure');
        }
        write({ ev: 'end', ...base, scheduledAt: ctx.scheduledAt?.getTime(), at: scheduler.clock.now(), wall: Date.now() });
      },
    },
    spec.dependencies.length > 0
      ? { dependencies: spec.dependencies, recoverAbandoned: config.recoverAbandoned ?? false }
      : {
          cronSpec: config.cronSpec ?? '* * * * * *',
          recoverAbandoned: config.recoverAbandoned ?? false,
          overlapPrevent: config.overlapPrevent ?? false,
          misfirePolicy: config.misfirePolicies?.[i % config.misfirePolicies.length] ?? 'immediate',
        },
  );
}

if (config.sharding && config.redis && 'url' in config.redis) {
  const sharding = config.sharding;
  const rows = new Redis(config.redis.url, { maxRetriesPerRequest: 1 });
  close = ((previous) => async () => {
    rows.disconnect();
    await previous();
  })(close);
  const parentOf = (fireId: string): string => fireId.split('#')[0] as string;
  const job: ShardingJob<number> = {
    name: 'sharded',
    fetchShardingItems: (_ctx, s) => [...Array(sharding.items).keys()].filter((i) => i % s.shardTotal === s.shardIndex),
    async processShardingItem(ctx, item) {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, sharding.itemMs);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(t);
          reject(ctx.signal.reason as Error);
        });
      });
      // The idempotent write a user would make (set-if-absent by item), and a count of every success.
      await rows
        .multi()
        .hsetnx(`rows:${parentOf(ctx.fireId)}`, String(item), config.nodeId)
        .hincrby(`processed:${parentOf(ctx.fireId)}`, String(item), 1)
        .exec();
    },
  };
  scheduler.registerJob(job, {
    cronSpec: config.cronSpec ?? '*/2 * * * * *',
    shardingEnabled: true,
    shardingTotal: sharding.total,
    shardingItemConcurrency: sharding.itemConcurrency ?? 1,
  });
  // A DAG dependent of the sharded job: released by the fire's end, after every shard.
  scheduler.registerJob({ name: 'after-sharded', execute: () => undefined }, { dependencies: ['sharded'] });
  const line = (
    ev: 'start' | 'end',
    e: { fireId: string; attempt: number; jobName: string; scheduledAt?: Date | undefined },
    status?: string,
  ) =>
    write({
      ev,
      fireId: e.fireId,
      attempt: e.attempt,
      node: config.nodeId,
      job: e.jobName,
      scheduledAt: e.scheduledAt?.getTime(),
      status,
      at: scheduler.clock.now(),
      wall: Date.now(),
    });
  scheduler.on('start', (e) => line('start', e));
  for (const ev of ['complete', 'fail', 'timeout', 'cancel'] as const) scheduler.on(ev, (e) => line('end', e, e.status));
}

if (config.remote) {
  // A job whose params must carry a day (a structural schema, as zod's safeParse).
  scheduler.registerJob({
    name: 'strict',
    paramsSchema: {
      safeParse: (v: unknown) =>
        typeof (v as { day?: unknown }).day === 'string'
          ? { success: true }
          : { success: false, error: { message: 'day: expected a string' } },
    },
    execute: (ctx) =>
      write({
        ev: 'start',
        fireId: ctx.fireId,
        attempt: ctx.attempt,
        node: config.nodeId,
        job: 'strict',
        at: 0,
        wall: Date.now(),
      }),
  });
}

scheduler.on('misfire', (e) =>
  write({ ev: 'misfire', job: e.jobName, count: e.missedCount, by: e.detectedBy, node: config.nodeId }),
);

/**
 * Commands from the test on stdin, one JSON line each (`{ id, cmd, args }`):
 * runtime controls and reads of this node's scheduler. Answers on stdout as
 * `answer <json>` with the same id.
 */
if (process.stdin.readable) {
  readJsonLines(process.stdin, (line) => void command(line as { id: number; cmd: string; args: unknown[] }));
}

async function command({ id, cmd, args }: { id: number; cmd: string; args: unknown[] }): Promise<void> {
  const answer = (body: Record<string, unknown>) => console.log(`answer ${JSON.stringify({ id, ...body })}`);
  try {
    const s = scheduler as unknown as Record<string, (...a: unknown[]) => unknown>;
    const allowed = [
      'updateCronSpec',
      'loadFromConfig',
      'pause',
      'resume',
      'rollbackConfig',
      'getConfig',
      'getJob',
      'configHistory',
      'execute',
      'cancel',
      'getMetrics',
      'getClusterMetrics',
    ];
    if (!allowed.includes(cmd)) throw new Error(`unknown command ${cmd}`);
    const result = await (s[cmd] as (...a: unknown[]) => unknown).apply(scheduler, args);
    answer({ ok: true, result: result ?? null });
  } catch (error) {
    answer({ ok: false, code: (error as { code?: string }).code, message: (error as Error).message });
  }
}

process.on('SIGTERM', () => {
  scheduler
    .stop()
    .then(() => close())
    .then(() => process.exit(0))
    .catch(() => process.exit(1));
});

if (config.localConfigFile) await loadConfigFile(scheduler, config.localConfigFile);
await scheduler.start();
console.log('ready');
