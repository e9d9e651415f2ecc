import { Redis } from 'ioredis';

/** Redis CPU (user + system) in µs from INFO cpu: everything the server spent, networking included. */
export async function redisCpuUsec(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0);
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0);
  return (user + sys) * 1e6;
}

/** Every command the server ran since the last CONFIG RESETSTAT (those inside Lua scripts included). */
export async function redisCommandCalls(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  let calls = 0;
  for (const m of info.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)) calls += Number(m[1]);
  return calls;
}

/** Redis CPU per second over `ms` of waiting: with no client but `admin`, the server's own (its cron, the VM), subtracted from cells. */
export async function idleCpuPerSecond(admin: Redis, ms = 5_000): Promise<number> {
  const before = await redisCpuUsec(admin);
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, ms));
  return ((await redisCpuUsec(admin)) - before) / ((Date.now() - t0) / 1000);
}

export async function usedMemory(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);
}

/**
 * Counts every command this process's ioredis clients send from now on (all
 * connections, pub/sub and BullMQ's included; pipelined ones one by one): a
 * process's share of the client round trips. Returns a reader of the count.
 */
export function countClientCommands(): () => number {
  let commands = 0;
  const send = Redis.prototype.sendCommand;
  Redis.prototype.sendCommand = function (this: Redis, ...a: Parameters<typeof send>) {
    commands += 1;
    return send.apply(this, a);
  };
  return () => commands;
}
