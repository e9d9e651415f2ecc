import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidArgumentError, type Logger, type Scheduler } from '@sched/core';
import type { RedisClient, RedisConnection } from '@sched/redis';
import { routes, type Route } from './api.js';
import { ConsoleAuth, type AuthenticateHook, type Authenticated } from './auth.js';
import { HttpError, SECURITY_HEADERS, readJsonBody, sendJson, toHttpError, type ConsoleRequest } from './http.js';
import { redisSource, schedulerSource, type ConsoleSource } from './source.js';
import { defaultUiDir, serveStatic } from './static-files.js';

export interface ConsoleHandlerOptions {
  /** A running scheduler: the console reads and writes the cluster through its ports (one of `scheduler` and `redis`). */
  scheduler?: Scheduler;
  /** Or the cluster's Redis (an ioredis client or Cluster, or a `RedisConnection`), for a console that is no node. */
  redis?: RedisClient | RedisConnection;
  /** With `redis`: the nodes' `keyPrefix`. @default 'sched' */
  keyPrefix?: string;
  /** With `redis`: the cluster's `executeSecret`, to sign triggers (it stays on the server). */
  executeSecret?: string;
  /** Where the console is mounted: `/console` serves `/console/`, `/console/api/…`. @default '' (the root) */
  basePath?: string;
  /** The token every API call and the login need (at least 16 characters). */
  authToken?: string;
  /** Your own authentication instead of, or beside, the token. */
  authenticate?: AuthenticateHook;
  logger?: Logger;
}

/** `(req, res, next?)`: mount it in node:http, Express or Fastify (README). `close()` releases what it opened. */
export interface ConsoleHandler {
  (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): void;
  readonly basePath: string;
  close(): Promise<void>;
}

const OPENAPI = new URL('../openapi.json', import.meta.url);

interface CompiledRoute extends Route {
  pattern: RegExp;
  names: string[];
}

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const pattern = new RegExp(
    `^${route.path.replace(/:([a-zA-Z]+)/g, (_, name: string) => {
      names.push(name);
      return '([^/]+)';
    })}$`,
  );
  return { ...route, pattern, names };
}

function checkOptions(options: ConsoleHandlerOptions): string {
  const api = 'createConsoleHandler';
  if ((options.scheduler === undefined) === (options.redis === undefined)) {
    throw new InvalidArgumentError(api, 'pass exactly one of scheduler (a node) and redis (the cluster’s Redis)');
  }
  if (options.authToken === undefined && options.authenticate === undefined) {
    throw new InvalidArgumentError(api, 'an authToken or an authenticate hook is required: the console changes the cluster');
  }
  if (options.authToken !== undefined && (typeof options.authToken !== 'string' || options.authToken.length < 16)) {
    throw new InvalidArgumentError(api, 'authToken must be a string of at least 16 characters');
  }
  if (options.authenticate !== undefined && typeof options.authenticate !== 'function') {
    throw new InvalidArgumentError(api, 'authenticate must be a function (req) => { name } | null');
  }
  const base = (options.basePath ?? '').replace(/\/+$/, '');
  if (base !== '' && !/^\/[A-Za-z0-9._~/-]*$/.test(base)) {
    throw new InvalidArgumentError(api, `basePath must be a path like /console, got ${JSON.stringify(options.basePath)}`);
  }
  return base;
}

/**
 * The console: the HTTP admin API under `<basePath>/api/` (JSON; described by
 * `openapi.json`, also served at `api/openapi.json`) and the web UI at
 * `<basePath>/`. Pause, resume, cron edits and rollbacks are written to the
 * shared configuration with who made them, so they hold cluster-wide.
 */
export function createConsoleHandler(options: ConsoleHandlerOptions): ConsoleHandler {
  const basePath = checkOptions(options);
  const source: ConsoleSource = options.scheduler
    ? schedulerSource(options.scheduler)
    : redisSource(options.redis as RedisClient | RedisConnection, {
        ...(options.keyPrefix === undefined ? {} : { keyPrefix: options.keyPrefix }),
        ...(options.executeSecret === undefined ? {} : { executeSecret: options.executeSecret }),
        ...(options.logger === undefined ? {} : { logger: options.logger }),
      });
  const logger = options.logger ?? source.logger;
  const auth = new ConsoleAuth({
    ...(options.authToken === undefined ? {} : { authToken: options.authToken }),
    ...(options.authenticate === undefined ? {} : { authenticate: options.authenticate }),
    cookiePath: basePath === '' ? '/' : basePath,
  });
  const compiled = routes.map(compile);
  const uiDir = defaultUiDir();
  let openapi: string | undefined;

  async function handle(req: ConsoleRequest, res: ServerResponse, path: string): Promise<void> {
    const method = req.method ?? 'GET';
    const secure = (req.socket as { encrypted?: boolean }).encrypted === true || req.headers['x-forwarded-proto'] === 'https';
    if (!path.startsWith('/api/')) {
      if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed here`);
      // The page's code holds no data and no secret; everything it shows comes from the API, behind the token.
      return serveStatic(uiDir, path, res, method === 'HEAD');
    }
    if (path === '/api/login') {
      if (method !== 'POST') throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'POST /api/login');
      checkOrigin(req);
      const body = await readJsonBody(req);
      const session = auth.login(req, body.token, secure);
      logger.info('console: signed in', { address: req.socket.remoteAddress });
      return sendJson(res, 200, { csrfToken: session.csrfToken }, { 'set-cookie': session.cookie });
    }
    const who = await auth.authenticate(req);
    if (path === '/api/logout') {
      if (method !== 'POST') throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'POST /api/logout');
      auth.checkCsrf(req, who);
      return sendJson(res, 200, { ok: true }, { 'set-cookie': auth.logout(req, secure) });
    }
    if (path === '/api/session') {
      return sendJson(res, 200, { user: who.user.name, csrfToken: who.csrfToken, source: source.kind });
    }
    if (path === '/api/openapi.json') {
      openapi ??= readFileSync(OPENAPI, 'utf8');
      res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-cache' });
      res.end(openapi);
      return;
    }
    const matching = compiled
      .map((r) => ({ r, m: r.pattern.exec(path) }))
      .filter((x): x is { r: CompiledRoute; m: RegExpExecArray } => x.m !== null);
    if (matching.length === 0) throw new HttpError(404, 'NOT_FOUND', `no API route ${path}`);
    const hit = matching.find((x) => x.r.method === method || (method === 'HEAD' && x.r.method === 'GET'));
    if (!hit) {
      res.setHeader('allow', [...new Set(matching.map((x) => x.r.method))].join(', '));
      throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}`);
    }
    let body: Record<string, unknown> = {};
    if (hit.r.method === 'POST') {
      checkOrigin(req);
      auth.checkCsrf(req, who);
      body = await readJsonBody(req);
    }
    const params: Record<string, string> = {};
    hit.r.names.forEach((name, i) => (params[name] = decodeSegment(hit.m[i + 1] as string)));
    const url = new URL(req.url ?? '/', 'http://console');
    const result = await hit.r.handle({
      source,
      params,
      query: url.searchParams,
      body,
      actor: actorOf(who, req),
      now: Date.now(),
    });
    sendJson(res, 200, result);
  }

  const handler = ((req: ConsoleRequest, res: ServerResponse, next?: (error?: unknown) => void) => {
    const url = req.originalUrl ?? req.url ?? '/';
    const pathname = url.split('?')[0] as string;
    if (basePath !== '' && pathname !== basePath && !pathname.startsWith(`${basePath}/`)) {
      if (next) return next();
      return sendJson(res, 404, { error: { code: 'NOT_FOUND', message: `the console is under ${basePath}/` } });
    }
    const path = pathname.slice(basePath.length);
    if (path === '') {
      // Relative asset and API URLs need the trailing slash.
      res.writeHead(308, { location: `${basePath}/` });
      res.end();
      return;
    }
    handle(req, res, path).catch((error: unknown) => {
      const e = toHttpError(error);
      if (e.status >= 500) logger.error('console: request failed', { path, error: error as Error });
      else logger.warn('console: request refused', { path, status: e.status, code: e.code, message: e.message });
      if (res.headersSent) return void res.end();
      sendJson(res, e.status, { error: { code: e.code, message: e.message } });
    });
  }) as ConsoleHandler;
  Object.defineProperty(handler, 'basePath', { value: basePath });
  handler.close = () => source.close();
  return handler;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, 'BAD_REQUEST', `bad percent-encoding in the path: ${segment}`);
  }
}

/** A change from another site's page is refused even before the CSRF token (when the browser names its origin). */
function checkOrigin(req: IncomingMessage): void {
  const origin = req.headers.origin;
  if (origin === undefined || origin === 'null') return;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    throw new HttpError(403, 'BAD_ORIGIN', `unreadable Origin header ${JSON.stringify(origin)}`);
  }
  const forwarded = req.headers['x-forwarded-host'];
  const expected = (typeof forwarded === 'string' ? forwarded : req.headers.host) ?? '';
  if (host !== expected)
    throw new HttpError(403, 'BAD_ORIGIN', `a change from ${origin} is refused (the console is ${expected})`);
}

/** Who a change is recorded as in the config history. */
function actorOf(who: Authenticated, req: IncomingMessage): string {
  const name = who.viaBearer ? `token@${req.socket.remoteAddress ?? 'unknown'}` : who.user.name;
  return `${name} (console)`;
}
