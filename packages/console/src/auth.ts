import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpError } from './http.js';

/** Who is using the console, as the config history records them. */
export interface ConsoleUser {
  name: string;
}

/**
 * Your own authentication (an SSO session, a reverse proxy's header…):
 * resolves the user of a request, or null to refuse it (401).
 */
export type AuthenticateHook = (req: IncomingMessage) => ConsoleUser | null | Promise<ConsoleUser | null>;

const COOKIE = 'sched_console';
const SESSION_TTL_MS = 12 * 3_600_000;
const MAX_SESSIONS = 10_000;
const LOGIN_FAILURES_PER_MINUTE = 10;

/** An authenticated request: who, and whether it came with the browser's cookie (so it needs the CSRF token to change anything). */
export interface Authenticated {
  user: ConsoleUser;
  /** The CSRF token of this user's session (sent by the page on every POST). */
  csrfToken: string;
  viaCookie: boolean;
  /** Set when the request authenticated with the bearer token itself (scripts): no CSRF check. */
  viaBearer: boolean;
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Equal in constant time (both sides hashed first, so lengths do not leak either). */
function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

function cookies(req: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq).trim(), decodeURIComponent(part.slice(eq + 1).trim()));
  }
  return out;
}

function clientAddress(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

/**
 * The console's gate. Scripts send `Authorization: Bearer <token>`. The web
 * page logs in once with the token (POST /api/login) and gets an HttpOnly,
 * SameSite=Strict session cookie holding a random id, never the token; every
 * POST it makes carries the session's CSRF token in `X-CSRF-Token`. With an
 * `authenticate` hook the hook decides who the user is, and POSTs still need
 * the CSRF token (derived from the user, so no session is kept for them).
 */
export class ConsoleAuth {
  private readonly secret = randomBytes(32);
  private readonly sessions = new Map<string, { user: ConsoleUser; csrfToken: string; expiresAt: number }>();
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(
    private readonly options: { authToken?: string; authenticate?: AuthenticateHook; cookiePath: string },
    private readonly now: () => number = Date.now,
  ) {}

  get usesToken(): boolean {
    return this.options.authToken !== undefined;
  }

  /** Who sent this request, or a 401. */
  async authenticate(req: IncomingMessage): Promise<Authenticated> {
    const token = this.options.authToken;
    const header = req.headers.authorization;
    if (token !== undefined && header !== undefined) {
      const m = /^Bearer\s+(.+)$/i.exec(header);
      if (m && safeEqual(m[1] as string, token)) {
        return { user: { name: 'token' }, csrfToken: '', viaCookie: false, viaBearer: true };
      }
      throw new HttpError(401, 'UNAUTHORIZED', 'the bearer token is not the console token');
    }
    if (token !== undefined) {
      const id = cookies(req).get(COOKIE);
      const session = id === undefined ? undefined : this.sessions.get(id);
      if (session && session.expiresAt > this.now()) {
        return { user: session.user, csrfToken: session.csrfToken, viaCookie: true, viaBearer: false };
      }
      if (session && id !== undefined) this.sessions.delete(id);
    }
    if (this.options.authenticate) {
      const user = await this.options.authenticate(req);
      if (user && typeof user.name === 'string' && user.name !== '') {
        return { user, csrfToken: this.csrfFor(`hook:${user.name}`), viaCookie: true, viaBearer: false };
      }
    }
    throw new HttpError(401, 'UNAUTHORIZED', 'sign in: send Authorization: Bearer <token>, or log in on the console page');
  }

  /** POST /api/login with the token: a new session, its cookie and its CSRF token. Repeated failures from one address get 429. */
  login(req: IncomingMessage, offered: unknown, secure: boolean): { cookie: string; csrfToken: string } {
    const token = this.options.authToken;
    if (token === undefined)
      throw new HttpError(404, 'NO_TOKEN_LOGIN', 'this console signs in through its authenticate hook, not a token');
    const address = clientAddress(req);
    const now = this.now();
    const f = this.failures.get(address);
    if (f && now - f.since < 60_000 && f.count >= LOGIN_FAILURES_PER_MINUTE) {
      throw new HttpError(429, 'TOO_MANY_ATTEMPTS', 'too many failed logins from this address; wait a minute');
    }
    if (typeof offered !== 'string' || !safeEqual(offered, token)) {
      const recent = f && now - f.since < 60_000 ? f : { count: 0, since: now };
      recent.count++;
      this.failures.set(address, recent);
      throw new HttpError(401, 'UNAUTHORIZED', 'wrong token');
    }
    this.failures.delete(address);
    this.prune(now);
    const id = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(24).toString('base64url');
    this.sessions.set(id, { user: { name: `token@${address}` }, csrfToken, expiresAt: now + SESSION_TTL_MS });
    return { cookie: this.cookie(id, SESSION_TTL_MS / 1000, secure), csrfToken };
  }

  logout(req: IncomingMessage, secure: boolean): string {
    const id = cookies(req).get(COOKIE);
    if (id !== undefined) this.sessions.delete(id);
    return this.cookie('', 0, secure);
  }

  /** A change from the page: the CSRF header must match the session's (scripts with the bearer token need none). */
  checkCsrf(req: IncomingMessage, auth: Authenticated): void {
    if (auth.viaBearer) return;
    const sent = req.headers['x-csrf-token'];
    if (typeof sent !== 'string' || auth.csrfToken === '' || !safeEqual(sent, auth.csrfToken)) {
      throw new HttpError(403, 'CSRF', 'missing or wrong X-CSRF-Token header (reload the console page)');
    }
  }

  private csrfFor(key: string): string {
    return createHmac('sha256', this.secret).update(key).digest('base64url');
  }

  private cookie(value: string, maxAgeSeconds: number, secure: boolean): string {
    return (
      `${COOKIE}=${value}; Path=${this.options.cookiePath}; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(maxAgeSeconds)}` +
      (secure ? '; Secure' : '')
    );
  }

  private prune(now: number): void {
    for (const [id, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(id);
    // Bounded: the oldest sessions go first when a flood of logins would grow it without end.
    while (this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
  }
}
