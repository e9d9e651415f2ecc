import { readFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { RedisServer, startTracked, stopProcess, waitForOutput } from '@sched/testkit';
import type { NodeConfig } from '../src/node.js';

const nodeScript = fileURLToPath(new URL('../src/node.ts', import.meta.url));

export interface LedgerLine {
  ev: 'start' | 'end' | 'fail' | 'abort' | 'misfire';
  fireId: string;
  attempt: number;
  node: string;
  job: string;
  scheduledAt?: number;
  fencing?: number;
  at: number;
  wall: number;
  count?: number;
  by?: string;
  missedCount?: number;
  executionId?: string;
  /** Sharded job: an execution's final status. */
  status?: string;
}

export class Scenario {
  readonly dir = mkdtempSync(join(tmpdir(), 'sched-e2e-'));
  readonly ledger = join(this.dir, 'ledger.jsonl');
  readonly nodes = new Map<string, ChildProcess>();
  readonly logs = new Map<string, string[]>();
  /** How each stopped node exited (0: a clean graceful stop). */
  readonly exitCodes = new Map<string, number | null>();

  constructor(readonly base: Omit<NodeConfig, 'nodeId' | 'ledger'>) {}

  /** Starts a node process and waits until its scheduler started. */
  async start(nodeId: string, extra: Partial<NodeConfig> = {}): Promise<ChildProcess> {
    const config: NodeConfig = { ...this.base, ...extra, nodeId, ledger: this.ledger };
    const child = startTracked(process.execPath, ['--import', 'tsx', '--conditions=@sched/source', nodeScript], {
      env: { ...process.env, SCHED_E2E: JSON.stringify(config) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const log: string[] = [];
    this.logs.set(nodeId, log);
    child.stderr?.on('data', (d: Buffer) => log.push(d.toString()));
    this.nodes.set(nodeId, child);
    await waitForOutput(child, /^ready$/m, 30_000, `node ${nodeId}`);
    return child;
  }

  private commands = 0;

  /** Runs a scheduler method on a node (see node.ts) and resolves with its answer. */
  async command(
    nodeId: string,
    cmd: string,
    ...args: unknown[]
  ): Promise<{ ok: boolean; result?: unknown; code?: string; message?: string }> {
    const child = this.nodes.get(nodeId);
    if (!child?.stdin || !child.stdout) throw new Error(`no node ${nodeId}`);
    const id = ++this.commands;
    const stdout = child.stdout;
    return new Promise((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => {
        stdout.off('data', onData);
        reject(new Error(`node ${nodeId} did not answer ${cmd} within 15 s`));
      }, 15_000);
      const onData = (d: Buffer): void => {
        seen += d.toString();
        for (const m of seen.matchAll(/^answer (.*)$/gm)) {
          const body = JSON.parse(m[1] as string) as { id: number; ok: boolean };
          if (body.id !== id) continue;
          clearTimeout(timer);
          stdout.off('data', onData);
          resolve(body);
          return;
        }
      };
      stdout.on('data', onData);
      child.stdin?.write(`${JSON.stringify({ id, cmd, args })}\n`);
    });
  }

  signal(nodeId: string, signal: NodeJS.Signals): void {
    const child = this.nodes.get(nodeId);
    if (!child?.pid) throw new Error(`no node ${nodeId}`);
    process.kill(child.pid, signal);
  }

  /** Graceful stop (SIGTERM), waiting for the process to exit. */
  async stop(nodeId: string): Promise<void> {
    const child = this.nodes.get(nodeId);
    if (child) await stopProcess(child, 'SIGTERM', 10_000);
  }

  async stopAll(): Promise<void> {
    for (const [id, child] of this.nodes) {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(child.pid as number, 'SIGCONT');
        } catch {
          /* gone */
        }
        await stopProcess(child, 'SIGTERM', 10_000);
      }
      this.exitCodes.set(id, child.exitCode);
      this.nodes.delete(id);
    }
  }

  /**
   * The complete lines of the ledger. Nodes append while tests poll, so a read can catch the
   * last line half-written: everything after the final newline is left for the next read.
   */
  read(): LedgerLine[] {
    if (!existsSync(this.ledger)) return [];
    const text = readFileSync(this.ledger, 'utf8');
    return text
      .slice(0, text.lastIndexOf('\n') + 1)
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as LedgerLine);
  }

  starts(): LedgerLine[] {
    return this.read().filter((l) => l.ev === 'start');
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until `check` is true, polling every 50 ms (event-like; the bound is generous and says why in the caller). */
export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  pollMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(pollMs);
  }
}

/** Every cron instant of an every-second job in [from, to] (ms, aligned to seconds). */
export function secondsBetween(from: number, to: number): number[] {
  const out: number[] = [];
  for (let t = Math.ceil(from / 1000) * 1000; t <= to; t += 1000) out.push(t);
  return out;
}

/**
 * Counts duplicates (same fire and attempt started twice) and misses (an
 * expected instant never started), and each node's share of the starts due in
 * the window.
 */
export function checkExactlyOnce(starts: LedgerLine[], jobs: number, from: number, to: number) {
  const seen = new Map<string, number>();
  for (const s of starts) seen.set(`${s.fireId}#${s.attempt}`, (seen.get(`${s.fireId}#${s.attempt}`) ?? 0) + 1);
  const duplicates = [...seen].filter(([, n]) => n > 1).map(([k]) => k);
  const ran = new Set(starts.map((s) => s.fireId));
  const missed: string[] = [];
  for (let i = 0; i < jobs; i++)
    for (const t of secondsBetween(from, to)) if (!ran.has(`job-${i}@${t}`)) missed.push(`job-${i}@${t}`);
  const window = starts.filter((l) => (l.scheduledAt as number) >= from && (l.scheduledAt as number) <= to);
  const shares = new Map<string, number>();
  for (const l of window) shares.set(l.node, (shares.get(l.node) ?? 0) + 1 / window.length);
  return { duplicates, missed, shares };
}

/**
 * Scenarios 1 and 2: nodes `a`, `b` and `c`, started on `s`, run its every-second jobs for 8 s
 * (the window skips the first `settleMs` and the last 1.5 s); every fire in it ran exactly once,
 * none was missed, and each node ran 20–47 % of them.
 */
export async function expectSpreadExactlyOnce(s: Scenario, jobs: number, settleMs: number): Promise<void> {
  const from = Date.now() + settleMs;
  await sleep(8_000);
  const to = Date.now() - 1_500;
  await s.stopAll();
  const { duplicates, missed, shares } = checkExactlyOnce(s.starts(), jobs, from, to);
  expect(duplicates).toEqual([]);
  expect(missed).toEqual([]);
  for (const id of ['a', 'b', 'c']) {
    expect(shares.get(id)).toBeGreaterThan(0.2);
    expect(shares.get(id)).toBeLessThan(0.47);
  }
}

/**
 * The hooks of a suite of scenarios on one redis-server of its own: the
 * server starts before the suite and stops after it; each test's scenario
 * (made with `scenario(base)`, on a fresh key prefix) has its nodes stopped
 * after the test.
 */
export function redisScenarios(prefix: string): {
  url: () => string;
  scenario: (base: Omit<NodeConfig, 'nodeId' | 'ledger' | 'redis' | 'keyPrefix'>) => Scenario;
} {
  let server: RedisServer | undefined;
  let current: Scenario | undefined;
  let count = 0;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterEach(async () => {
    await current?.stopAll();
    current = undefined;
  });
  afterAll(async () => {
    await server?.dispose();
  });
  const url = (): string => {
    if (!server) throw new Error('the redis-server of this suite has not started');
    return server.url;
  };
  return {
    url,
    scenario: (base) => (current = new Scenario({ ...base, redis: { url: url() }, keyPrefix: `${prefix}${++count}` })),
  };
}
