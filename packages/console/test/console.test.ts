import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scheduler, type ExecutionOutcome } from '@sched/core';
import { ClusterShardPlanner, type ShardingJob } from '@sched/sharding';
import { consoleRoutes, createConsoleHandler, type ConsoleHandler } from '../src/index.js';
import { serve, TOKEN } from './helpers.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** One embedded node with two jobs: `report` on a yearly schedule (never due in the test) and `work` without one. */
function node() {
  const sched = new Scheduler({ nodeId: 'solo', logger: quiet });
  sched.registerJob({ name: 'report', execute: () => undefined }, { cronSpec: '0 0 3 1 1 *', priority: 70 });
  sched.registerJob({ name: 'work', execute: () => undefined });
  return sched;
}

describe('createConsoleHandler: options', () => {
  it('refuses what would make a console open to anyone or point nowhere, with a clear message', () => {
    const sched = node();
    expect(() => createConsoleHandler({ authToken: TOKEN })).toThrow(/exactly one of scheduler/);
    expect(() => createConsoleHandler({ scheduler: sched })).toThrow(/authToken or an authenticate hook is required/);
    expect(() => createConsoleHandler({ scheduler: sched, authToken: 'short' })).toThrow(/at least 16 characters/);
    expect(() => createConsoleHandler({ scheduler: sched, authToken: TOKEN, basePath: 'console' })).toThrow(/basePath/);
    expect(() => createConsoleHandler({ scheduler: sched, authenticate: 'yes' as never })).toThrow(
      /authenticate must be a function/,
    );
  });
});

describe('the API on one embedded node', () => {
  let sched: Scheduler;
  let handler: ConsoleHandler;
  let http: Awaited<ReturnType<typeof serve>>;

  beforeAll(async () => {
    sched = node();
    await sched.start();
    handler = createConsoleHandler({ scheduler: sched, authToken: TOKEN, logger: quiet });
    http = await serve(handler);
  });
  afterAll(async () => {
    await http.close();
    await handler.close();
    await sched.stop();
  });

  it('every API route refuses a request without the token, or with a wrong one (401)', async () => {
    for (const r of consoleRoutes) {
      const path = r.path.replace(':name', 'report').replace(':id', 'x').replace(':runId', 'x');
      const none = await http.call(r.method, path, r.method === 'POST' ? { body: {} } : {});
      expect([path, none.status, none.json?.error?.code]).toEqual([path, 401, 'UNAUTHORIZED']);
      const wrong = await http.call(r.method, path, { token: `${TOKEN}x`, ...(r.method === 'POST' ? { body: {} } : {}) });
      expect([path, wrong.status]).toEqual([path, 401]);
    }
    for (const path of ['/api/session', '/api/openapi.json']) expect((await http.call('GET', path)).status).toBe(401);
  });

  it('nodes and jobs: this node, its jobs with schedule, state and next fires', async () => {
    const nodes = await http.call('GET', '/api/nodes', { token: TOKEN });
    expect(nodes.status).toBe(200);
    expect(nodes.json.nodes.map((n: { nodeId: string }) => n.nodeId)).toEqual(['solo']);
    expect(nodes.json.nodes[0]).toMatchObject({ running: 0, queued: 0, runningJobs: [], status: 'online' });
    expect(nodes.json.nodes[0].heartbeatAgeMs).toBeGreaterThanOrEqual(0);
    const jobs = await http.call('GET', '/api/jobs', { token: TOKEN });
    const report = jobs.json.jobs.find((j: { jobName: string }) => j.jobName === 'report');
    expect(report).toMatchObject({ cronSpec: '0 0 3 1 1 *', priority: 70, state: 'active', source: 'nodes' });
    expect(report.nextFires).toHaveLength(3);
    expect(report.nextFires[0]).toMatch(/-01-01T03:00:00.000Z$/);
    const work = jobs.json.jobs.find((j: { jobName: string }) => j.jobName === 'work');
    expect(work).toMatchObject({ cronSpec: null, state: 'no schedule', nextFires: [] });
    const one = await http.call('GET', '/api/jobs/report', { token: TOKEN });
    expect(one.json.nextFires).toHaveLength(10);
  });

  it('pause and resume go through the shared config, recorded with who did it; the node follows', async () => {
    const paused = await http.call('POST', '/api/jobs/report/pause', { token: TOKEN, body: {} });
    expect(paused.status).toBe(200);
    expect(paused.json.version).toBeGreaterThan(0);
    expect(sched.getJob('report').paused).toBe(true);
    const history = await http.call('GET', '/api/config/history', { token: TOKEN });
    expect(history.json.versions[0]).toMatchObject({ version: paused.json.version, nodeId: 'console', reason: 'pause report' });
    expect(history.json.versions[0].actor).toMatch(/^token@.* \(console\)$/);
    expect(history.json.versions[0].diff).toEqual([{ path: 'jobs.report', to: { paused: true } }]);
    const resumed = await http.call('POST', '/api/jobs/report/resume', { token: TOKEN, body: {} });
    expect(resumed.json.version).toBe(paused.json.version + 1);
    expect(sched.getJob('report').paused).toBe(false);
  });

  it('a cron edit is checked before it is written; a good one applies on the node', async () => {
    const before = (await http.call('GET', '/api/config', { token: TOKEN })).json.config?.version ?? 0;
    const bad = await http.call('POST', '/api/jobs/report/cron', { token: TOKEN, body: { cronSpec: 'soon' } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/jobs\.report\.cronSpec/);
    const badZone = await http.call('POST', '/api/jobs/report/cron', {
      token: TOKEN,
      body: { cronSpec: '0 0 * * * *', timezone: 'Mars/Olympus' },
    });
    expect(badZone.status).toBe(400);
    expect((await http.call('GET', '/api/config', { token: TOKEN })).json.config?.version ?? 0).toBe(before);
    const good = await http.call('POST', '/api/jobs/report/cron', {
      token: TOKEN,
      body: { cronSpec: '0 30 4 1 1 *', timezone: 'Europe/Berlin' },
    });
    expect(good.status).toBe(200);
    expect(sched.getJob('report')).toMatchObject({ cronSpec: '0 30 4 1 1 *', timezone: 'Europe/Berlin' });
    // Rollback to the version before the edit: the node is back on the code's spec.
    const rolled = await http.call('POST', '/api/config/rollback', { token: TOKEN, body: { version: before } });
    expect(rolled.status).toBe(200);
    expect(sched.getJob('report').cronSpec).toBe('0 0 3 1 1 *');
    const versions = (await http.call('GET', '/api/config/history', { token: TOKEN })).json.versions;
    expect(versions[0]).toMatchObject({ reason: `rollback to version ${before}` });
    expect(versions[0].diff.map((d: { path: string }) => d.path)).toEqual(['jobs.report.cronSpec', 'jobs.report.timezone']);
  });

  it('trigger runs the job now; the run is in the history and its execution can be read', async () => {
    const ran = await http.call('POST', '/api/jobs/work/trigger', { token: TOKEN, body: {} });
    expect(ran.status).toBe(200);
    expect(ran.json.outcomes).toHaveLength(1);
    const outcome = ran.json.outcomes[0] as ExecutionOutcome & { nodeId: string };
    expect(outcome).toMatchObject({ nodeId: 'solo', status: 'completed' });
    const history = await http.call('GET', '/api/jobs/work/history?status=completed&limit=10', { token: TOKEN });
    expect(history.json.items.map((s: { executionId: string }) => s.executionId)).toContain(outcome.executionId);
    const one = await http.call('GET', `/api/executions/${encodeURIComponent(outcome.executionId)}`, { token: TOKEN });
    expect(one.json).toMatchObject({ jobName: 'work', status: 'completed', nodeId: 'solo' });
    const stats = await http.call('GET', '/api/jobs/work/stats?buckets=4', { token: TOKEN });
    expect(stats.json.total.totalCount).toBeGreaterThanOrEqual(1);
    expect(stats.json.buckets).toHaveLength(4);
    expect(stats.json.buckets.reduce((n: number, b: { totalCount: number }) => n + b.totalCount, 0)).toBe(
      stats.json.total.totalCount,
    );
  });

  it('bad input gets a 4xx naming what is wrong; the console keeps serving', async () => {
    const t = { token: TOKEN };
    const cases: Array<[string, string, object, number, RegExp]> = [
      ['GET', '/api/jobs/report/history?status=bogus', {}, 400, /status/],
      ['GET', '/api/jobs/report/history?limit=0', {}, 400, /limit/],
      ['GET', '/api/jobs/report/history?from=yesterday', {}, 400, /not a time/],
      ['GET', '/api/jobs/report/stats?from=2000&to=1000', {}, 400, /from must be before to/],
      ['GET', '/api/jobs/no-such-job', {}, 404, /no-such-job/],
      ['GET', '/api/jobs/bad%20name', {}, 400, /job name/],
      ['GET', '/api/executions/nope', {}, 404, /nope/],
      ['GET', '/api/dag-runs/nope', {}, 404, /nope/],
      ['GET', '/api/nowhere', {}, 404, /no API route/],
      ['GET', '/api/jobs/report/pause', {}, 405, /GET is not allowed/],
      ['POST', '/api/jobs/no-such-job/pause', { body: {} }, 404, /no-such-job/],
      ['POST', '/api/jobs/work/trigger', { body: { routeStrategy: 'nearest' } }, 400, /routeStrategy/],
      ['POST', '/api/jobs/work/trigger', { body: { routeStrategy: 'broadcast', nodeId: 'solo' } }, 400, /specific/],
      ['POST', '/api/jobs/work/trigger', { body: { nodeId: 'elsewhere' } }, 409, /elsewhere/],
      ['POST', '/api/jobs/work/trigger', { body: { extra: 1 } }, 400, /extra|unrecognized/i],
      ['POST', '/api/jobs/work/trigger', { rawBody: '{"routeStrategy":' }, 400, /not JSON/],
      ['POST', '/api/jobs/work/trigger', { rawBody: 'x=1', headers: { 'content-type': 'text/plain' } }, 415, /application\/json/],
      ['POST', '/api/jobs/work/trigger', { body: [1, 2] }, 400, /JSON object/],
      ['POST', '/api/config/rollback', { body: { version: 'one' } }, 400, /version/],
      ['POST', '/api/config/rollback', { body: { version: 9999 } }, 404, /9999/],
    ];
    for (const [method, path, options, status, message] of cases) {
      const r = await http.call(method, path, { ...t, ...options });
      expect([method, path, r.status]).toEqual([method, path, status]);
      expect(r.json.error.message).toMatch(message);
    }
    const big = await http.call('POST', '/api/jobs/work/trigger', { ...t, body: { params: { pad: 'x'.repeat(70_000) } } });
    expect(big.status).toBe(413);
    expect((await http.call('GET', '/api/nodes', t)).status).toBe(200);
  });

  it('the page: login with the token sets an HttpOnly session cookie (never the token); POSTs need its CSRF token', async () => {
    const wrong = await http.call('POST', '/api/login', { body: { token: 'nope' } });
    expect(wrong.status).toBe(401);
    const login = await http.call('POST', '/api/login', { body: { token: TOKEN } });
    expect(login.status).toBe(200);
    const setCookie = login.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^sched_console=[\w-]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    expect(setCookie).not.toContain(TOKEN);
    expect(login.text).not.toContain(TOKEN);
    const cookie = setCookie.split(';')[0] as string;
    const session = await http.call('GET', '/api/session', { cookie });
    expect(session.json).toMatchObject({ csrfToken: login.json.csrfToken, source: 'scheduler' });
    expect(session.text).not.toContain(TOKEN);
    expect((await http.call('GET', '/api/nodes', { cookie })).status).toBe(200);
    const noCsrf = await http.call('POST', '/api/jobs/report/pause', { cookie, body: {} });
    expect([noCsrf.status, noCsrf.json.error.code]).toEqual([403, 'CSRF']);
    const badCsrf = await http.call('POST', '/api/jobs/report/pause', { cookie, csrf: 'guess', body: {} });
    expect(badCsrf.status).toBe(403);
    const otherSite = await http.call('POST', '/api/jobs/report/pause', {
      cookie,
      csrf: login.json.csrfToken,
      body: {},
      headers: { origin: 'https://evil.example' },
    });
    expect([otherSite.status, otherSite.json.error.code]).toEqual([403, 'BAD_ORIGIN']);
    expect(sched.getJob('report').paused).toBe(false);
    const ok = await http.call('POST', '/api/jobs/report/pause', { cookie, csrf: login.json.csrfToken, body: {} });
    expect(ok.status).toBe(200);
    expect(sched.getJob('report').paused).toBe(true);
    await http.call('POST', '/api/jobs/report/resume', { cookie, csrf: login.json.csrfToken, body: {} });
    const out = await http.call('POST', '/api/logout', { cookie, csrf: login.json.csrfToken, body: {} });
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    expect((await http.call('GET', '/api/nodes', { cookie })).status).toBe(401);
  });

  it('repeated wrong logins from one address are slowed down (429)', async () => {
    const own = createConsoleHandler({ scheduler: sched, authToken: TOKEN, logger: quiet });
    const s = await serve(own);
    try {
      const codes: number[] = [];
      for (let i = 0; i < 11; i++) codes.push((await s.call('POST', '/api/login', { body: { token: `wrong-${i}` } })).status);
      expect(codes).toEqual([...Array(10).fill(401), 429]);
      expect((await s.call('POST', '/api/login', { body: { token: TOKEN } })).status).toBe(429);
      expect((await s.call('GET', '/api/nodes', { token: TOKEN })).status).toBe(200); // scripts are not locked out
    } finally {
      await s.close();
      await own.close();
    }
  });

  it('serves the web UI with a strict CSP, never a file outside it', async () => {
    const page = await http.call('GET', '/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.text).toContain('<div id="app">');
    const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(page.text)?.[1];
    expect(script).toBeDefined();
    const js = await http.call('GET', `/${script}`);
    expect([js.status, js.headers.get('cache-control')]).toEqual([200, 'public, max-age=31536000, immutable']);
    expect(js.text).not.toContain(TOKEN);
    for (const sneaky of ['/../package.json', '/..%2F..%2Fpackage.json', '/assets/..%2F..%2F..%2Fopenapi.json', '/%E0%A4%A']) {
      const r = await http.call('GET', sneaky);
      expect(r.text).toContain('<div id="app">');
    }
    expect((await http.call('DELETE', '/')).status).toBe(405);
  });

  it('openapi.json describes exactly the routes the handler serves', async () => {
    const doc = JSON.parse(readFileSync(new URL('../openapi.json', import.meta.url), 'utf8')) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const documented = Object.entries(doc.paths)
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`))
      .sort();
    const served = [
      ...consoleRoutes.map((r) => `${r.method} ${r.path}`),
      'POST /api/login',
      'POST /api/logout',
      'GET /api/session',
      'GET /api/openapi.json',
    ].sort();
    expect(documented).toEqual(served);
    const live = await http.call('GET', '/api/openapi.json', { token: TOKEN });
    expect(live.json.openapi).toBe('3.1.0');
  });
});

describe('a sharded fire', () => {
  it('the execution lists each shard with its status, items and the node that ran it', async () => {
    const sched = new Scheduler({
      nodeId: 'solo',
      logger: quiet,
      shardPlanner: new ClusterShardPlanner({ sweepIntervalMs: 100, pollIntervalMs: 50, progressFlushMs: 20 }),
    });
    const job: ShardingJob<number> = {
      name: 'sharded',
      fetchShardingItems: (_ctx, s) => [0, 1, 2, 3, 4, 5].filter((i) => i % s.shardTotal === s.shardIndex),
      processShardingItem: () => undefined,
    };
    sched.registerJob(job, { shardingEnabled: true, shardingTotal: 3 });
    await sched.start();
    const handler = createConsoleHandler({ scheduler: sched, authToken: TOKEN, logger: quiet });
    const http = await serve(handler);
    try {
      const ran = await http.call('POST', '/api/jobs/sharded/trigger', { token: TOKEN, body: {} });
      expect(ran.json.outcomes).toEqual([expect.objectContaining({ status: 'completed' })]);
      const parent = await http.call('GET', `/api/executions/${encodeURIComponent(ran.json.outcomes[0].executionId)}`, {
        token: TOKEN,
      });
      expect(parent.json.shards.map((r: { shardIndex: number; status: string; nodeId: string; itemsDone: number }) => r)).toEqual(
        [0, 1, 2].map((i) => expect.objectContaining({ shardIndex: i, status: 'completed', nodeId: 'solo', itemsDone: 2 })),
      );
      const jobs = (await http.call('GET', '/api/jobs', { token: TOKEN })).json.jobs;
      expect(jobs[0]).toMatchObject({ jobName: 'sharded', shardingTotal: 3 });
    } finally {
      await http.close();
      await handler.close();
      await sched.stop();
    }
  });
});

describe('mounting', () => {
  it('under a basePath in node:http, and in Express style (originalUrl, next for other paths)', async () => {
    const sched = node();
    await sched.start();
    const handler = createConsoleHandler({ scheduler: sched, authToken: TOKEN, basePath: '/ops/console/', logger: quiet });
    expect(handler.basePath).toBe('/ops/console');
    const passed: string[] = [];
    const http = await serve((req: never, res: never) => {
      const r = req as { url: string; originalUrl?: string };
      // Express's app.use('/ops/console', handler) strips the mount path from url and keeps originalUrl.
      if (r.url.startsWith('/ops/console')) {
        r.originalUrl = r.url;
        r.url = r.url.slice('/ops/console'.length) || '/';
      }
      handler(req, res, () => {
        passed.push(r.url);
        (res as { writeHead(s: number): void; end(t: string): void }).writeHead(200);
        (res as { end(t: string): void }).end('app');
      });
    });
    try {
      const redirect = await http.call('GET', '/ops/console');
      expect([redirect.status, redirect.headers.get('location')]).toEqual([308, '/ops/console/']);
      expect((await http.call('GET', '/ops/console/api/nodes', { token: TOKEN })).json.nodes).toHaveLength(1);
      expect((await http.call('GET', '/ops/console/')).text).toContain('<div id="app">');
      expect((await http.call('GET', '/elsewhere')).text).toBe('app');
      expect(passed).toEqual(['/elsewhere']);
      const login = await http.call('POST', '/ops/console/api/login', { body: { token: TOKEN } });
      expect(login.headers.get('set-cookie')).toContain('Path=/ops/console;');
    } finally {
      await http.close();
      await handler.close();
      await sched.stop();
    }
  });

  it('an authenticate hook names the user: recorded as the actor of changes, which still need the CSRF token', async () => {
    const sched = node();
    await sched.start();
    const handler = createConsoleHandler({
      scheduler: sched,
      logger: quiet,
      authenticate: (req) => (req.headers['x-user'] === 'alice' ? { name: 'alice@example.com' } : null),
    });
    const http = await serve(handler);
    try {
      expect((await http.call('GET', '/api/nodes')).status).toBe(401);
      const h = { headers: { 'x-user': 'alice' } };
      const session = await http.call('GET', '/api/session', h);
      expect(session.json.user).toBe('alice@example.com');
      expect((await http.call('POST', '/api/jobs/report/pause', { ...h, body: {} })).status).toBe(403);
      const ok = await http.call('POST', '/api/jobs/report/pause', { ...h, csrf: session.json.csrfToken, body: {} });
      expect(ok.status).toBe(200);
      const [latest] = (await http.call('GET', '/api/config/history', h)).json.versions;
      expect(latest.actor).toBe('alice@example.com (console)');
      expect((await http.call('POST', '/api/login', { body: { token: 'x' } })).status).toBe(404);
    } finally {
      await http.close();
      await handler.close();
      await sched.stop();
    }
  });
});
