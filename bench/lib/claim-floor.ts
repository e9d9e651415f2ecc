import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { RedisConnection, RedisLockManager } from '@sched/cluster';
import { percentile } from './stats.js';
import { redisCpuUsec } from './redis.js';

const run = promisify(execFile);

export interface ClaimFloors {
  /** L2: one fire's claim (`claimDue`, one EVALSHA), sequential, from this process: ms. */
  roundTrip: { p50: number; p99: number };
  /** L4: Redis CPU of one bare claim call of one fire (`INFO commandstats`, EVALSHA µs per call). */
  usecPerCall: number;
  /** L3: `redis-benchmark` of the claim script, 50 clients, by pipeline depth; undefined when it is not installed. */
  ceiling?: Array<{ pipeline: number; opsPerSecond: number; cpuUsecPerCall: number }>;
}

/**
 * The Redis floors of a cron claim (BENCH.md L2, L3, L4), measured on `url`
 * (flushed first): what one claim costs with nothing else running, so a
 * cell's figures can be read against it.
 */
export async function claimFloors(url: string, admin: Redis, calls = 2_000): Promise<ClaimFloors> {
  await admin.flushall();
  const client = new Redis(url);
  try {
    const connection = new RedisConnection(client, { keyPrefix: 'floor' });
    const lockManager = new RedisLockManager(connection);
    // The script's SHA and keys, taken from the first call (the lock package keeps its scripts to itself).
    let sha = '';
    let claimKeys: readonly string[] = [];
    const call = connection.run.bind(connection);
    connection.run = (name, script, keys, args) => {
      if (name === 'claimDue') {
        sha = script.sha;
        claimKeys = keys;
      }
      return call(name, script, keys, args);
    };
    const options = { nodeId: 'floor', leaseTtlMs: 30_000 };
    const instant = Date.now() + 3_600_000;
    const claim = (i: number) => lockManager.claimDue([{ jobName: `j${i}`, instant, startNow: true }], options);
    await claim(-1);
    const samples: number[] = [];
    await admin.config('RESETSTAT');
    for (let i = 0; i < calls; i++) {
      const t = process.hrtime.bigint();
      await claim(i);
      samples.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    const stats = /cmdstat_evalsha:calls=\d+,usec=\d+,usec_per_call=([\d.]+)/.exec(await admin.info('commandstats'));
    const ceiling = await benchmark(url, admin, sha, [...claimKeys], instant);
    return {
      roundTrip: { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99) },
      usecPerCall: Number(stats?.[1] ?? NaN),
      ...(ceiling ? { ceiling } : {}),
    };
  } finally {
    client.disconnect();
  }
}

/** L3: redis-benchmark's EVALSHA of the claim script, one new job per call (`__rand_int__`), -P 1 and -P 16. */
async function benchmark(url: string, admin: Redis, sha: string, keys: string[], instant: number) {
  const { hostname, port } = new URL(url);
  const out: NonNullable<ClaimFloors['ceiling']> = [];
  for (const pipeline of [1, 16]) {
    const requests = 100_000;
    const before = await redisCpuUsec(admin);
    let stdout: string;
    try {
      ({ stdout } = await run(
        'redis-benchmark',
        // One claim of one fire a call: node, ttl, epoch, no announcement (channel, message), then a
        // group (instant, no prev, startNow, 1 job).
        ['-h', hostname, '-p', port, '-c', '50', '-n', String(requests), '-P', String(pipeline), '-r', '100000000', '--csv']
          .concat(['EVALSHA', sha, String(keys.length), ...keys])
          .concat(['floor', '30000', '0', '', '', String(instant), '', '1', '1', 'b__rand_int__']),
        { timeout: 120_000 },
      ));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const cpu = (await redisCpuUsec(admin)) - before;
    // --csv: a header line, then "<command>","<requests per second>",…
    const row = stdout.trim().split('\n').at(-1) ?? '';
    out.push({ pipeline, opsPerSecond: Number(row.split(',')[1]?.replace(/"/g, '')), cpuUsecPerCall: cpu / requests });
  }
  return out;
}
