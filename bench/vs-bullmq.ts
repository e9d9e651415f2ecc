/**
 * sched against BullMQ's job schedulers, side by side on one redis-server of
 * this run's own, interleaved (BENCH.md): our scheduler with 1 and 3 node
 * processes, BullMQ (`upsertJobScheduler` + Workers) with 1 and 3 worker
 * processes at Redis `hz 10` and `hz 100`, with N jobs due every second.
 * Per cell: fire lateness p50/p99/max from the intended instant and the share
 * run within 3 s, Redis commands per fire (INFO commandstats, those inside
 * Lua included), Redis CPU per fire (INFO cpu, the server's idle CPU subtracted; and,
 * as BENCH.md asks, once more less the system's own idle cost — its processes with
 * nothing due, measured each repeat and reported apart), the server's time in the
 * commands the clients sent per fire (BENCH.md's "Redis cost from INFO commandstats":
 * a script's time counted once, not again under the commands it calls; less idle too), node
 * CPU per 1,000 fires (the processes' whole life), duplicates and misses from
 * each process's own list of the fires it ran, client commands per fire (every
 * command the processes' clients sent). Floors measured in the same run: bare
 * timers (L1), the sequential round trip of a PING and of one claim (L2),
 * redis-benchmark of the claim script (L3), Redis CPU of one bare claim (L4). Registration time and
 * Redis bytes per job at BENCH_REG_JOBS apart. Prints the ratios ours/BullMQ.
 *
 *   BENCH_SECONDS (20) BENCH_REPEATS (3) BENCH_JOBS (100,1000,5000) BENCH_REG_JOBS (100000; 0 skips it)
 *   BENCH_NODE_FLAGS (Node options for every node and worker process of both systems)
 *   BENCH_SCHED_DEFAULTS=1 (sched's own heartbeat, node TTL and record retention, 10 s / 30 s / 60 s,
 *     instead of cluster-node.ts's 1 s / 5 s / 5 s; BullMQ always runs with its defaults);
 *   BENCH_SCHED_DEFAULTS=heartbeat (its own heartbeat and node TTL, the 5 s retention kept, so
 *     purging finished records stays inside a cell)
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { RedisServer, stopProcess, waitForOutput } from '@sched/testkit';
import { claimFloors } from './lib/claim-floor.js';
import { timerFloor } from './lib/floor.js';
import {
  clientCommandUsec,
  type CommandCounts,
  idleCpuPerSecond,
  redisCommandStats,
  redisCpuUsec,
  sentBetween,
  usedMemory,
} from './lib/redis.js';
import { spawnBenchProcess } from './lib/spawn.js';
import { checkLedger } from './lib/ledger.js';
import { fmt, keepRaw, machine, median, percentile, summary, table } from './lib/stats.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 20);
const repeats = Number(process.env.BENCH_REPEATS ?? 3);
const jobCounts = (process.env.BENCH_JOBS ?? '100,1000,5000').split(',').map(Number);
const regJobs = Number(process.env.BENCH_REG_JOBS ?? 100_000);
const schedDefaults =
  process.env.BENCH_SCHED_DEFAULTS === '1' ? true : process.env.BENCH_SCHED_DEFAULTS === 'heartbeat' ? 'heartbeat' : false;
const WARMUP_MS = 3_000;
const IDLE_SECONDS = 10;
const RAW = 'vs-bullmq.jsonl';
const ours = fileURLToPath(new URL('./cluster-node.ts', import.meta.url));
const bull = fileURLToPath(new URL('./bullmq-node.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sched-vs-bullmq-'));

type System = { kind: 'sched'; processes: number } | { kind: 'bullmq'; processes: number; hz: 10 | 100 };
const SYSTEMS: System[] = [
  { kind: 'sched', processes: 1 },
  { kind: 'sched', processes: 3 },
  { kind: 'bullmq', processes: 1, hz: 10 },
  { kind: 'bullmq', processes: 3, hz: 10 },
  { kind: 'bullmq', processes: 1, hz: 100 },
  { kind: 'bullmq', processes: 3, hz: 100 },
];
const label = (s: System) =>
  s.kind === 'sched'
    ? `sched, ${s.processes} node${s.processes > 1 ? 's' : ''}`
    : `BullMQ hz ${s.hz}, ${s.processes} worker${s.processes > 1 ? 's' : ''}`;

interface ProcessResult {
  late: number[];
  fires: string[];
  commands: number;
  /** The counts by name its clients had sent at each SIGUSR2 (a window's start and end). */
  marks: CommandCounts[];
  cpuUsec: number;
}

interface Cell {
  late: ReturnType<typeof summary>;
  within3s: number;
  commandsPerFire: number;
  clientCommandsPerFire: number;
  redisUsecPerFire: number;
  /** Less the system's own idle cost too (its processes with nothing due, measured in the same repeat). */
  redisUsecPerFireLessIdle: number;
  /** That idle cost, Redis CPU µs per second (all the cell's processes). */
  idleUsecPerSecond: number;
  /** The server's time in the commands the clients sent (INFO commandstats, BENCH.md), µs a fire. */
  commandUsecPerFire: number;
  /** The same less the system's idle commands (heartbeats and the like, measured with the idle cost). */
  commandUsecPerFireLessIdle: number;
  /** Those idle commands, µs per second. */
  idleCommandUsecPerSecond: number;
  nodeCpuMsPer1k: number;
  duplicates: number;
  misses: number;
  expected: number;
}

let idleUsecPerSecond = 0;

async function upsertSchedulers(queue: Queue, jobs: number, pattern: string): Promise<void> {
  for (let i = 0; i < jobs; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, jobs - i) }, (_, k) =>
        queue.upsertJobScheduler(`job-${i + k}`, { pattern }, { name: 'tick' }),
      ),
    );
  }
}

/** A system's processes (and BullMQ's schedulers, upserted first) with `jobs` jobs on `pattern`; each writes its results to its `outs` file. */
async function startSystem(server: RedisServer, admin: Redis, system: System, jobs: number, pattern: string, tag: string) {
  await admin.flushall();
  await admin.config('SET', 'hz', system.kind === 'bullmq' ? String(system.hz) : '10');
  const outs = Array.from({ length: system.processes }, (_, i) => join(dir, `${tag}-${i}.json`));
  let queue: Queue | undefined;
  let children: ChildProcess[];
  if (system.kind === 'sched') {
    children = await Promise.all(
      outs.map((out, i) =>
        spawnBenchProcess(ours, {
          mode: 'node',
          nodeId: `node-${i + 1}`,
          url: server.url,
          jobs,
          cronSpec: pattern,
          out,
          defaults: schedDefaults,
        }),
      ),
    );
  } else {
    const url = new URL(server.url);
    queue = new Queue('bench', { connection: { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null } });
    await upsertSchedulers(queue, jobs, pattern);
    children = await Promise.all(
      outs.map((out, i) =>
        spawnBenchProcess(bull, { nodeId: `worker-${i + 1}`, url: server.url, queue: 'bench', concurrency: 1_000, out }),
      ),
    );
  }
  const stop = async () => {
    await Promise.all(children.map((c) => stopProcess(c, 'SIGTERM', 30_000)));
    await queue?.close();
  };
  // Each process notes the commands its clients sent so far (a window's start and end), and says so.
  let marks = 0;
  const mark = async () => {
    marks += 1;
    const noted = children.map((c, i) =>
      waitForOutput(c, new RegExp(`^mark ${marks}$`, 'm'), 10_000, `${tag} process ${i + 1}'s mark ${marks}`),
    );
    for (const c of children) c.kill('SIGUSR2');
    await Promise.all(noted);
  };
  const results = () => outs.map((o) => JSON.parse(readFileSync(o, 'utf8')) as ProcessResult);
  return { results, stop, mark };
}

/** A system's idle cost, µs per second: Redis CPU (less the server's own idle) and the server's time in its commands. */
interface IdleCost {
  cpu: number;
  commands: number;
}

/**
 * A system's own idle cost (BENCH.md: heartbeats and the like, reported apart): its
 * processes with 100 jobs due once a year, Redis CPU µs per second less the server's idle,
 * and the server's time in the commands they sent, µs per second.
 */
async function idleCost(server: RedisServer, admin: Redis, system: System, repeat: number): Promise<IdleCost> {
  const tag = `idle-${system.kind}-${system.processes}-${system.kind === 'bullmq' ? system.hz : 0}-${repeat}`;
  const running = await startSystem(server, admin, system, 100, '0 0 0 1 1 *', tag);
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  await admin.config('RESETSTAT');
  await running.mark();
  const t0 = Date.now();
  const perSecond = await idleCpuPerSecond(admin, IDLE_SECONDS * 1000);
  await running.mark();
  const s = (Date.now() - t0) / 1000;
  const stats = await redisCommandStats(admin);
  await running.stop();
  const commands = clientCommandUsec(stats, sentBetween(running.results(), 0, 1)) / s;
  return { cpu: perSecond - idleUsecPerSecond, commands };
}

async function cell(
  server: RedisServer,
  admin: Redis,
  system: System,
  jobs: number,
  repeat: number,
  idle: IdleCost,
): Promise<Cell> {
  const tag = `${system.kind}-${system.processes}-${system.kind === 'bullmq' ? system.hz : 0}-${jobs}-${repeat}`;
  const running = await startSystem(server, admin, system, jobs, '* * * * * *', tag);
  await new Promise((r) => setTimeout(r, WARMUP_MS)); // warm-up excluded
  await admin.config('RESETSTAT');
  await running.mark();
  const before = await redisCpuUsec(admin);
  const t0 = Date.now();
  const from = Math.ceil(t0 / 1000) * 1000 + 1000;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  await running.mark();
  const stats = await redisCommandStats(admin);
  const after = await redisCpuUsec(admin);
  const t1 = Date.now();
  let calls = 0;
  for (const s of stats.values()) calls += s.calls;
  // Fires due up to 3 s before the end, so a late one still counts as run (a miss is one that never ran).
  const to = Math.floor(t1 / 1000) * 1000 - 3_000;
  await running.stop();
  const results = running.results();
  const commandUsec = clientCommandUsec(stats, sentBetween(results, 0, 1));

  const { counts, duplicates, misses, expected } = checkLedger(
    results.map((r) => r.fires),
    jobs,
    from,
    to,
  );
  const instantOf = (fireId: string) => Number(fireId.slice(fireId.lastIndexOf('@') + 1));
  const late: number[] = [];
  for (const r of results) {
    r.fires.forEach((f, i) => {
      const t = instantOf(f);
      if (t >= from && t <= to) late.push(r.late[i] as number);
    });
  }
  let windowFires = 0;
  for (const f of counts.keys()) if (instantOf(f) > t0 && instantOf(f) <= t1) windowFires += 1;
  const allFires = results.reduce((a, r) => a + r.fires.length, 0);
  return {
    late: summary(late),
    // Of the fires due in the window: run, and within 3 s of the instant (misses count as not).
    within3s: expected === 0 ? 0 : late.filter((l) => l <= 3_000).length / expected,
    commandsPerFire: calls / Math.max(1, windowFires),
    // The processes' whole life (start-up and stop included), as node CPU; BullMQ's upserts are the orchestrator's.
    clientCommandsPerFire: results.reduce((a, r) => a + r.commands, 0) / Math.max(1, allFires),
    redisUsecPerFire: (after - before - idleUsecPerSecond * ((t1 - t0) / 1000)) / Math.max(1, windowFires),
    redisUsecPerFireLessIdle: (after - before - (idleUsecPerSecond + idle.cpu) * ((t1 - t0) / 1000)) / Math.max(1, windowFires),
    idleUsecPerSecond: idle.cpu,
    commandUsecPerFire: commandUsec / Math.max(1, windowFires),
    commandUsecPerFireLessIdle: (commandUsec - idle.commands * ((t1 - t0) / 1000)) / Math.max(1, windowFires),
    idleCommandUsecPerSecond: idle.commands,
    nodeCpuMsPer1k: results.reduce((a, r) => a + r.cpuUsec, 0) / 1000 / Math.max(1, allFires / 1000),
    duplicates,
    misses,
    expected,
  };
}

/** L2: sequential PINGs from this process, p50/p99 ms. */
async function roundTripFloor(admin: Redis): Promise<{ p50: number; p99: number }> {
  const samples: number[] = [];
  for (let i = 0; i < 2_000; i++) {
    const t = process.hrtime.bigint();
    await admin.ping();
    samples.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99) };
}

/** Registration of `jobs` yearly jobs: wall time per job and Redis bytes per job (used_memory delta). */
async function registration(server: RedisServer, admin: Redis, system: 'sched' | 'bullmq', jobs: number) {
  await admin.flushall();
  const memBefore = await usedMemory(admin);
  const t0 = Date.now();
  let child: ChildProcess | undefined;
  if (system === 'sched') {
    // register + start (the node registers in Redis with its job list), process start-up included
    child = await spawnBenchProcess(ours, {
      mode: 'node',
      nodeId: 'reg',
      url: server.url,
      jobs,
      cronSpec: '0 0 0 1 1 *',
      out: join(dir, `reg-${jobs}.json`),
    });
  } else {
    const url = new URL(server.url);
    const queue = new Queue('reg', { connection: { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null } });
    await upsertSchedulers(queue, jobs, '0 0 0 1 1 *');
    await queue.close();
  }
  const ms = Date.now() - t0;
  const bytes = (await usedMemory(admin)) - memBefore;
  if (child) await stopProcess(child, 'SIGTERM', 60_000);
  return { msPerJob: ms / jobs, bytesPerJob: bytes / jobs };
}

async function main(): Promise<void> {
  console.log(
    `sched vs BullMQ job schedulers — ${machine()}; ${seconds} s cells, ${repeats} repeats, jobs ${jobCounts.join('/')}` +
      (process.env.BENCH_NODE_FLAGS ? `; every process run with ${process.env.BENCH_NODE_FLAGS}` : '') +
      (schedDefaults === true ? '; sched with its default heartbeat, node TTL and record retention' : '') +
      (schedDefaults === 'heartbeat' ? '; sched with its default heartbeat and node TTL (records kept 5 s)' : ''),
  );
  const server = await RedisServer.start();
  const admin = new Redis(server.url);
  const cells: Array<{ system: System; jobs: number; repeat: number; c: Cell }> = [];
  const floors = new Map<number, Array<ReturnType<typeof summary>>>();
  try {
    console.log(`redis-server ${(/redis_version:(\S+)/.exec(await admin.info('server')) ?? [])[1]}, no persistence`);
    idleUsecPerSecond = await idleCpuPerSecond(admin);
    const rt = await roundTripFloor(admin);
    console.log(
      `L2 round trip (PING): p50 ${fmt(rt.p50, 3)} ms, p99 ${fmt(rt.p99, 3)} ms; Redis idle CPU ${fmt(idleUsecPerSecond, 0)} µs/s (subtracted)`,
    );
    const claim = await claimFloors(server.url, admin);
    keepRaw(RAW, { floors: { pingRoundTrip: rt, claim } });
    console.log(
      `L2 round trip (one claim, EVALSHA): p50 ${fmt(claim.roundTrip.p50, 3)} ms, p99 ${fmt(claim.roundTrip.p99, 3)} ms; ` +
        `L4 Redis CPU of one bare claim: ${fmt(claim.usecPerCall, 1)} µs`,
    );
    console.log(
      claim.ceiling
        ? `L3 redis-benchmark of the claim script, 50 clients: ${claim.ceiling
            .map((c) => `-P ${c.pipeline} ${fmt(c.opsPerSecond, 0)} claims/s (${fmt(c.cpuUsecPerCall, 1)} Redis CPU µs each)`)
            .join(', ')}`
        : 'L3 skipped: redis-benchmark is not installed',
    );
    // label -> the system's idle cost per repeat, µs/s: Redis CPU, and time in its commands
    const idles = new Map<string, IdleCost[]>();
    for (let repeat = 0; repeat < repeats; repeat++) {
      const idleOf = new Map<System, IdleCost>();
      for (const system of SYSTEMS) {
        const idle = await idleCost(server, admin, system, repeat);
        idleOf.set(system, idle);
        idles.set(label(system), [...(idles.get(label(system)) ?? []), idle]);
        keepRaw(RAW, { system, repeat, idleUsecPerSecond: idle.cpu, idleCommandUsecPerSecond: idle.commands });
        console.log(
          `${label(system).padEnd(24)} idle rep ${repeat + 1}: ${fmt(idle.cpu, 0)} Redis CPU µs/s, ${fmt(idle.commands, 0)} in its commands`,
        );
      }
      for (const jobs of jobCounts) {
        const f = summary(await timerFloor(dir, `${jobs}-${repeat}`, jobs, 5));
        floors.set(jobs, [...(floors.get(jobs) ?? []), f]);
        // Interleaved: each repeat runs every system at this load, the order rotating by repeat.
        const order = SYSTEMS.map((_, i) => SYSTEMS[(i + repeat) % SYSTEMS.length] as System);
        for (const system of order) {
          const c = await cell(server, admin, system, jobs, repeat, idleOf.get(system) ?? { cpu: 0, commands: 0 });
          cells.push({ system, jobs, repeat, c });
          keepRaw(RAW, { system, jobs, repeat, seconds, ...c });
          console.log(
            `${label(system).padEnd(24)} ${String(jobs).padStart(5)}/s rep ${repeat + 1}: p50 ${fmt(c.late.p50)} p99 ${fmt(c.late.p99)} max ${fmt(c.late.max)} ms, ` +
              `≤3 s ${fmt(c.within3s * 100)} %, ${fmt(c.commandsPerFire, 1)} cmds/fire, ${fmt(c.clientCommandsPerFire, 2)} client cmds/fire, ` +
              `${fmt(c.redisUsecPerFire, 1)} Redis µs/fire (${fmt(c.redisUsecPerFireLessIdle, 1)} less idle), ` +
              `${fmt(c.commandUsecPerFire, 1)} in commands (${fmt(c.commandUsecPerFireLessIdle, 1)} less idle), ` +
              `${fmt(c.nodeCpuMsPer1k, 1)} node CPU ms/1k, dup ${c.duplicates}, miss ${c.misses}/${c.expected}`,
          );
        }
      }
    }
    const rows: string[][] = [];
    const ratios: string[][] = [];
    const med = (xs: number[]) => median(xs);
    const range = (xs: number[], digits = 1) =>
      `${fmt(med(xs), digits)} [${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)}]`;
    for (const jobs of jobCounts) {
      const fl = floors.get(jobs) ?? [];
      rows.push([
        `floor (bare timers)`,
        String(jobs),
        range(fl.map((x) => x.p50)),
        range(fl.map((x) => x.p99)),
        '',
        '',
        '',
        '',
        '',
        '',
        '',
        '',
        '',
        '',
      ]);
      const of = (s: System) =>
        cells.filter((x) => x.jobs === jobs && JSON.stringify(x.system) === JSON.stringify(s)).map((x) => x.c);
      for (const system of SYSTEMS) {
        const cs = of(system);
        rows.push([
          label(system),
          String(jobs),
          range(cs.map((c) => c.late.p50)),
          range(cs.map((c) => c.late.p99)),
          fmt(Math.max(...cs.map((c) => c.late.max))),
          `${fmt(med(cs.map((c) => c.within3s * 100)))} %`,
          fmt(med(cs.map((c) => c.commandsPerFire)), 1),
          fmt(med(cs.map((c) => c.clientCommandsPerFire)), 2),
          fmt(med(cs.map((c) => c.redisUsecPerFire)), 1),
          fmt(med(cs.map((c) => c.redisUsecPerFireLessIdle)), 1),
          fmt(med(cs.map((c) => c.commandUsecPerFire)), 1),
          fmt(med(cs.map((c) => c.commandUsecPerFireLessIdle)), 1),
          fmt(med(cs.map((c) => c.nodeCpuMsPer1k)), 1),
          `${cs.reduce((a, c) => a + c.duplicates, 0)} / ${cs.reduce((a, c) => a + c.misses, 0)} of ${cs.reduce((a, c) => a + c.expected, 0)}`,
        ]);
      }
      for (const hz of [10, 100] as const) {
        for (const processes of [1, 3]) {
          const a = of({ kind: 'sched', processes });
          const b = of({ kind: 'bullmq', processes, hz });
          ratios.push([
            `${processes} process${processes > 1 ? 'es' : ''}, hz ${hz}`,
            String(jobs),
            fmt(med(a.map((c) => c.late.p50)) / med(b.map((c) => c.late.p50)), 3),
            fmt(med(a.map((c) => c.late.p99)) / med(b.map((c) => c.late.p99)), 3),
            fmt(med(a.map((c) => c.redisUsecPerFire)) / med(b.map((c) => c.redisUsecPerFire)), 3),
            fmt(med(a.map((c) => c.redisUsecPerFireLessIdle)) / med(b.map((c) => c.redisUsecPerFireLessIdle)), 3),
            fmt(med(a.map((c) => c.commandUsecPerFire)) / med(b.map((c) => c.commandUsecPerFire)), 3),
            fmt(med(a.map((c) => c.commandUsecPerFireLessIdle)) / med(b.map((c) => c.commandUsecPerFireLessIdle)), 3),
          ]);
        }
      }
    }
    console.log();
    console.log(
      table(
        [
          'system',
          'jobs/s',
          'p50 ms [range]',
          'p99 ms [range]',
          'max ms',
          'run ≤ 3 s',
          'Redis cmds/fire',
          'client cmds/fire',
          'Redis CPU µs/fire',
          'less idle',
          'in commands µs/fire',
          'less idle',
          'node CPU ms/1k',
          'dup / miss',
        ],
        rows,
      ),
    );
    console.log();
    console.log(
      table(['ours / BullMQ', 'jobs/s', 'p50', 'p99', 'Redis CPU/fire', 'less idle', 'in commands/fire', 'less idle'], ratios),
    );
    console.log();
    console.log(
      table(
        ['idle (100 jobs due once a year)', 'Redis CPU µs/s, all processes [range]', 'in their commands µs/s'],
        SYSTEMS.map((system) => {
          const xs = idles.get(label(system)) ?? [];
          return [
            label(system),
            range(
              xs.map((x) => x.cpu),
              0,
            ),
            range(
              xs.map((x) => x.commands),
              0,
            ),
          ];
        }),
      ),
    );
    if (regJobs <= 0) return;
    const reg = {
      sched: await registration(server, admin, 'sched', regJobs),
      bullmq: await registration(server, admin, 'bullmq', regJobs),
    };
    keepRaw(RAW, { registration: reg, jobs: regJobs });
    console.log();
    console.log(
      table(
        [`registration of ${regJobs} jobs`, 'ms per job', 'Redis bytes per job'],
        [
          [
            'sched (registerJob + start, 1 node, process start included)',
            fmt(reg.sched.msPerJob, 4),
            fmt(reg.sched.bytesPerJob, 0),
          ],
          ['BullMQ (upsertJobScheduler, 500 at a time)', fmt(reg.bullmq.msPerJob, 4), fmt(reg.bullmq.bytesPerJob, 0)],
        ],
      ),
    );
  } finally {
    admin.disconnect();
    await server.dispose();
  }
}

await main();
