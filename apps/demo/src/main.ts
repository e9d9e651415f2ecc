import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { createConsoleLogger } from '@sched/core';
import { RedisServer, hasRedisServer } from '@sched/testkit';
import { runDemo } from './demo.js';
import { runClusterDemo } from './cluster/orchestrator.js';

const usage = `Usage: pnpm demo [options]      (from the repository root: npm run demo -- [options])

The distributed demo: three node processes on one Redis, every feature of sched at
work (a DAG, a sharded sync, priorities under a saturated maxConcurrency,
overlapPrevent, remote execution per route strategy, a hot config reload, a node
killed -9 and taken over), then a summary from the snapshots and metrics. About a
minute, then it ends by itself.

Redis: --redis <url> or REDIS_URL if it answers (the demo uses keys of its own
under a fresh prefix and removes them at the end); else a throwaway redis-server on a
free port if one is installed; else the one-process embedded demo.

  --redis <url>       this Redis
  --embedded          the one-process demo on the embedded default (no Redis)
  --phase <seconds>   time between the distributed demo's phases (default 10, 4 to 60)
  --duration <s>      how long the embedded demo runs (default 20, at most 600)
  --verbose           the embedded demo also prints the scheduler's log lines
  --help              this text`;

interface Args {
  redis: string | undefined;
  embedded: boolean;
  phaseSeconds: number;
  durationMs: number;
  verbose: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { redis: undefined, embedded: false, phaseSeconds: 10, durationMs: 20_000, verbose: false };
  const number = (name: string, text: string | undefined, min: number, max: number): number => {
    const n = Number(text);
    if (!Number.isFinite(n) || n < min || n > max) {
      console.error(`demo: ${name} must be a number from ${min} to ${max}, got ${String(text)}`);
      process.exit(2);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') continue;
    if (arg === '--help' || arg === '-h') {
      console.log(usage);
      process.exit(0);
    } else if (arg === '--verbose') args.verbose = true;
    else if (arg === '--embedded') args.embedded = true;
    else if (arg === '--redis') args.redis = argv[++i];
    else if (arg === '--phase') args.phaseSeconds = number('--phase', argv[++i], 4, 60);
    else if (arg === '--duration') args.durationMs = Math.round(number('--duration', argv[++i], 1, 600) * 1000);
    else {
      console.error(`demo: unknown option ${String(arg)}\n\n${usage}`);
      process.exit(2);
    }
  }
  return args;
}

/** Whether a Redis answers PING at `url` within a second. */
async function answers(url: string): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 1_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

const args = parseArgs(process.argv.slice(2));
let onInterrupt: () => void = () => {};
const interrupted = new Promise<void>((resolve) => (onInterrupt = resolve));
process.once('SIGINT', () => {
  console.log('\n(Ctrl-C: stopping gracefully)');
  onInterrupt();
});
process.once('SIGTERM', () => onInterrupt());

async function embedded(): Promise<void> {
  await runDemo({
    durationMs: args.durationMs,
    print: (line) => console.log(line),
    ...(args.verbose ? { logger: createConsoleLogger({ level: 'info' }) } : {}),
    interrupted,
    sleep: (ms, signal) => delay(ms, undefined, { signal }),
    wait: (ms, until) => Promise.race([delay(ms), until]),
  });
}

async function distributed(url: string): Promise<number> {
  const result = await runClusterDemo({
    redisUrl: url,
    keyPrefix: `demo-${randomBytes(4).toString('hex')}`,
    print: (line) => console.log(line),
    phaseSeconds: args.phaseSeconds,
    interrupted,
  });
  const c = result.checks;
  const held = c.duplicates.length === 0 && c.heartbeat.missed.length === 0 && c.dag.violations.length === 0;
  return held ? 0 : 1;
}

let code = 0;
const url = args.redis ?? process.env.REDIS_URL;
if (args.embedded) {
  await embedded();
} else if (url && (await answers(url))) {
  console.log(`demo: using the Redis at ${url}`);
  code = await distributed(url);
} else {
  if (url) console.log(`demo: no Redis answers at ${url}`);
  if (hasRedisServer()) {
    const server = await RedisServer.start();
    console.log(`demo: started a throwaway redis-server at ${server.url} (removed at the end)`);
    try {
      code = await distributed(server.url);
    } finally {
      await server.dispose();
    }
  } else {
    console.log('demo: no Redis and no redis-server installed: the one-process demo on the embedded default instead');
    await embedded();
  }
}
process.exit(code);
