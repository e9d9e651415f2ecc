import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createConsoleHandler, type ConsoleHandler } from '@sched/console';
import { CHROMIUM_ARGS, RedisServer, canRunChromium, canRunRedis, chromiumPath } from '@sched/testkit';
import { Scenario, until } from './harness.js';

/**
 * The console against a real cluster: 3 node processes on a redis-server of
 * the test's own, and the console as a process of its own would run it
 * (`sched console`: `createConsoleHandler({ redis })`, no node). The API first,
 * then the web UI in Debian's Chromium; screenshots of each view go to
 * `.artifacts/console/` (and to the package's README images with
 * SCHED_UPDATE_SCREENSHOTS=1).
 */

const TOKEN = 'e2e-console-token-0123456789';
const PREFIX = 'console-e2e';
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
// A DAG every 2 s: extract → transform → load, extract → notify.
const DAG = {
  extract: { durationMs: 100 },
  transform: { dependencies: ['extract'], durationMs: 100 },
  load: { dependencies: ['transform'], durationMs: 50 },
  notify: { dependencies: ['extract'], durationMs: 50 },
};
const artifacts = fileURLToPath(new URL('../.artifacts/console/', import.meta.url));
const readme = fileURLToPath(new URL('../../console/screenshots/', import.meta.url));

describe.skipIf(!canRunRedis())('console on 3 node processes and a real Redis', () => {
  let redisServer: RedisServer;
  let scenario: Scenario;
  let client: Redis;
  let handler: ConsoleHandler;
  let server: Server;
  let base = '';

  async function api(method: string, path: string, options: { token?: string | null; body?: unknown } = {}) {
    const token = options.token === undefined ? TOKEN : options.token;
    const res = await fetch(base + path, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- checked field by field below
    return { status: res.status, json: (await res.json().catch(() => undefined)) as any };
  }

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    scenario = new Scenario({
      jobs: 0,
      cronSpec: '*/2 * * * * *',
      dag: DAG,
      remote: {},
      snapshots: 'redis',
      redis: { url: redisServer.url },
      keyPrefix: PREFIX,
    });
    await Promise.all(['node-a', 'node-b', 'node-c'].map((id) => scenario.start(id)));
    client = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
    handler = createConsoleHandler({ redis: client, keyPrefix: PREFIX, authToken: TOKEN, logger: quiet });
    server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await handler?.close();
    client?.disconnect();
    await scenario?.stopAll();
    await redisServer?.dispose();
  });

  it('API: every endpoint answers for the cluster; no token → 401; bad input → 4xx with a message', async () => {
    // Nodes: all three, with their load from their metrics collectors and their clock offsets.
    await until(async () => (await api('GET', '/api/nodes')).json?.nodes?.length === 3, 10_000, '3 nodes in the registry');
    const nodes = (await api('GET', '/api/nodes')).json;
    expect(nodes.nodes.map((n: { nodeId: string }) => n.nodeId)).toEqual(['node-a', 'node-b', 'node-c']);
    for (const n of nodes.nodes) {
      expect(n).toMatchObject({ status: 'online', jobs: ['extract', 'load', 'notify', 'strict', 'transform'] });
      expect(typeof n.running).toBe('number');
      expect(typeof n.clockOffsetMs).toBe('number');
      expect(n.heartbeatAgeMs).toBeLessThan(5_000);
    }
    expect(nodes.missing).toEqual([]);

    // A cron edit through the console: the shared config, applied by every node (same spec as the code here).
    const edit = await api('POST', '/api/jobs/extract/cron', { body: { cronSpec: '*/2 * * * * *' } });
    expect(edit.status).toBe(200);
    const jobs = (await api('GET', '/api/jobs')).json.jobs as Array<Record<string, unknown>>;
    expect(jobs.map((j) => j.jobName)).toEqual(['extract', 'load', 'notify', 'strict', 'transform']);
    expect(jobs[0]).toMatchObject({
      cronSpec: '*/2 * * * * *',
      state: 'active',
      source: 'shared config',
      nodes: ['node-a', 'node-b', 'node-c'],
    });
    expect((jobs[0] as { nextFires: string[] }).nextFires).toHaveLength(3);
    // What only the code says, the nodes advertise: a dependent and a job without a schedule.
    expect(jobs.find((j) => j.jobName === 'transform')).toMatchObject({
      cronSpec: null,
      dependencies: ['extract'],
      state: 'no schedule',
      source: 'nodes',
    });
    expect(jobs.find((j) => j.jobName === 'strict')).toMatchObject({ cronSpec: null, state: 'no schedule', source: 'nodes' });

    // History, an execution, statistics, a DAG run with every job completed.
    await until(
      async () => (await api('GET', '/api/dag-runs')).json.runs.some((r: { jobs: string[] }) => r.jobs.length === 3),
      10_000,
      'a DAG run whose three dependents ran',
    );
    const runs = (await api('GET', '/api/dag-runs')).json.runs as Array<{ runId: string; jobs: string[] }>;
    const full = runs.find((r) => r.jobs.length === 3) as { runId: string };
    await until(
      async () => {
        const run = (await api('GET', `/api/dag-runs/${encodeURIComponent(full.runId)}`)).json;
        return run.jobs.every((j: { state: string }) => j.state === 'completed');
      },
      5_000,
      'the run completed',
    );
    const run = (await api('GET', `/api/dag-runs/${encodeURIComponent(full.runId)}`)).json;
    expect(run.jobs.map((j: { jobName: string; dependencies: string[] }) => [j.jobName, j.dependencies])).toEqual([
      ['extract', []],
      ['load', ['transform']],
      ['notify', ['extract']],
      ['transform', ['extract']],
    ]);
    for (const j of run.jobs) expect(['node-a', 'node-b', 'node-c']).toContain(j.nodeId);
    await until(
      async () => (await api('GET', '/api/jobs/extract/history?status=completed&limit=3')).json.items.length === 3,
      10_000,
      'three completed runs of extract',
    );
    const history = (await api('GET', '/api/jobs/extract/history?status=completed&limit=2')).json;
    expect(history.items).toHaveLength(2);
    expect(history.nextCursor).toBeDefined();
    const older = (
      await api('GET', `/api/jobs/extract/history?status=completed&limit=2&cursor=${encodeURIComponent(history.nextCursor)}`)
    ).json;
    expect(older.items[0].startedAt).toBeLessThanOrEqual(history.items[1].startedAt);
    const one = (await api('GET', `/api/executions/${encodeURIComponent(history.items[0].executionId)}`)).json;
    expect(one).toMatchObject({ jobName: 'extract', status: 'completed' });
    const stats = (await api('GET', '/api/jobs/extract/stats?buckets=6')).json;
    expect(stats.total.successCount).toBeGreaterThanOrEqual(2);
    expect(stats.total.p50DurationMs).toBeGreaterThanOrEqual(90);
    expect((await api('GET', '/api/misfires')).status).toBe(200);
    expect((await api('GET', '/api/config')).json.config.version).toBeGreaterThanOrEqual(1);

    // Trigger: run now on one node of the cluster (remote execution), then in the history.
    const trigger = await api('POST', '/api/jobs/notify/trigger', { body: { routeStrategy: 'round-robin' } });
    expect(trigger.status).toBe(200);
    expect(trigger.json.missing).toBe(0);
    expect(trigger.json.outcomes).toEqual([expect.objectContaining({ status: 'completed' })]);
    const direct = await api('POST', '/api/jobs/notify/trigger', { body: { nodeId: 'node-b' } });
    expect(direct.json.outcomes).toEqual([expect.objectContaining({ status: 'completed', nodeId: 'node-b' })]);
    const broadcast = await api('POST', '/api/jobs/notify/trigger', { body: { routeStrategy: 'broadcast' } });
    expect(broadcast.json.outcomes.map((o: { nodeId: string }) => o.nodeId)).toEqual(['node-a', 'node-b', 'node-c']);
    await until(
      async () =>
        (await api('GET', '/api/jobs/notify/history?limit=100')).json.items.some(
          (s: { executionId: string }) => s.executionId === direct.json.outcomes[0].executionId,
        ),
      5_000,
      'the triggered run in the history',
    );
    // A remote run whose params fail the job's schema: the node's answer comes back as is.
    const strict = await api('POST', '/api/jobs/strict/trigger', { body: { params: { day: 5 } } });
    expect(strict.json.outcomes[0]).toMatchObject({ status: 'failed' });
    expect(strict.json.outcomes[0].error.message).toMatch(/day/);

    // One job; the config history with its diffs; a rollback writes the old document as a new version.
    expect((await api('GET', '/api/jobs/extract')).json.nextFires).toHaveLength(10);
    const versions = (await api('GET', '/api/config/history')).json.versions;
    expect(versions[0]).toMatchObject({ reason: 'cron of extract to "*/2 * * * * *"', nodeId: 'console' });
    expect(versions[0].diff).toEqual([{ path: 'jobs.extract', to: { cronSpec: '*/2 * * * * *' } }]);
    const rolled = await api('POST', '/api/config/rollback', { body: { version: versions[0].version } });
    expect(rolled.json.version).toBe(versions[0].version + 1);
    expect((await api('GET', '/api/config/history?limit=1')).json.versions[0]).toMatchObject({
      reason: `rollback to version ${versions[0].version}`,
      diff: [],
    });
    expect((await api('GET', '/api/session')).json).toMatchObject({ user: 'token', source: 'redis' });
    expect((await api('GET', '/api/openapi.json')).json.paths['/api/nodes']).toBeDefined();

    // Refused without the token, everywhere.
    for (const path of ['/api/nodes', '/api/jobs', '/api/jobs/extract/history', '/api/config/history', '/api/dag-runs']) {
      expect((await api('GET', path, { token: null })).status).toBe(401);
    }
    expect((await api('POST', '/api/jobs/extract/pause', { token: null, body: {} })).status).toBe(401);
    expect((await api('POST', '/api/jobs/extract/pause', { token: 'not-the-token-at-all', body: {} })).status).toBe(401);

    // Bad input: a clear 4xx, and nothing written.
    const version = (await api('GET', '/api/config')).json.config.version;
    const bad: Array<[string, string, unknown, number, RegExp]> = [
      ['POST', '/api/jobs/extract/cron', { cronSpec: '61 * * * * *' }, 400, /cronSpec/],
      ['POST', '/api/jobs/ghost/pause', {}, 404, /ghost/],
      ['POST', '/api/jobs/notify/trigger', { routeStrategy: 'sideways' }, 400, /routeStrategy/],
      ['POST', '/api/jobs/notify/trigger', { nodeId: 'node-z' }, 409, /node-z/],
      ['POST', '/api/config/rollback', { version: 0 }, 400, /version/],
      ['GET', '/api/jobs/extract/history?limit=5000', undefined, 400, /limit/],
      ['GET', '/api/jobs/extract/stats?buckets=0', undefined, 400, /buckets/],
    ];
    for (const [method, path, body, status, message] of bad) {
      const r = await api(method, path, body === undefined ? {} : { body });
      expect([path, r.status]).toEqual([path, status]);
      expect(r.json.error.message).toMatch(message);
    }
    expect((await api('GET', '/api/config')).json.config.version).toBe(version);
  });

  it('web UI in Chromium: nodes, pause stops fires, trigger runs, history shows it, a DAG run renders; a killed node leaves', async () => {
    if (!canRunChromium()) return;
    mkdirSync(artifacts, { recursive: true });
    const browser: Browser = await chromium.launch({ executablePath: chromiumPath(), args: [...CHROMIUM_ARGS] });
    const shot = async (page: Page, name: string) => {
      const png = await page.screenshot({ fullPage: true });
      writeFileSync(`${artifacts}${name}.png`, png);
      if (process.env.SCHED_UPDATE_SCREENSHOTS === '1') {
        mkdirSync(readme, { recursive: true });
        writeFileSync(`${readme}${name}.png`, png);
      }
    };
    try {
      const page = await browser.newPage({ viewport: { width: 1360, height: 800 } });
      page.on('dialog', (d) => void d.accept());
      await page.goto(`${base}/`);
      // Sign in with the token.
      await page.fill('input[name=token]', TOKEN);
      await page.click('form[data-testid=login] button');
      await page.waitForSelector('table[data-testid=nodes] tbody tr');
      await until(async () => (await page.locator('table[data-testid=nodes] tbody tr').count()) === 3, 10_000, '3 node rows');
      await shot(page, 'nodes');

      // Pause extract from the jobs view: its fires stop everywhere.
      await page.click('nav a[href="#/jobs"]');
      const row = page.locator('tr[data-job=extract]');
      await row.locator('button[data-action=pause]').click();
      await page.waitForSelector('tr[data-job=extract] [data-field=state] .status-paused');
      const pausedAt = Date.now();
      await shot(page, 'jobs');
      await new Promise((r) => setTimeout(r, 4_500)); // two instants of */2 (and a margin for the nodes to apply the version)
      const firedAfter = scenario
        .starts()
        .filter((l) => l.job === 'extract' && l.scheduledAt !== undefined && l.scheduledAt > pausedAt + 1_000);
      expect(firedAfter).toEqual([]);
      await row.locator('button[data-action=resume]').click();
      await page.waitForSelector('tr[data-job=extract] [data-field=state] .status-active');
      const resumedAt = Date.now();
      await until(
        () => scenario.starts().some((l) => l.job === 'extract' && (l.scheduledAt ?? 0) > resumedAt),
        8_000,
        'extract fires again after resume',
      );

      // Trigger notify from the UI; the history view of the job shows the run.
      await page.locator('tr[data-job=notify] button[data-action=trigger]').click();
      await page.waitForSelector('[data-testid=notice]:has-text("completed on")');
      const notice = (await page.locator('[data-testid=notice]').textContent()) ?? '';
      const node = /completed on (node-[abc])/.exec(notice)?.[1];
      expect(node).toBeDefined();
      await page.click('tr[data-job=notify] a');
      await page.selectOption('[data-testid=status-filter]', 'completed');
      await until(
        async () =>
          (await page
            .locator(`table[data-testid=history] tr[data-status=completed]:has-text("${node}"):has-text("remote")`)
            .count()) > 0,
        8_000,
        'the triggered run in the history view',
      );
      await page.waitForSelector('[data-testid=stats-chart] canvas');
      await shot(page, 'job');

      // A DAG run as a graph: every job completed, each with its node.
      await page.click('nav a[href="#/dag"]');
      await page.waitForSelector('table[data-testid=dag-runs] a');
      await page.locator('table[data-testid=dag-runs] a').first().click();
      await page.waitForSelector('svg[data-testid=dag-graph] g[data-job=load]');
      await until(
        async () => (await page.locator('svg[data-testid=dag-graph] g[data-state=completed]').count()) === 4,
        8_000,
        'all four jobs of the run completed in the graph',
      );
      expect(await page.locator('svg[data-testid=dag-graph] line').count()).toBe(3);
      await shot(page, 'dag');

      await page.click('nav a[href="#/config"]');
      await page.waitForSelector('table[data-testid=config-history] tr[data-version]');
      expect(await page.locator('table[data-testid=config-history]').textContent()).toMatch(/pause extract/);
      await shot(page, 'config');

      // kill -9 one node: the nodes view drops it once its TTL lapses, without a reload.
      await page.click('nav a[href="#/nodes"]');
      await page.waitForSelector('tr[data-node=node-c]');
      scenario.signal('node-c', 'SIGKILL');
      await until(
        async () => (await page.locator('table[data-testid=nodes] tbody tr').count()) === 2,
        10_000,
        '2 node rows after the kill',
      );
      expect(await page.locator('tr[data-node=node-c]').count()).toBe(0);
    } finally {
      await browser.close();
    }
  });
});
