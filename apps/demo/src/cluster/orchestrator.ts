import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { RedisConnection, RedisSnapshotRepository } from '@sched/cluster';
import type { ClusterMetrics, ExecuteResult, ExecutionSnapshot } from '@sched/core';
import { startTracked, stopProcess } from '@sched/testkit';
import { clockTime } from '../report.js';
import { RELOADED_CONFIG } from './jobs.js';
import type { DemoNodeConfig } from './node.js';
import { analyse, type DemoEvent, type DemoChecks } from './checks.js';
import { runsTable, checksTable } from './summary.js';

export interface ClusterDemoOptions {
  redisUrl: string;
  /** Where the demo's keys live (removed at the end). */
  keyPrefix: string;
  print: (line: string) => void;
  /** Node runtime flags (default: this process's, which load TypeScript through tsx). */
  execArgv?: string[];
  /** Seconds between the phases (default 10; the tests use less). */
  phaseSeconds?: number;
  /** Resolves to end early (Ctrl-C): the summary is still printed. */
  interrupted?: Promise<void>;
}

export interface ClusterDemoResult {
  checks: DemoChecks;
  runs: Map<string, Map<string, number>>;
  metrics: ClusterMetrics | undefined;
}

const NODES = ['node-a', 'node-b', 'node-c'];
const VICTIM = 'node-c';
const nodeScript = fileURLToPath(new URL('./node.ts', import.meta.url));

interface DemoNode {
  id: string;
  child: ChildProcess;
  commands: Map<number, (answer: { ok: boolean; result?: unknown; message?: string }) => void>;
  alive: boolean;
}

/**
 * The distributed demo: three node processes on one Redis, each feature at
 * work in phases (DAG, sharding, priorities, overlapPrevent from the start;
 * then remote execution per route strategy, a hot config reload, a node
 * killed -9), every run printed as it happens, and a summary from the
 * snapshots, the cluster metrics and checks over everything the nodes did.
 */
export async function runClusterDemo(options: ClusterDemoOptions): Promise<ClusterDemoResult> {
  const { print } = options;
  const phase = (options.phaseSeconds ?? 10) * 1_000;
  const interrupted = options.interrupted ?? new Promise<void>(() => undefined);
  let stop = false;
  void interrupted.then(() => (stop = true));
  const wait = async (ms: number) => {
    await Promise.race([delay(ms), interrupted]);
  };
  const events: DemoEvent[] = [];
  const nodes = new Map<string, DemoNode>();
  const dir = mkdtempSync(join(tmpdir(), 'sched-demo-'));
  let commandId = 0;
  const banner = (text: string) => print(`\n${clockTime(Date.now())}  ── ${text} ──`);

  const command = (nodeId: string, cmd: string, ...args: unknown[]) => {
    const node = nodes.get(nodeId);
    if (!node?.alive || !node.child.stdin) return Promise.reject(new Error(`${nodeId} is not running`));
    const id = ++commandId;
    return new Promise<unknown>((resolve, reject) => {
      node.commands.set(id, (a) => (a.ok ? resolve(a.result) : reject(new Error(a.message))));
      node.child.stdin?.write(`${JSON.stringify({ id, cmd, args })}\n`);
    });
  };

  const start = (id: string) =>
    new Promise<void>((resolve, reject) => {
      const config: DemoNodeConfig = { nodeId: id, redisUrl: options.redisUrl, keyPrefix: options.keyPrefix };
      const child = startTracked(process.execPath, [...(options.execArgv ?? process.execArgv), nodeScript], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, SCHED_DEMO_NODE: JSON.stringify(config) },
      });
      const node: DemoNode = { id, child, commands: new Map(), alive: true };
      nodes.set(id, node);
      let pending = '';
      let errors = '';
      child.stderr?.on('data', (d: Buffer) => (errors = (errors + d.toString()).slice(-4_000)));
      child.stdout?.on('data', (d: Buffer) => {
        pending += d.toString();
        for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          if (line.startsWith('@answer ')) {
            const a = JSON.parse(line.slice(8)) as { id: number; ok: boolean; result?: unknown; message?: string };
            node.commands.get(a.id)?.(a);
            node.commands.delete(a.id);
          } else if (line.startsWith('@ev ')) {
            const ev = { ...(JSON.parse(line.slice(4)) as DemoEvent), seen: Date.now() };
            events.push(ev);
            if (ev.ev === 'ready') resolve();
            const shown = describe(ev);
            if (shown) print(shown);
          }
        }
      });
      child.once('exit', (code, signal) => {
        node.alive = false;
        if (!events.some((e) => e.node === id && e.ev === 'ready')) {
          reject(new Error(`${id} exited (${signal ?? code}) before it was ready:\n${errors}`));
        }
      });
    });

  let metrics: ClusterMetrics | undefined;
  let killedAt: number | undefined;
  let leftAfterMs: number | undefined;
  let reloadedAt: number | undefined;
  const remote: Array<{ strategy: string; ran: string[]; error?: string }> = [];
  try {
    banner(`starting ${NODES.join(', ')} on ${options.redisUrl} (keys under ${options.keyPrefix}:)`);
    await Promise.all(NODES.map(start));
    const readyAt = Date.now();
    print(
      `${clockTime(readyAt)}  all ${NODES.length} nodes ready; fires spread by rendezvous hashing, each claimed once in Redis`,
    );
    await wait(phase);

    if (!stop) {
      banner('remote execution: `notify` once per route strategy, sent by node-a');
      for (const strategy of ['first', 'last', 'random', 'round-robin', 'broadcast', 'sharding', 'specific', 'failover']) {
        try {
          const result = (await command('node-a', 'execute', {
            jobName: 'notify',
            routeStrategy: strategy,
            timeoutMs: 10_000,
            params: { via: strategy },
            ...(strategy === 'specific' ? { nodeId: 'node-b' } : {}),
          })) as ExecuteResult;
          const ran = result.outcomes.map((o) => `${o.nodeId} ${o.status}`);
          remote.push({ strategy, ran });
          print(`${clockTime(Date.now())}  remote  ${strategy.padEnd(11)} → ${ran.join(', ')}`);
        } catch (error) {
          remote.push({ strategy, ran: [], error: (error as Error).message });
          print(`${clockTime(Date.now())}  remote  ${strategy.padEnd(11)} → error: ${(error as Error).message}`);
        }
      }
      await wait(Math.max(0, phase - 2_000));
    }

    if (!stop) {
      banner('hot config reload: a YAML file loaded on node-b, applied by every node');
      const file = join(dir, 'reload.yaml');
      writeFileSync(file, RELOADED_CONFIG);
      for (const line of RELOADED_CONFIG.trim().split('\n')) print(`            | ${line}`);
      const version = await command('node-b', 'loadConfigFile', file);
      reloadedAt = Date.now();
      print(
        `${clockTime(reloadedAt)}  config version ${String(version)} written; watch report (every 4 s now) and burst-h (first now)`,
      );
      await wait(phase);
    }

    if (!stop) {
      banner(`kill -9 ${VICTIM}: the others take over its fires, its shards and its place in the rendezvous`);
      const victim = nodes.get(VICTIM) as DemoNode;
      killedAt = Date.now();
      victim.child.kill('SIGKILL');
      victim.alive = false;
      print(`${clockTime(killedAt)}  ${VICTIM} (pid ${victim.child.pid}) killed`);
      for (let i = 0; i < 20 && !stop; i++) {
        await wait(500);
        const live = (await command('node-a', 'getNodes')) as string[];
        if (!live.includes(VICTIM)) {
          leftAfterMs = Date.now() - killedAt;
          print(
            `${clockTime(Date.now())}  ${VICTIM} left the registry ${(leftAfterMs / 1000).toFixed(1)} s after the kill (its TTL); live: ${live.join(', ')}`,
          );
          break;
        }
      }
      await wait(Math.max(0, phase + 2_000 - (Date.now() - killedAt)));
    }

    banner('stopping: cluster metrics, then a graceful stop of the live nodes');
    try {
      metrics = (await command('node-a', 'getClusterMetrics')) as ClusterMetrics;
    } catch (error) {
      print(`cluster metrics unavailable: ${(error as Error).message}`);
    }
    const stopAt = Date.now();
    await Promise.all([...nodes.values()].filter((n) => n.alive).map((n) => stopProcess(n.child, 'SIGTERM', 10_000)));
    print(`${clockTime(Date.now())}  stopped`);

    const history = await readHistory(options.redisUrl, options.keyPrefix);
    const runs = new Map<string, Map<string, number>>();
    for (const s of history) {
      if (s.status === 'skipped' || s.status === 'misfired') continue;
      const byNode = runs.get(s.jobName) ?? new Map<string, number>();
      byNode.set(s.nodeId, (byNode.get(s.nodeId) ?? 0) + 1);
      runs.set(s.jobName, byNode);
    }
    const checks = analyse(events, {
      from: readyAt + 1_000,
      to: stopAt - 2_000,
      killedAt,
      reloadedAt,
      victim: VICTIM,
      remote,
      leftAfterMs,
    });
    print('');
    print(`runs per job and node (from the ${history.length} snapshots in Redis):`);
    print(runsTable(runs, NODES));
    if (metrics) {
      print('');
      print(
        `cluster metrics (getClusterMetrics on node-a, before the stop): ${metrics.nodes
          .map((n) => `${n.nodeId} ${n.totals.executionCount}`)
          .join(
            ', ',
          )} executions; ${metrics.missing.length === 0 ? 'no node missing' : `missing: ${metrics.missing.join(', ')}`}`,
      );
    }
    print('');
    print(checksTable(checks));
    return { checks, runs, metrics };
  } finally {
    for (const n of nodes.values()) if (n.alive) await stopProcess(n.child, 'SIGKILL', 1_000);
    rmSync(dir, { recursive: true, force: true });
    await removeKeys(options.redisUrl, options.keyPrefix).catch(() => undefined);
  }
}

/** One line for a node's event, or nothing for what is not worth a line. */
function describe(ev: DemoEvent): string | undefined {
  const at = clockTime(ev.seen);
  const who = ev.node.padEnd(7);
  const job = (ev.fireId?.includes('#') ? `${ev.job} #${ev.fireId.split('#')[1]}` : (ev.job ?? '')).padEnd(17);
  const when = ev.scheduledAt === undefined ? 'manual/remote' : `for ${clockTime(ev.scheduledAt)}`;
  switch (ev.ev) {
    case 'end': {
      const mark = ev.status === 'completed' ? 'ok  ' : (ev.status ?? '?').toUpperCase().slice(0, 4);
      const items = ev.items ? `  ${ev.items} items` : '';
      const error = ev.error ? `  ${ev.error}` : '';
      const attempt = (ev.attempt ?? 1) > 1 ? `  attempt ${ev.attempt}` : '';
      return `${at}  ${who} ${mark}  ${job} ${when}  ${String(Math.round(ev.durationMs ?? 0)).padStart(4)} ms${items}${attempt}${error}`;
    }
    case 'start':
      return ev.job?.startsWith('burst-') ? `${at}  ${who} run   ${job} ${when}  priority ${ev.priority}` : undefined;
    case 'skip':
      return `${at}  ${who} SKIP  ${job} ${when}  (${ev.reason})`;
    case 'misfire':
      return `${at}  ${who} MISS  ${job} ${ev.count} instant(s), policy ${ev.policy}`;
    case 'abandon':
      return `${at}  ${who} ABND  ${job} (its node died mid-run)`;
    case 'config':
      return `${at}  ${who} config version ${ev.version} applied (${ev.reason ?? 'by ' + String(ev.by)})`;
    case 'log':
      return ev.level === 'error' ? `${at}  ${who} error: ${ev.msg}${ev.error ? ` (${ev.error})` : ''}` : undefined;
    default:
      return undefined;
  }
}

async function readHistory(url: string, keyPrefix: string): Promise<ExecutionSnapshot[]> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const repo = new RedisSnapshotRepository(new RedisConnection(redis, { keyPrefix }));
    const all: ExecutionSnapshot[] = [];
    let cursor: string | undefined;
    do {
      const page = await repo.list({ limit: 1_000, ...(cursor ? { cursor } : {}) });
      all.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return all;
  } finally {
    redis.disconnect();
  }
}

/** Deletes the demo's own keys (never anything else of a shared Redis). */
async function removeKeys(url: string, keyPrefix: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    for (const pattern of [`${keyPrefix}:*`, `{${keyPrefix}:*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
        cursor = next;
        if (keys.length > 0) await redis.unlink(...keys);
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
}
