import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createClusterScheduler, type ClusterScheduler } from '@sched/cluster';
import { RedisServer, canRunRedis } from '@sched/testkit';
import { runCli } from '../src/index.js';

/** Runs `sched …` in-process; resolves with its exit code and what it printed. */
async function sched(args: string[], env: Record<string, string | undefined> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { io: { out: (t) => void out.push(t), err: (t) => void err.push(t) }, env });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** A port nothing listens on (taken from the OS, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('sched next (no Redis needed)', () => {
  it('lists the next fires with local time and DST marks; --json for scripts', async () => {
    const r = await sched([
      '--json',
      'next',
      '0 30 2 * * *',
      '-n',
      '3',
      '--tz',
      'Europe/Berlin',
      '--after',
      '2026-03-28T00:00:00Z',
    ]);
    expect(r.code).toBe(0);
    const fires = JSON.parse(r.out) as Array<{ scheduledAt: string; local: string; dst?: string }>;
    expect(fires.map((f) => [f.scheduledAt, f.dst ?? null])).toEqual([
      ['2026-03-28T01:30:00.000Z', null],
      ['2026-03-29T01:30:00.000Z', 'shifted'], // 02:30 does not exist that night: moved past the gap, 03:30 CEST
      ['2026-03-30T00:30:00.000Z', null],
    ]);
    const table = await sched(['next', '*/15 * * * *', '-n', '2', '--after', '2026-01-01T00:00:00Z']);
    expect(table.out).toContain('2026-01-01T00:15:00.000Z');
    expect(table.out.split('\n')).toHaveLength(4);
  });

  it('bad input: a clear message and exit code 1', async () => {
    const badCron = await sched(['next', 'every tuesday']);
    expect(badCron.code).toBe(1);
    expect(badCron.err).toMatch(/every tuesday/);
    // Core's errors carry their own `sched: `; the line says it once.
    expect(badCron.err).toMatch(/^sched: previewCron: invalid cron spec/);
    const badZone = await sched(['next', '* * * * *', '--tz', 'Mars/Olympus']);
    expect(badZone).toMatchObject({ code: 1 });
    expect(badZone.err).toMatch(/unknown time zone "Mars\/Olympus"/);
    expect((await sched(['next', '* * * * *', '-n', '0'])).err).toMatch(/--count must be an integer from 1/);
    expect((await sched(['frobnicate'])).code).toBe(1);
    expect((await sched(['--connect-timeout', 'soon', 'nodes'])).err).toMatch(/--connect-timeout must be an integer/);
    const help = await sched(['--help']);
    expect(help.code).toBe(0);
    for (const c of ['nodes', 'jobs', 'history', 'stats', 'trigger', 'config', 'next']) expect(help.out).toContain(c);
  });

  it('help states each default once (commander prints the one it is given)', async () => {
    for (const command of [[], ['next'], ['history'], ['stats'], ['trigger']]) {
      const help = await sched([...command, '--help']);
      expect(help.code).toBe(0);
      expect(help.out.replace(/\s+/g, ' ')).not.toMatch(/\(default[^)]*\) \(default/);
    }
  });

  it('without a Redis URL, or with one that does not answer: a one-line error, exit 1 and 2', async () => {
    const none = await sched(['nodes']);
    expect(none).toMatchObject({ code: 1, err: 'sched: no Redis to talk to: pass --redis <url> or set REDIS_URL' });
    const port = await closedPort();
    const down = await sched(['nodes', '--connect-timeout', '1000'], { REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(down.code).toBe(2);
    expect(down.err).toMatch(new RegExp(`^sched: cannot reach Redis at redis://127.0.0.1:${port}`));
    expect((await sched(['--redis', 'http://x', 'nodes'])).err).toMatch(/bad --redis URL/);
  });

  it('the built bin runs as a process: exit codes and output', () => {
    const bin = fileURLToPath(new URL('../src/bin.ts', import.meta.url));
    const run = (args: string[]) =>
      spawnSync(process.execPath, ['--conditions=@sched/source', '--import', 'tsx', bin, ...args], {
        encoding: 'utf8',
        timeout: 30_000,
        env: { ...process.env, REDIS_URL: '' },
      });
    const ok = run(['next', '0 0 * * * *', '-n', '2', '--json', '--after', '2026-01-01T00:00:00Z']);
    expect(ok.status).toBe(0);
    expect((JSON.parse(ok.stdout) as unknown[]).length).toBe(2);
    const bad = run(['history']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/missing required argument 'job'/);
  });
});

describe.skipIf(!canRunRedis())('sched against a running cluster on Redis', () => {
  let server: RedisServer;
  const clients: Redis[] = [];
  const nodes: ClusterScheduler[] = [];
  let dir: string;
  const base = () => ['--redis', server.url, '--prefix', 'clitest'];

  beforeAll(async () => {
    server = await RedisServer.start();
    dir = mkdtempSync(join(tmpdir(), 'sched-cli-'));
    for (const nodeId of ['node-a', 'node-b']) {
      const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
      clients.push(redis);
      const s = createClusterScheduler({
        redis,
        nodeId,
        keyPrefix: 'clitest',
        logger: quiet,
        snapshotRepository: 'redis',
        heartbeatIntervalMs: 500,
        nodeTtlMs: 5_000,
      });
      s.registerJob({ name: 'report', execute() {} }, { cronSpec: '* * * * * *' });
      s.registerJob(
        {
          name: 'broken',
          execute() {
            throw new Error('the report store is read-only');
          },
        },
        {},
      );
      nodes.push(s);
    }
    await Promise.all(nodes.map((s) => s.start()));
  });

  afterAll(async () => {
    await Promise.all(nodes.map((s) => s.stop()));
    for (const c of clients) c.disconnect();
    await server?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('nodes and jobs: what the live nodes serve', async () => {
    const n = await sched([...base(), '--json', 'nodes']);
    expect(n.code).toBe(0);
    const list = JSON.parse(n.out) as Array<{ nodeId: string; jobs: string[]; status: string }>;
    expect(list.map((x) => x.nodeId).sort()).toEqual(['node-a', 'node-b']);
    expect(list.every((x) => x.status === 'online' && x.jobs.includes('report'))).toBe(true);
    const t = await sched([...base(), 'nodes']);
    expect(t.out).toMatch(/^node-a\s/m);
    expect(t.out).toContain('2 live nodes');

    const j = JSON.parse((await sched([...base(), '--json', 'jobs'])).out) as Array<{
      jobName: string;
      nodes: string[];
      cronSpec?: string;
      source: string;
      next?: string;
    }>;
    expect(j.map((x) => [x.jobName, x.nodes.sort(), x.cronSpec ?? null, x.source])).toEqual([
      ['broken', ['node-a', 'node-b'], null, 'nodes'],
      // A schedule set in code: the nodes advertise it in the registry.
      ['report', ['node-a', 'node-b'], '* * * * * *', 'nodes'],
    ]);
    expect(Date.parse(j[1]?.next ?? '')).toBeGreaterThan(Date.now() - 1_000);
    // Another prefix is another cluster: nothing there.
    expect(JSON.parse((await sched(['--redis', server.url, '--prefix', 'other', '--json', 'nodes'])).out)).toEqual([]);
  });

  it('trigger: one node by default, every node with broadcast, a named node; failures and unknown jobs exit 1', async () => {
    const one = await sched([...base(), '--json', 'trigger', 'report', '--timeout', '10000']);
    expect(one.code).toBe(0);
    expect((JSON.parse(one.out) as { outcomes: Array<{ status: string }> }).outcomes.map((o) => o.status)).toEqual(['completed']);

    const all = await sched([
      ...base(),
      '--json',
      'trigger',
      'report',
      '--route',
      'broadcast',
      '--params',
      '{"day":"2026-11-26"}',
    ]);
    expect(all.code).toBe(0);
    const outcomes = (JSON.parse(all.out) as { outcomes: Array<{ nodeId: string; status: string }> }).outcomes;
    expect(outcomes.map((o) => [o.nodeId, o.status]).sort()).toEqual([
      ['node-a', 'completed'],
      ['node-b', 'completed'],
    ]);

    const named = await sched([...base(), 'trigger', 'report', '--node', 'node-b']);
    expect(named.code).toBe(0);
    expect(named.out).toMatch(/^node-b\s+completed/m);

    const failed = await sched([...base(), 'trigger', 'broken']);
    expect(failed.code).toBe(1);
    expect(failed.out).toMatch(/failed\s.*the report store is read-only/);
    expect(failed.err).toBe('sched: 1 execution did not complete');

    const ghost = await sched([...base(), 'trigger', 'ghost']);
    expect(ghost).toMatchObject({ code: 1, err: 'sched: no live node serves job "ghost" (see: sched nodes, sched jobs)' });
    expect((await sched([...base(), 'trigger', 'report', '--route', 'nearest'])).err).toMatch(/unknown route strategy "nearest"/);
    expect((await sched([...base(), 'trigger', 'report', '--node', 'node-z'])).err).toMatch(/node "node-z" is not live/);
    expect((await sched([...base(), 'trigger', 'report', '--params', '[1]'])).err).toMatch(/--params must be a JSON object/);
  });

  it('console: serves the admin API and the page on the cluster until stopped; refuses to start without a token', async () => {
    const none = await sched([...base(), 'console', '--port', '0']);
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/needs a token/);
    const weak = await sched([...base(), 'console', '--port', '0', '--token', 'short']);
    expect([weak.code, weak.err]).toEqual([1, expect.stringMatching(/at least 16 characters/)]);
    const badPort = await sched([...base(), 'console', '--port', '70000', '--token', 'x'.repeat(20)]);
    expect([badPort.code, badPort.err]).toEqual([1, expect.stringMatching(/--port must be an integer from 0 to 65535/)]);

    const stop = new AbortController();
    const out: string[] = [];
    const running = runCli([...base(), 'console', '--port', '0', '--base-path', '/ops'], {
      io: { out: (t) => void out.push(t), err: () => undefined },
      env: { SCHED_CONSOLE_TOKEN: 'cli-console-token-0123456789' },
      signal: stop.signal,
    });
    const deadline = Date.now() + 10_000;
    while (out.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const url = /(http:\/\/\S+\/ops\/)/.exec(out.join('\n'))?.[1];
    expect(url).toBeDefined();
    const auth = { authorization: 'Bearer cli-console-token-0123456789' };
    const nodesRes = await fetch(`${url}api/nodes`, { headers: auth });
    const body = (await nodesRes.json()) as { nodes: Array<{ nodeId: string }> };
    expect(body.nodes.map((n) => n.nodeId)).toEqual(['node-a', 'node-b']);
    expect((await fetch(`${url}api/nodes`)).status).toBe(401);
    expect((await fetch(url as string)).headers.get('content-type')).toMatch(/text\/html/);
    stop.abort();
    expect(await running).toBe(0);
    await expect(fetch(`${url}api/nodes`, { headers: auth })).rejects.toThrow();
  });

  it('history and stats read the history the nodes keep in Redis', async () => {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const h = JSON.parse((await sched([...base(), '--json', 'history', 'report', '--limit', '3'])).out) as unknown[];
      if (h.length === 3) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const report = JSON.parse((await sched([...base(), '--json', 'history', 'report', '--limit', '3'])).out) as Array<{
      jobName: string;
      status: string;
      startedAt: number;
    }>;
    expect(report).toHaveLength(3);
    expect(report.every((s) => s.jobName === 'report')).toBe(true);
    expect(report.map((s) => s.startedAt)).toEqual([...report.map((s) => s.startedAt)].sort((a, b) => b - a));

    // 'broken' failed once (the trigger test); it may still be in flight to the history.
    let failed: Array<{ status: string; errorMessage?: string }> = [];
    for (let i = 0; i < 50 && failed.length === 0; i++) {
      failed = JSON.parse(
        (await sched([...base(), '--json', 'history', 'broken', '--status', 'failed', '--since', '1h'])).out,
      ) as typeof failed;
      if (failed.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(failed).toEqual([expect.objectContaining({ status: 'failed', errorMessage: 'the report store is read-only' })]);
    const table = await sched([...base(), 'history', 'broken']);
    expect(table.out).toMatch(/failed .*the report store is read-only/);

    const stats = JSON.parse((await sched([...base(), '--json', 'stats', 'broken', '--since', '1h'])).out) as {
      failureCount: number;
      successRate: number;
    };
    expect(stats).toMatchObject({ failureCount: 1, successRate: 0 });
    const reportStats = await sched([...base(), 'stats', 'report']);
    expect(reportStats.code).toBe(0);
    expect(reportStats.out).toMatch(/^report\s+\d+\s+\d+\s+0\s/m);

    expect((await sched([...base(), 'history', 'report', '--status', 'great'])).err).toMatch(/unknown status great/);
    expect((await sched([...base(), 'history', 'report', '--since', 'yesterdayish'])).err).toMatch(/neither a duration/);
  });

  it('config set / get / load: checked before writing, versioned, and applied by every node', async () => {
    const set = await sched([...base(), 'config', 'set', 'report', 'cronSpec', '*/2 * * * * *']);
    expect(set).toMatchObject({ code: 0 });
    expect(set.out).toMatch(/^config version 1 written/);
    const deadline = Date.now() + 5_000;
    while (nodes.some((s) => s.getJob('report').cronSpec !== '*/2 * * * * *') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(nodes.map((s) => s.getJob('report').cronSpec)).toEqual(['*/2 * * * * *', '*/2 * * * * *']);
    const got = JSON.parse((await sched([...base(), '--json', 'config', 'get', 'report'])).out) as { cronSpec: string };
    expect(got.cronSpec).toBe('*/2 * * * * *');
    const human = await sched([...base(), 'config', 'get']);
    expect(human.out).toMatch(/^version 1, written .* by .*sched cli.* \(set report\.cronSpec\)/);

    // Refused before anything is written: the version stays 1.
    const badCron = await sched([...base(), 'config', 'set', 'report', 'cronSpec', 'soon']);
    expect(badCron.code).toBe(1);
    expect(badCron.err).toMatch(/jobs\.report\.cronSpec/);
    expect((await sched([...base(), 'config', 'set', 'report', 'colour', '"red"'])).err).toMatch(/unknown field "colour"/);
    expect((await sched([...base(), 'config', 'set', 'report', 'priority', 'high'])).err).toMatch(/jobs\.report\.priority/);
    const badFile = join(dir, 'bad.yaml');
    writeFileSync(badFile, 'jobs:\n  report:\n    cronSpec: "* * * * * *"\n    priority: [\n');
    const load = await sched([...base(), 'config', 'load', badFile]);
    expect(load.code).toBe(1);
    expect(load.err).toContain('bad.yaml');
    expect((JSON.parse((await sched([...base(), '--json', 'config', 'get'])).out) as { version: number }).version).toBe(1);

    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'timezone: Europe/Berlin\njobs:\n  report:\n    cronSpec: "* * * * * *"\n    priority: 80\n');
    expect((await sched([...base(), 'config', 'load', good])).out).toMatch(/^config version 2 written/);
    type JobRow = { jobName: string; priority?: number; timezone?: string; source: string };
    const listJobs = async () => JSON.parse((await sched([...base(), '--json', 'jobs'])).out) as JobRow[];
    // The effective zone is what the nodes advertise once they applied version 2 (a moment after the write).
    let jobs = await listJobs();
    for (const until = Date.now() + 5_000; Date.now() < until; jobs = await listJobs()) {
      if (jobs.find((j) => j.jobName === 'report')?.timezone === 'Europe/Berlin') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(jobs.find((j) => j.jobName === 'report')).toMatchObject({
      priority: 80,
      timezone: 'Europe/Berlin',
      source: 'shared config',
    });
    expect(jobs.find((j) => j.jobName === 'broken')).toMatchObject({ source: 'nodes' });
  });
});
