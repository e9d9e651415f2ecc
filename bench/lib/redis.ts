import { Redis } from 'ioredis';

/** Redis CPU (user + system) in µs from INFO cpu: everything the server spent, networking included. */
export async function redisCpuUsec(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0);
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0);
  return (user + sys) * 1e6;
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

/** Commands by name (lower case, a container command by its base name: `config`, `client`). */
export type CommandCounts = Record<string, number>;

/**
 * Counts every command this process's ioredis clients send from now on (all
 * connections, pub/sub and BullMQ's included; pipelined ones one by one): a
 * process's share of the client round trips, in all and by name. On each
 * SIGUSR2 it notes the counts by name so far (`marks`): the orchestrator
 * signals at a measuring window's start and end, so the commands a window's
 * clients sent are the difference of two marks. Each mark prints `mark <n>`.
 */
export function countClientCommands(): { total: () => number; marks: CommandCounts[] } {
  let commands = 0;
  const byName: CommandCounts = {};
  const marks: CommandCounts[] = [];
  const send = Redis.prototype.sendCommand;
  Redis.prototype.sendCommand = function (this: Redis, ...a: Parameters<typeof send>) {
    commands += 1;
    const name = String(a[0].name).toLowerCase();
    byName[name] = (byName[name] ?? 0) + 1;
    return send.apply(this, a);
  };
  process.on('SIGUSR2', () => {
    marks.push({ ...byName });
    // The orchestrator waits for this before it goes on (a stop right after a mark must not overtake it).
    console.log(`mark ${marks.length}`);
  });
  return { total: () => commands, marks };
}

/** Calls and µs by command name since the last CONFIG RESETSTAT (INFO commandstats; subcommands under their base name). */
export async function redisCommandStats(redis: Redis): Promise<Map<string, { calls: number; usec: number }>> {
  const stats = new Map<string, { calls: number; usec: number }>();
  for (const m of (await redis.info('commandstats')).matchAll(/^cmdstat_([^:|]+)[^:]*:calls=(\d+),usec=(\d+)/gm)) {
    const name = m[1] as string;
    const s = stats.get(name) ?? { calls: 0, usec: 0 };
    stats.set(name, { calls: s.calls + Number(m[2]), usec: s.usec + Number(m[3]) });
  }
  return stats;
}

/**
 * The server's time in the commands the clients sent (BENCH.md's "Redis cost from INFO
 * commandstats"), µs. A script's time includes the commands it calls, and those are
 * counted under their own names too, so a name's time counts in the share of its calls
 * that came from a client (`sent`, the clients' counts over the same window): all of
 * EVALSHA's, none of an HSET only scripts call.
 */
export function clientCommandUsec(stats: Map<string, { calls: number; usec: number }>, sent: CommandCounts): number {
  let usec = 0;
  for (const [name, s] of stats) {
    const calls = sent[name] ?? 0;
    if (calls > 0 && s.calls > 0) usec += s.usec * Math.min(1, calls / s.calls);
  }
  return usec;
}

/** The commands clients sent between two marks, summed over processes. */
export function sentBetween(processes: Array<{ marks: CommandCounts[] }>, from: number, to: number): CommandCounts {
  const sent: CommandCounts = {};
  for (const p of processes) {
    const a = p.marks[from];
    const b = p.marks[to];
    // A process that missed a signal would count as having sent nothing: no figure rather than a wrong one.
    if (!a || !b) throw new Error(`a process noted ${p.marks.length} of the window's marks, not ${to + 1}`);
    for (const [name, n] of Object.entries(b)) sent[name] = (sent[name] ?? 0) + n - (a[name] ?? 0);
  }
  return sent;
}
